"""Leakage sentinel: a target that one feature alone predicts almost perfectly.

Real forward returns are barely predictable; a target that a single feature
explains almost exactly usually means the feature was computed with the label's
future data. The check is vectorised over all features at once (one column-wise
argsort, then masked sums; no per-feature loop) on the target's labelled rows,
evenly subsampled to at most ``max_rows`` rows (a near-perfect relation shows on
any large sample).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from intelligent_training.metrics import auc_to_correlation

__all__ = ["single_feature_strength"]

DEFAULT_MAX_ROWS = 20_000
_CACHE_ENTRIES = 4  # row sets kept by a shared rank cache (each max_rows x n_features)


def _ordinal_ranks(X: np.ndarray) -> np.ndarray:
    """1-based ranks of every column (NaN last, ties broken by row order), float32.

    Ranks up to ``2**24`` are exact in float32; ``max_rows`` keeps them far below.
    """
    order = np.argsort(X, axis=0, kind="stable")
    ranks = np.empty(X.shape, dtype=np.float32)
    cols = np.arange(X.shape[1])[None, :]
    ranks[order, cols] = np.arange(1, X.shape[0] + 1, dtype=np.float32)[:, None]
    return ranks


def single_feature_strength(
    X: np.ndarray,
    y: np.ndarray,
    task: str,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    cache: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> np.ndarray:
    """How well each feature alone predicts ``y``, on the correlation-equivalent scale.

    Regression and multiclass: ``|Spearman|`` between feature and label; binary:
    ``|sqrt(2) sin(pi (AUC - 1/2) / 2)|`` of the feature used as a score (the
    scale of :func:`intelligent_training.metrics.skill_score`). Feature ties are
    broken by row order; label ties get average ranks; NaN feature values are
    left out of that feature's statistic.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        The target (NaN = unlabelled row, ignored). Binary targets coded 0/1.
    task : {"regression", "binary", "multiclass"}
    max_rows : int, default=20000
        Labelled rows used at most (evenly spaced when there are more).
    cache : dict or None, default=None
        Feature ranks (float32) by row set, shared across calls on the same ``X``:
        targets labelled on the same rows (the usual case) rank the features once.
        Pass the same dict only with the same ``X``; it keeps the last few row sets.

    Returns
    -------
    ndarray of shape (n_features,)
        NaN for a feature with fewer than two usable rows.
    """
    rows = np.flatnonzero(np.isfinite(y))
    if len(rows) > max_rows:
        rows = rows[np.linspace(0, len(rows) - 1, max_rows).astype(np.int64)]
    ys = np.asarray(y[rows], dtype=np.float64)
    key = rows.tobytes()
    if cache is not None and key in cache:
        rx, mask, count = cache[key]
    else:
        Xs = X[rows]  # the caller's dtype (float32 features): no float64 copy
        mask = np.isfinite(Xs)
        rx = _ordinal_ranks(Xs) * mask  # NaNs sort last, so finite values rank 1..m
        count = mask.sum(axis=0).astype(np.float64)
        if cache is not None:
            if len(cache) >= _CACHE_ENTRIES:  # bounded: drop the oldest row set
                cache.pop(next(iter(cache)))
            cache[key] = (rx, mask, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        if task == "binary":
            positive = (ys == ys.max())[:, None] & mask
            n1 = positive.sum(axis=0).astype(np.float64)
            n0 = count - n1
            rank_sum = np.where(positive, rx, 0.0).sum(axis=0, dtype=np.float64)
            auc = (rank_sum - n1 * (n1 + 1.0) / 2.0) / (n1 * n0)
            strength = np.abs(np.asarray(auc_to_correlation(auc)))
        else:
            ry = pd.Series(ys).rank(method="average").to_numpy()
            ryb = np.where(mask, ry[:, None], 0.0)
            dx = np.where(mask, rx - rx.sum(axis=0, dtype=np.float64) / count, 0.0)
            dy = np.where(mask, ryb - ryb.sum(axis=0) / count, 0.0)
            cov = (dx * dy).sum(axis=0)
            strength = np.abs(cov / np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0)))
    return np.where(count >= 2, strength, np.nan)
