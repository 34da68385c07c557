"""Per-timestamp skill of out-of-fold predictions: the series a significance test averages.

Three statistics, all rank-based and centred at 0 for a forecast without skill:

* ``"rank_ic"`` (regression): the Spearman correlation between forecast and outcome across
  the symbols of each timestamp (:func:`intelligent_training.metrics.rank_ic_by_timestamp`,
  the one implementation).
* ``"auc"`` (binary, multiclass): the ROC-AUC across the symbols of each timestamp minus
  1/2 (one-vs-rest macro average for multiclass). Timestamps where one class is missing
  have no AUC and are NaN.
* ``"pooled"`` (any task): each row's contribution to the rank correlation over *all*
  rows, ``a_i b_i / sqrt(mean(a^2) mean(b^2))`` with ``a``, ``b`` the centred pooled ranks
  of forecast and outcome, averaged per timestamp. On a balanced panel the mean of the
  series is the pooled Spearman correlation (for a binary outcome, a linear function of
  the pooled AUC). It is defined with one row per timestamp (a single time series) and
  includes the time-series component of skill, which the cross-sectional statistics
  ignore.

``method="auto"`` uses the cross-sectional statistic when timestamps have at least
:data:`MIN_ROWS_CROSS_SECTION` rows (median over timestamps), else ``"pooled"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError
from intelligent_training.stats._hac import MeanTest, hac_mean_test

__all__ = [
    "MIN_ROWS_CROSS_SECTION",
    "SkillTest",
    "auc_by_timestamp",
    "pooled_skill_by_timestamp",
    "rank_ic_by_timestamp",
    "skill_by_timestamp",
    "skill_method",
    "skill_test",
]

_EPS = 1e-15

MIN_ROWS_CROSS_SECTION = 3
"""Median rows per timestamp from which ``method="auto"`` measures skill cross-sectionally."""

_TASKS = ("regression", "binary", "multiclass")
_METHODS = ("auto", "rank_ic", "auc", "pooled")


def _codes(timestamps: Any, n: int) -> tuple[np.ndarray, pd.Index]:
    ts = np.asarray(timestamps)
    if ts.ndim != 1 or len(ts) != n:
        raise DataError(
            f"timestamps must be 1-D with one entry per row ({n}); got shape {ts.shape}."
        )
    codes, uniques = pd.factorize(ts, sort=True)
    index = uniques if isinstance(uniques, pd.Index) else pd.Index(uniques)
    return codes, index.rename("timestamp")


def _as_float(values: Any, name: str, *, allow_2d: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 and not (allow_2d and arr.ndim == 2):
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    return arr


def grouped_rank(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share their mean rank) of ``values`` within each code.

    One ``lexsort`` and cumulative sums, no Python loop and no pandas groupby (about four
    times faster than ``groupby(...).rank()`` on the grids here). ``values`` must be
    finite.

    Examples
    --------
    >>> grouped_rank(np.array([0, 0, 0, 1, 1]), np.array([3.0, 1.0, 3.0, 5.0, 4.0])).tolist()
    [2.5, 1.0, 2.5, 2.0, 1.0]
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    # Each temporary is dropped once used: on a stage's pooled predictions (millions of
    # rows) the row-sized arrays, not the time, are what this costs.
    order = np.lexsort((values, codes))
    g = codes[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(g[1:], g[:-1], out=new_group[1:])
    del g
    v = values[order]
    new_tie = new_group.copy()
    new_tie[1:] |= v[1:] != v[:-1]
    del v
    group_start = np.flatnonzero(new_group)[np.cumsum(new_group) - 1]
    del new_group
    starts = np.flatnonzero(new_tie)
    tie = np.cumsum(new_tie) - 1
    del new_tie
    ends = np.append(starts[1:], n) - 1
    mid = (starts + ends) / 2.0  # the mean position of every run of ties
    del starts, ends
    ranks = mid[tie]
    del tie, mid
    ranks -= group_start
    del group_start
    ranks += 1.0
    out = np.empty(n, dtype=np.float64)
    out[order] = ranks
    return out


def rank_ic_by_timestamp(y_true: Any, y_pred: Any, timestamps: Any) -> pd.Series:
    """Spearman rank correlation between forecast and outcome within each timestamp.

    Rows whose ``y_true`` or ``y_pred`` is NaN are ignored. Ranks are computed
    within each timestamp (average ranks for ties) by one grouped rank, and the
    Pearson correlation of the ranks is reduced per timestamp with
    ``np.bincount``: there is no Python loop over timestamps.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Outcomes and forecasts.
    timestamps : array-like of shape (n_samples,)
        The timestamp of every row (any hashable dtype).

    Returns
    -------
    pandas.Series
        Indexed by the sorted unique timestamps, the rank IC of each timestamp;
        NaN where fewer than two valid rows or a constant forecast/outcome.

    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training.metrics import rank_ic_by_timestamp
    >>> ts = np.array([0, 0, 0, 1, 1, 1])
    >>> rank_ic_by_timestamp([1, 2, 3, 3, 2, 1], [10, 20, 30, 1, 2, 3], ts).tolist()
    [1.0, -1.0]
    """
    yt = _as_float(y_true, "y_true")
    yp = _as_float(y_pred, "y_pred")
    ts = np.asarray(timestamps)
    if not (len(yt) == len(yp) == len(ts)):
        raise DataError(
            f"rank_ic_by_timestamp: y_true ({len(yt)}), y_pred ({len(yp)}) and timestamps "
            f"({len(ts)}) must have the same length."
        )
    codes, uniques = pd.factorize(ts, sort=True)
    n_groups = len(uniques)
    valid = np.isfinite(yt) & np.isfinite(yp) & (codes >= 0)
    codes_v = codes[valid]
    rt = grouped_rank(codes_v, yt[valid])
    rp = grouped_rank(codes_v, yp[valid])

    count = np.bincount(codes_v, minlength=n_groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_t = np.bincount(codes_v, weights=rt, minlength=n_groups) / count
        mean_p = np.bincount(codes_v, weights=rp, minlength=n_groups) / count
        dt = rt - mean_t[codes_v]
        dp = rp - mean_p[codes_v]
        cov = np.bincount(codes_v, weights=dt * dp, minlength=n_groups)
        var_t = np.bincount(codes_v, weights=dt * dt, minlength=n_groups)
        var_p = np.bincount(codes_v, weights=dp * dp, minlength=n_groups)
        denom = np.sqrt(var_t * var_p)
        ic = np.where((count >= 2) & (denom > _EPS), cov / denom, np.nan)
    index = uniques if isinstance(uniques, pd.Index) else pd.Index(uniques)
    return pd.Series(ic, index=index.rename("timestamp"), name="rank_ic")


def _binary_auc(codes: np.ndarray, positive: np.ndarray, score: np.ndarray, n_groups: int):
    """AUC of ``score`` for ``positive`` within each code; NaN where a class is missing."""
    ranks = grouped_rank(codes, score)
    n_pos = np.bincount(codes, weights=positive, minlength=n_groups)
    n_all = np.bincount(codes, minlength=n_groups).astype(np.float64)
    n_neg = n_all - n_pos
    rank_sum = np.bincount(codes, weights=ranks * positive, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _class_columns(y_true: np.ndarray, y_score: np.ndarray, classes: Sequence[Any] | None):
    """Class codes of ``y_true`` and the score matrix, one column per class."""
    labels = np.unique(y_true[pd.notna(y_true)])
    cls = labels if classes is None else np.asarray(list(classes))
    if y_score.ndim == 1:
        if len(cls) > 2:
            raise DataError(
                "A multiclass y_pred must be a 2-D probability matrix (one column per class)."
            )
        y_score = np.column_stack([-y_score, y_score])
        if len(cls) < 2:  # one class seen: a phantom larger class keeps the columns apart
            cls = np.append(cls.astype(np.float64), np.inf)
    if y_score.shape[1] != len(cls):
        raise DataError(
            f"y_pred has {y_score.shape[1]} columns but there are {len(cls)} classes; pass "
            "`classes` in the column order of y_pred."
        )
    order = np.argsort(cls)
    pos = np.searchsorted(cls[order], y_true)
    codes = order[np.clip(pos, 0, len(cls) - 1)]
    known = pd.notna(y_true)
    if not np.array_equal(cls[codes][known], y_true[known]):
        raise DataError("y_true contains labels that are not in `classes`.")
    return np.where(known, codes, -1), y_score


def auc_by_timestamp(
    y_true: Any, y_score: Any, timestamps: Any, classes: Sequence[Any] | None = None
) -> pd.Series:
    """ROC-AUC across the rows of each timestamp (one grouped rank, ``bincount`` sums).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class labels; NaN rows are ignored.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        For two classes, the score of the larger class (1-D) or the probability matrix;
        otherwise the probability matrix with columns in the order of ``classes``.
    timestamps : array-like of shape (n_samples,)
    classes : sequence, optional
        Class labels in column order (default: the sorted labels of ``y_true``).

    Returns
    -------
    pandas.Series
        Indexed by the sorted timestamps. Binary: the AUC; multiclass: the one-vs-rest
        macro AUC over the classes that have both sides at that timestamp. NaN where no
        class has both sides (every row of the same class).

    Examples
    --------
    >>> auc_by_timestamp([0, 1, 1, 0, 0, 0], [0.1, 0.9, 0.8, 0.7, 0.2, 0.4],
    ...                  [0, 0, 0, 1, 1, 1]).tolist()
    [1.0, nan]
    """
    yt = np.asarray(y_true, dtype=np.float64)
    score = _as_float(y_score, "y_score", allow_2d=True)
    if yt.ndim != 1 or len(score) != len(yt):
        raise DataError(
            f"auc_by_timestamp: y_true ({yt.shape}) and y_score ({score.shape}) must have "
            "one entry per row."
        )
    codes, index = _codes(timestamps, len(yt))
    class_codes, matrix = _class_columns(yt, score, classes)
    valid = (class_codes >= 0) & np.isfinite(matrix).all(axis=1)
    g, c, m = codes[valid], class_codes[valid], matrix[valid]
    n_groups = len(index)
    columns = [1] if m.shape[1] == 2 else range(m.shape[1])
    aucs = np.column_stack(
        [_binary_auc(g, (c == j).astype(np.float64), m[:, j], n_groups) for j in columns]
    )
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(aucs).sum(axis=1)
        auc = np.where(counts > 0, np.nansum(aucs, axis=1) / np.maximum(counts, 1), np.nan)
    return pd.Series(auc, index=index, name="auc")


def pooled_skill_by_timestamp(
    y_true: Any, y_pred: Any, timestamps: Any, classes: Sequence[Any] | None = None
) -> pd.Series:
    """Per-timestamp share of the pooled rank correlation (see the module notes).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Outcomes (regression) or class labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Forecasts; for multiclass the probability matrix (one-vs-rest, averaged).
    timestamps : array-like of shape (n_samples,)
    classes : sequence, optional
        Class labels in column order of a probability matrix.

    Returns
    -------
    pandas.Series
        Indexed by the sorted timestamps; its mean over a balanced panel is the pooled
        Spearman correlation. NaN at timestamps without valid rows.

    Examples
    --------
    >>> s = pooled_skill_by_timestamp([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 4.0, 3.0], [0, 1, 2, 3])
    >>> round(float(s.mean()), 3)  # Spearman correlation of the four rows
    0.8
    """
    yt = np.asarray(y_true, dtype=np.float64)
    pred = _as_float(y_pred, "y_pred", allow_2d=True)
    if yt.ndim != 1 or len(pred) != len(yt):
        raise DataError(
            f"pooled_skill_by_timestamp: y_true ({yt.shape}) and y_pred ({pred.shape}) must "
            "have one entry per row."
        )
    codes, index = _codes(timestamps, len(yt))
    if pred.ndim == 2:
        class_codes, matrix = _class_columns(yt, pred, classes)
        columns = [1] if matrix.shape[1] == 2 else range(matrix.shape[1])
        pairs = [((class_codes == j).astype(np.float64), matrix[:, j]) for j in columns]
        valid = (class_codes >= 0) & np.isfinite(matrix).all(axis=1)
    else:
        pairs = [(yt, pred)]
        valid = np.isfinite(yt) & np.isfinite(pred)
    contribution = np.zeros(int(valid.sum()))
    for outcome, forecast in pairs:
        one = np.zeros(int(valid.sum()), dtype=np.intp)
        a = grouped_rank(one, forecast[valid])
        b = grouped_rank(one, outcome[valid])
        a -= a.mean()
        b -= b.mean()
        scale = np.sqrt(np.mean(a * a) * np.mean(b * b))
        if scale > 0:
            contribution += a * b / scale
    contribution /= len(pairs)
    n_groups = len(index)
    g = codes[valid]
    count = np.bincount(g, minlength=n_groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        skill = np.bincount(g, weights=contribution, minlength=n_groups) / count
    return pd.Series(skill, index=index, name="pooled")


def _resolve_method(method: str, task: str, timestamps: Any) -> str:
    if task not in _TASKS:
        raise DataError(f"Unknown task {task!r}; expected one of {', '.join(_TASKS)}.")
    if method not in _METHODS:
        raise DataError(f"Unknown skill method {method!r}; expected one of {', '.join(_METHODS)}.")
    cross = "rank_ic" if task == "regression" else "auc"
    if method == "auto":
        _, counts = np.unique(pd.factorize(np.asarray(timestamps))[0], return_counts=True)
        rows = float(np.median(counts)) if len(counts) else 0.0
        return cross if rows >= MIN_ROWS_CROSS_SECTION else "pooled"
    if method != "pooled" and method != cross:
        raise DataError(
            f"Skill method {method!r} does not fit a {task} target; use {cross!r} or 'pooled'."
        )
    return method


def skill_method(task: str, timestamps: Any, method: str = "auto") -> str:
    """The per-timestamp statistic :func:`skill_by_timestamp` uses for ``method``.

    Decide it once for a target (on its labelled rows) and pass it to every call on parts
    of the target (folds), so that they all measure the same thing.

    Parameters
    ----------
    task : {"regression", "binary", "multiclass"}
    timestamps : array-like of shape (n_samples,)
    method : {"auto", "rank_ic", "auc", "pooled"}, default="auto"

    Returns
    -------
    str
        ``"rank_ic"``, ``"auc"`` or ``"pooled"``.

    Examples
    --------
    >>> skill_method("binary", [0, 0, 0, 1, 1, 1]), skill_method("regression", [0, 1, 2])
    ('auc', 'pooled')
    """
    return _resolve_method(method, task, timestamps)


def skill_by_timestamp(
    y_true: Any,
    y_pred: Any,
    timestamps: Any,
    *,
    task: str,
    method: str = "auto",
    classes: Sequence[Any] | None = None,
) -> pd.Series:
    """The per-timestamp skill series of out-of-fold predictions, centred at 0.

    Parameters
    ----------
    y_true, y_pred : array-like
        Outcomes and forecasts (scores or a probability matrix for classification).
    timestamps : array-like of shape (n_samples,)
    task : {"regression", "binary", "multiclass"}
    method : {"auto", "rank_ic", "auc", "pooled"}, default="auto"
        See the module notes; ``"auto"`` picks the cross-sectional statistic of the task
        when timestamps have at least ``MIN_ROWS_CROSS_SECTION`` rows (median).
    classes : sequence, optional
        Class labels in the column order of a probability matrix.

    Returns
    -------
    pandas.Series
        Indexed by the sorted timestamps, named after the method used. ``"auc"`` values are
        ``AUC - 1/2``.
    """
    used = _resolve_method(method, task, timestamps)
    if used == "rank_ic":
        return rank_ic_by_timestamp(y_true, y_pred, timestamps)
    if used == "auc":
        return (auc_by_timestamp(y_true, y_pred, timestamps, classes) - 0.5).rename("auc")
    return pooled_skill_by_timestamp(y_true, y_pred, timestamps, classes)


@dataclass(frozen=True)
class SkillTest(MeanTest):
    """A :class:`MeanTest` of a skill series, with the ``method`` that made the series."""

    method: str = "rank_ic"


def skill_test(
    y_true: Any,
    y_pred: Any,
    timestamps: Any,
    *,
    task: str,
    horizon_bars: int = 0,
    method: str = "auto",
    classes: Sequence[Any] | None = None,
) -> SkillTest:
    """Is there skill? One-sided HAC test of the per-timestamp skill series.

    :func:`skill_by_timestamp`, then :func:`hac_mean_test` (EWC variance, Student t with
    :func:`ewc_dof` degrees of freedom for ``horizon_bars``).

    Parameters
    ----------
    y_true, y_pred, timestamps, task, method, classes
        As in :func:`skill_by_timestamp`.
    horizon_bars : int, default=0
        Label horizon in bars.

    Returns
    -------
    SkillTest
        ``mean`` (mean skill), ``t_stat``, ``p_value`` (one-sided, H1: skill > 0), ``n``
        (timestamps with a defined skill), ``lag`` (dependence span), ``df`` and
        ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ts = np.repeat(np.arange(300), 8)
    >>> y = rng.standard_normal(len(ts))
    >>> test = skill_test(y, 0.3 * y + rng.standard_normal(len(ts)), ts, task="regression")
    >>> test.method, test.n, bool(test.p_value < 1e-6)
    ('rank_ic', 300, True)
    """
    series = skill_by_timestamp(
        y_true, y_pred, timestamps, task=task, method=method, classes=classes
    )
    r = hac_mean_test(series.to_numpy(), horizon_bars)
    return SkillTest(r.mean, r.t_stat, r.p_value, r.n, r.lag, r.df, method=str(series.name))
