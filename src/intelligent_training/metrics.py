"""Out-of-sample metrics shared by the ranker, the selector and the trainer.

Everything here is vectorised: the per-timestamp rank IC ranks within each
timestamp with one grouped rank and reduces with ``np.bincount`` (no Python loop
over timestamps), and the t-statistic of the IC series is Newey-West (HAC) with a
lag of at least the label horizon so that overlapping labels do not inflate it.

The common scale is a *correlation-equivalent skill* (see :func:`skill_score`):
regression the normal-theory correlation implied by the Spearman rank correlation,
``2 sin(pi * rho_s / 6)``; classification the binormal latent correlation implied
by the ROC-AUC, ``sqrt(2) * sin(pi * (AUC - 1/2) / 2)``. Both are rank-based (so
neither depends on the forecast's scale or calibration), 0 for a constant
forecast, +1 for a perfect ranking, negative for an inverted one, never clipped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError
from intelligent_training.stats._hac import newey_west_lag as _default_lag
from intelligent_training.stats._hac import newey_west_tstat
from intelligent_training.stats._skill import rank_ic_by_timestamp

logger = logging.getLogger(__name__)

__all__ = [
    "auc_to_correlation",
    "classification_metrics",
    "newey_west_tstat",
    "rank_ic_by_timestamp",
    "regression_metrics",
    "skill_score",
    "spearman_to_correlation",
]

_EPS = 1e-15


def _as_1d_float(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}; pass one column.")
    return arr


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two finite vectors; 0 when either is constant."""
    if len(a) < 2:
        return float("nan")
    # pandas may hand back read-only arrays (copy-on-write): centre into new arrays
    ra = pd.Series(a).rank(method="average").to_numpy()
    rb = pd.Series(b).rank(method="average").to_numpy()
    ra = ra - ra.mean()
    rb = rb - rb.mean()
    denom = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / denom if denom > _EPS else 0.0


def regression_metrics(
    y_true: Any,
    y_pred: Any,
    timestamps: Any = None,
    horizon_bars: int = 0,
) -> dict[str, float]:
    """Out-of-sample regression metrics.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Outcomes and forecasts; rows with a NaN in either are dropped.
    timestamps : array-like of shape (n_samples,), optional
        Timestamp of every row; needed for the per-timestamp rank IC. Without it
        the IC entries are NaN.
    horizon_bars : int, default=0
        Label horizon in bars. The Newey-West lag of ``ic_tstat`` is
        ``max(horizon_bars, floor(4 (T/100)^(2/9)))``, so overlapping labels do not
        inflate the t-statistic.

    Returns
    -------
    dict
        ``r2`` (out-of-sample, baseline: the mean of ``y_true``), ``spearman``
        (rank correlation of forecast and outcome over all rows; 0 for a constant
        forecast), ``ic_mean``,
        ``ic_std``, ``icir`` (``ic_mean / ic_std``), ``ic_tstat`` (HAC),
        ``dir_acc`` (share of rows with a non-zero outcome whose sign is
        forecast correctly) and ``n`` (rows used).
    """
    yt = _as_1d_float(y_true, "y_true")
    yp = _as_1d_float(y_pred, "y_pred")
    if len(yt) != len(yp):
        raise DataError(
            f"regression_metrics: y_true ({len(yt)}) and y_pred ({len(yp)}) differ in length."
        )
    valid = np.isfinite(yt) & np.isfinite(yp)
    out: dict[str, float] = {"n": float(valid.sum())}
    t, p = yt[valid], yp[valid]
    if len(t) >= 2:
        sst = float(((t - t.mean()) ** 2).sum())
        sse = float(((t - p) ** 2).sum())
        out["r2"] = 1.0 - sse / sst if sst > _EPS else float("nan")
    else:
        out["r2"] = float("nan")
    out["spearman"] = _spearman(t, p)
    nonzero = t != 0
    out["dir_acc"] = (
        float(np.mean(np.sign(p[nonzero]) == np.sign(t[nonzero]))) if nonzero.any() else np.nan
    )

    ic_mean = ic_std = icir = ic_tstat = float("nan")
    if timestamps is not None:
        ts = np.asarray(timestamps)
        if len(ts) != len(yt):
            raise DataError(
                f"regression_metrics: timestamps ({len(ts)}) and y_true ({len(yt)}) differ in length."
            )
        ic = rank_ic_by_timestamp(yt, yp, ts).dropna().to_numpy()
        if len(ic) >= 1:
            ic_mean = float(ic.mean())
        if len(ic) >= 2:
            ic_std = float(ic.std(ddof=1))
            icir = ic_mean / ic_std if ic_std > _EPS else float("nan")
            ic_tstat = newey_west_tstat(ic, _default_lag(len(ic), horizon_bars))
    out.update(ic_mean=ic_mean, ic_std=ic_std, icir=icir, ic_tstat=ic_tstat)
    return out


