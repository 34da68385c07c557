"""False-discovery-rate control across candidates: Benjamini-Yekutieli q-values.

Candidate targets of one panel share rows, features and often label construction (a
5-minute and a 15-minute return overlap), so their test statistics are dependent in ways
nobody can write down. Benjamini-Hochberg controls the FDR under independence or positive
dependence (PRDS); Benjamini and Yekutieli (2001, Ann. Statist. 29:1165) showed that
dividing the level by ``c(m) = 1 + 1/2 + ... + 1/m`` controls it under *any* dependence.
That is the default here: with 50 candidates ``c(m) = 4.5``, the price of not having to
trust an independence assumption.

The q-value of a candidate is the smallest FDR level at which it would be selected:
``q_(i) = min_{j >= i} min(1, m c(m) p_(j) / j)`` over the p-values sorted ascending;
"significant at level ``fdr``" is ``q <= fdr``. NaN p-values (no test possible) count
among the ``m`` tests (conservative) and get a NaN q-value (never significant).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intelligent_training.exceptions import ConfigError, DataError

__all__ = ["fdr_qvalues", "significance_thresholds", "significant"]

_METHODS = ("by", "bh")


def _harmonic(m: int, method: str) -> float:
    if method not in _METHODS:
        raise ConfigError(f"Unknown FDR method {method!r}; use 'by' (any dependence) or 'bh'.")
    return float(np.sum(1.0 / np.arange(1, m + 1))) if method == "by" else 1.0


def _check_level(fdr: float) -> float:
    if not (isinstance(fdr, int | float) and 0.0 < float(fdr) < 1.0):
        raise ConfigError(f"fdr={fdr!r} must be a number in (0, 1), e.g. 0.1.")
    return float(fdr)


def fdr_qvalues(pvalues: Any, *, method: str = "by") -> np.ndarray:
    """Benjamini-Yekutieli (default) or Benjamini-Hochberg q-values.

    Parameters
    ----------
    pvalues : array-like of shape (m,)
        One p-value per candidate, NaN where no test was possible.
    method : {"by", "bh"}, default="by"
        ``"by"`` is valid under arbitrary dependence; ``"bh"`` needs independence or
        positive dependence.

    Returns
    -------
    ndarray of shape (m,)
        q-values in the order of ``pvalues``; NaN where the p-value is NaN.

    Examples
    --------
    >>> fdr_qvalues([0.001, 0.02, 0.5, float("nan")]).round(4)
    array([0.0083, 0.0833, 1.    ,    nan])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise DataError(f"fdr_qvalues: pass a 1-D array of p-values, got shape {p.shape}.")
    finite = p[np.isfinite(p)]
    if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
        raise DataError("fdr_qvalues: p-values must lie in [0, 1].")
    m = len(p)
    q = np.full(m, np.nan)
    if not finite.size:
        return q
    scale = m * _harmonic(m, method)
    valid = np.flatnonzero(np.isfinite(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    ranks = np.arange(1, len(order) + 1)
    adjusted = np.minimum(scale * p[order] / ranks, 1.0)
    q[order] = np.minimum.accumulate(adjusted[::-1])[::-1]
    return q


def significant(pvalues: Any, fdr: float = 0.1, *, method: str = "by") -> np.ndarray:
    """Which candidates are discoveries at false-discovery rate ``fdr`` (``q <= fdr``).

    Parameters
    ----------
    pvalues : array-like of shape (m,)
    fdr : float, default=0.1
        Target false-discovery rate, in (0, 1).
    method : {"by", "bh"}, default="by"

    Returns
    -------
    ndarray of bool, shape (m,)
    """
    level = _check_level(fdr)
    with np.errstate(invalid="ignore"):  # (1 + 1e-12): q at the level, up to rounding
        return np.asarray(fdr_qvalues(pvalues, method=method) <= level * (1.0 + 1e-12))


def significance_thresholds(
    n_tests: int, fdr: float = 0.1, *, method: str = "by"
) -> tuple[float, float]:
    """p-value thresholds that decide significance whatever the other p-values are.

    Among ``m`` candidates the step-up procedure rejects the ``k`` smallest p-values for
    the largest ``k`` with ``p_(k) <= k fdr / (m c(m))``. So a p-value at most
    ``fdr / (m c(m))`` is always significant (it is its own witness at any rank), and a
    p-value above ``fdr / c(m)`` never is (no rank's threshold reaches it). Early stopping
    uses both: a candidate whose p-value bound is above the second cannot become
    significant; one whose bound is below the first surely is.

    Parameters
    ----------
    n_tests : int
        Number of candidates ``m``.
    fdr : float, default=0.1
    method : {"by", "bh"}, default="by"

    Returns
    -------
    always, possible : float
        ``p <= always``: significant; ``p > possible``: not significant.

    Examples
    --------
    >>> always, possible = significance_thresholds(50, 0.1)
    >>> round(always, 6), round(possible, 5)
    (0.000445, 0.02223)
    """
    level = _check_level(fdr)
    if isinstance(n_tests, bool) or not isinstance(n_tests, int | np.integer) or n_tests < 1:
        raise ConfigError(f"n_tests={n_tests!r} must be a positive int.")
    c = _harmonic(int(n_tests), method)
    return level / (int(n_tests) * c), level / c
