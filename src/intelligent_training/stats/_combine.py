"""One p-value per target from the p-values of its model families.

The families of a target are fit on the same rows, with the same features, to the same
label: their p-values are strongly and unknowably dependent (they agree *by
construction*). Fisher's or Stouffer's method assume independence and would turn two
families that saw the same weak evidence into strong evidence. The rules here stay valid
under dependence:

* ``"cauchy"`` (default; Liu and Xie, 2020, JASA 115:393): ``T = sum_i w_i cot(pi p_i)``,
  ``p = 1/2 - arctan(T) / pi``. Each term is standard Cauchy under the null, and a
  weighted mean of standard Cauchy variables is standard Cauchy whether they are
  independent or identical; for other dependence the tail stays close (the test is
  asymptotically exact for small p under arbitrary dependence of normal statistics).
  Families that agree give back their common p-value (``cauchy([p, p]) == p``); one
  family that sees a signal the others miss still counts, unlike a median.
* ``"median"`` (Rüschendorf 1982): ``min(1, K / k * p_(k))`` with ``k = ceil(K / 2)`` the
  median order statistic: exactly valid under *any* dependence, at the price of power
  (with two families it equals Bonferroni).
* ``"bonferroni"``: ``min(1, K * min_i p_i)``, valid under any dependence, conservative.

NaN p-values (a family that failed) are left out; a target without any p-value gets NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intelligent_training.exceptions import ConfigError, DataError

__all__ = ["combine_pvalues"]

_METHODS = ("cauchy", "median", "bonferroni")
_TINY = 1e-300


def combine_pvalues(
    pvalues: Any, *, method: str = "cauchy", weights: Any = None, axis: int = -1
) -> Any:
    """Combine dependent p-values (e.g. one per model family) into one.

    Parameters
    ----------
    pvalues : array-like
        p-values in ``[0, 1]``; NaN entries are ignored. Combined along ``axis``.
    method : {"cauchy", "median", "bonferroni"}, default="cauchy"
        See the module notes.
    weights : array-like, optional
        Non-negative weights along ``axis`` (``"cauchy"`` only); default equal.
    axis : int, default=-1
        Axis of the p-values to combine (e.g. families in columns of a
        ``(n_targets, n_families)`` array).

    Returns
    -------
    float or ndarray
        The combined p-value(s); a float when ``pvalues`` is 1-D.

    Examples
    --------
    >>> round(combine_pvalues([0.01, 0.01]), 12)  # families that agree: their p-value
    0.01
    >>> round(combine_pvalues([0.001, 0.5]), 4)  # one family sees it: still small
    0.002
    >>> combine_pvalues([0.001, 0.5], method="median")
    0.002
    """
    if method not in _METHODS:
        raise ConfigError(
            f"combine_pvalues: unknown method {method!r}; use one of {', '.join(_METHODS)}."
        )
    p = np.moveaxis(np.asarray(pvalues, dtype=np.float64), axis, -1)
    finite = p[np.isfinite(p)]
    if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
        raise DataError("combine_pvalues: p-values must lie in [0, 1].")
    valid = np.isfinite(p)
    count = valid.sum(axis=-1)
    if method == "cauchy":
        w = np.ones(p.shape[-1]) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (p.shape[-1],) or (w < 0).any() or not np.isfinite(w).all():
            raise DataError(
                f"combine_pvalues: weights must be {p.shape[-1]} finite non-negative numbers."
            )
        w = np.where(valid, w, 0.0)
        total = w.sum(axis=-1)
        clipped = np.clip(np.where(valid, p, 0.5), _TINY, 1.0 - 1e-15)
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = (w / np.tan(np.pi * clipped)).sum(axis=-1) / total
            out = np.where(total > 0, np.arctan2(1.0, stat) / np.pi, np.nan)
    else:
        if weights is not None:
            raise ConfigError("combine_pvalues: weights apply to method='cauchy' only.")
        ordered = np.sort(np.where(valid, p, 1.0), axis=-1)
        if method == "median":
            k = np.maximum((count + 1) // 2, 1)
            kth = np.take_along_axis(ordered, (k - 1)[..., None], axis=-1)[..., 0]
            scaled = kth * count / k
        else:
            scaled = ordered[..., 0] * count
        out = np.where(count > 0, np.minimum(scaled, 1.0), np.nan)
    return float(out) if np.ndim(out) == 0 else out
