"""Leakage sentinel: a target that one feature alone predicts almost perfectly.

Real forward returns are barely predictable; a target that a single feature
explains almost exactly usually means the feature was computed with the label's
future data. The check is vectorised over all features: the features are
argsorted once per fit, and for each target the ranks restricted to its labelled
rows come from one cumulative sum over that order (no per-feature loop).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from intelligent_training.metrics import auc_to_correlation

__all__ = ["FeatureOrder", "single_feature_strength"]


class FeatureOrder:
    """Column-wise sort order of a feature matrix, computed once and reused per target.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    """

    def __init__(self, X: np.ndarray) -> None:
        self.order = np.argsort(X, axis=0, kind="stable")
        self.finite_sorted = np.isfinite(np.take_along_axis(X, self.order, axis=0))

    def ranks(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ordinal ranks (1-based) of every feature among the rows where ``rows`` is True.

        Returns
        -------
        ranks : ndarray of shape (n_samples, n_features)
            0 outside the selected rows or where the feature is NaN.
        mask : ndarray of bool, same shape
            Where the rank is defined.
        """
        keep_sorted = rows[self.order] & self.finite_sorted
        cums = np.cumsum(keep_sorted, axis=0, dtype=np.float64) * keep_sorted
        ranks = np.empty_like(cums)
        np.put_along_axis(ranks, self.order, cums, axis=0)
        mask = np.empty_like(keep_sorted)
        np.put_along_axis(mask, self.order, keep_sorted, axis=0)
        return ranks, mask


def single_feature_strength(order: FeatureOrder, y: np.ndarray, task: str) -> np.ndarray:
    """How well each feature alone predicts ``y``, on the correlation-equivalent scale.

    Regression and multiclass: ``|Spearman|`` between feature and label; binary:
    ``|sqrt(2) sin(pi (AUC - 1/2) / 2)|`` of the feature as a score (the same
    scale as :func:`intelligent_training.metrics.skill_score`). Feature ties are
    broken by row order (ordinal ranks); label ties get average ranks.

    Parameters
    ----------
    order : FeatureOrder
        Precomputed sort order of the features.
    y : ndarray of shape (n_samples,)
        The target (NaN = unlabelled row, ignored).
    task : {"regression", "binary", "multiclass"}

    Returns
    -------
    ndarray of shape (n_features,)
        NaN for a feature with fewer than two usable rows.
    """
    valid = np.isfinite(y)
    rx, mask = order.ranks(valid)
    count = mask.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if task == "binary":
            positive = (y == np.nanmax(y))[:, None] & mask
            n1 = positive.sum(axis=0).astype(np.float64)
            n0 = count - n1
            rank_sum = np.where(positive, rx, 0.0).sum(axis=0)
            auc = (rank_sum - n1 * (n1 + 1.0) / 2.0) / (n1 * n0)
            return np.abs(np.asarray(auc_to_correlation(auc)))
        ry = np.zeros(len(y))
        ry[valid] = pd.Series(y[valid]).rank(method="average").to_numpy()
        ryb = np.where(mask, ry[:, None], 0.0)
        mean_x = rx.sum(axis=0) / count
        mean_y = ryb.sum(axis=0) / count
        dx = np.where(mask, rx - mean_x, 0.0)
        dy = np.where(mask, ryb - mean_y, 0.0)
        corr = (dx * dy).sum(axis=0) / np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0))
    return np.where(count >= 2, np.abs(corr), np.nan)