def classification_metrics(
    y_true: Any,
    y_score: Any,
    classes: Sequence[Any] | None = None,
) -> dict[str, float]:
    """Out-of-sample classification metrics.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class labels (NaN rows dropped).
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        For a binary target, the probability of the larger class (1-D) or the
        ``predict_proba`` matrix; for a multiclass target, the probability matrix
        with columns in the order of ``classes``.
    classes : sequence, optional
        The class labels in column order; default the sorted unique labels of
        ``y_true`` (then every class must appear in ``y_true``).

    Returns
    -------
    dict
        ``auc`` (ROC-AUC; one-vs-rest macro average for multiclass; NaN when
        ``y_true`` has a single class), ``logloss`` (probabilities clipped to
        ``[1e-15, 1 - 1e-15]``), ``logloss_baseline`` (log-loss of predicting the
        class frequencies of ``y_true``), ``accuracy`` and ``n``.
    """
    from sklearn.metrics import roc_auc_score

    yt_raw = np.asarray(y_true)
    if yt_raw.ndim != 1:
        raise DataError(f"y_true must be one-dimensional, got shape {yt_raw.shape}.")
    score = np.asarray(y_score, dtype=np.float64)
    if score.shape[0] != len(yt_raw):
        raise DataError(
            f"classification_metrics: y_true ({len(yt_raw)}) and y_score ({score.shape[0]}) "
            "differ in length."
        )
    valid = pd.notna(yt_raw)
    valid &= np.isfinite(score).all(axis=1) if score.ndim == 2 else np.isfinite(score)
    yt = yt_raw[valid]
    score = score[valid]
    cls = np.unique(yt) if classes is None else np.asarray(list(classes))
    k = len(cls)
    if score.ndim == 2 and score.shape[1] != k:
        raise DataError(
            f"classification_metrics: y_score has {score.shape[1]} columns but there are {k} "
            "classes; pass `classes` in the column order of y_score."
        )
    if k < 2:
        raise DataError("classification_metrics needs at least two classes.")
    # Map labels to column positions.
    pos = np.searchsorted(np.sort(cls), yt)
    order = np.argsort(cls)
    codes = order[np.clip(pos, 0, k - 1)]
    if not np.array_equal(cls[codes], yt):
        raise DataError("classification_metrics: y_true contains labels that are not in `classes`.")

    n = len(yt)
    out: dict[str, float] = {"n": float(n)}
    if k == 2:
        p1 = score[:, 1] if score.ndim == 2 else score
        proba = np.column_stack([1.0 - p1, p1])
    else:
        if score.ndim != 2:
            raise DataError("classification_metrics: a multiclass y_score must be 2-D.")
        proba = score / np.clip(score.sum(axis=1, keepdims=True), _EPS, None)
    if n == 0:
        out.update(auc=np.nan, logloss=np.nan, logloss_baseline=np.nan, accuracy=np.nan)
        return out
    present = np.unique(codes)
    if len(present) < 2:
        out["auc"] = float("nan")
    elif k == 2:
        out["auc"] = float(roc_auc_score(codes, proba[:, 1]))
    else:
        aucs = [
            roc_auc_score(codes == j, proba[:, j])
            for j in present  # one-vs-rest over the classes present
        ]
        out["auc"] = float(np.mean(aucs))
    clipped = np.clip(proba[np.arange(n), codes], _EPS, 1.0 - _EPS)
    out["logloss"] = float(-np.mean(np.log(clipped)))
    freq = np.bincount(codes, minlength=k) / n
    out["logloss_baseline"] = float(-np.mean(np.log(np.clip(freq[codes], _EPS, None))))
    out["accuracy"] = float(np.mean(np.argmax(proba, axis=1) == codes))
    return out


def auc_to_correlation(auc: float | np.ndarray) -> float | np.ndarray:
    """Latent correlation implied by a ROC-AUC under a binormal model.

    If a score ``s`` and a latent ``z`` are bivariate normal with correlation
    ``rho`` and the class is ``z > 0``, then ``2 AUC - 1 = (4/pi) arcsin(rho/sqrt(2))``.
    This returns the inverse, ``sqrt(2) sin(pi (AUC - 1/2) / 2)``: 0 at AUC 1/2,
    +/-1 at AUC 1/0, strictly increasing and never clipped.
    """
    return math.sqrt(2.0) * np.sin(np.pi * (np.asarray(auc, dtype=np.float64) - 0.5) / 2.0)


def spearman_to_correlation(rho_s: float | np.ndarray) -> float | np.ndarray:
    """Pearson correlation implied by a Spearman correlation under normality.

    For bivariate normal variables ``rho_s = (6/pi) arcsin(rho/2)``; this returns
    the inverse ``2 sin(pi rho_s / 6)``: 0 at 0, +/-1 at +/-1, strictly increasing.
    """
    return 2.0 * np.sin(np.pi * np.asarray(rho_s, dtype=np.float64) / 6.0)


def skill_score(task: str, metrics: Mapping[str, float]) -> float:
    """Correlation-equivalent skill over a naive baseline, comparable across tasks.

    - ``regression``: :func:`spearman_to_correlation` of the rank correlation
      between forecast and outcome; a forecast correlated ``rho`` with a normal
      outcome gives ``rho``; a constant forecast gives 0.
    - ``binary`` / ``multiclass``: :func:`auc_to_correlation` of the ROC-AUC; a
      constant score (AUC 1/2) gives 0, and a score correlated ``rho`` with the
      latent variable behind a thresholded label gives ``rho``.

    Both are rank-based, so regression and classification targets are judged
    alike (on discrimination, not on calibration), lie in ``[-1, 1]`` and are
    strictly monotone in the underlying statistic: they never saturate. NaN
    metrics give NaN.

    Parameters
    ----------
    task : {"regression", "binary", "multiclass"}
    metrics : mapping
        The output of :func:`regression_metrics` or :func:`classification_metrics`.

    Returns
    -------
    float
    """
    if task == "regression":
        rho_s = float(metrics.get("spearman", np.nan))
        if not np.isfinite(rho_s):
            return float("nan")
        return float(spearman_to_correlation(rho_s))
    if task in ("binary", "multiclass"):
        auc = float(metrics.get("auc", np.nan))
        if not np.isfinite(auc):
            return float("nan")
        return float(auc_to_correlation(auc))
    raise DataError(
        f"skill_score: unknown task {task!r}; expected 'regression', 'binary' or 'multiclass'."
    )
