"""HAC t-statistics of a mean: plain Newey-West, and the calibrated one-sided skill test.

A per-timestamp skill series (rank IC, centred AUC) is autocorrelated whenever labels
overlap: an ``h``-bar forward return shares ``h - 1`` bars with its neighbours, so the
plain standard error of the mean is too small and the plain t-statistic too large. A HAC
(heteroskedasticity and autocorrelation consistent) estimator of the long-run variance
allows for the dependence.

:func:`newey_west_tstat` is the textbook Newey-West statistic (Bartlett weights
``1 - k / (lag + 1)``, never negative). It is what ``metrics.regression_metrics`` reports
as ``ic_tstat``. Used as a *test* with a lag of about the horizon and a normal reference
it rejects far too often: the Bartlett weights shrink exactly the autocovariances the
overlap creates, and the estimate's own noise is ignored (``docs/ranking.md``: 1.5 % at a
nominal 0.1 % for 12-bar labels over 200 timestamps).

:func:`hac_mean_test` is the test the ranker uses: the **equal-weighted cosine (EWC)**
estimator with a Student-t reference (Lazarus, Lewis, Stock and Watson 2018, "HAR
Inference: Recommendations for Practice"). The series' deviations from its mean are
projected on the ``nu`` lowest cosines ``sqrt(2 / n) cos(pi j (t + 1/2) / n)``,
``j = 1 .. nu``; each projection ``L_j`` estimates the long-run variance from one low
frequency, and their mean ``sum_j L_j^2 / nu`` is the estimate. For a Gaussian series
whose spectrum is flat over those frequencies the ``L_j`` and the mean are independent
normals, so ``t`` has *exactly* a Student t distribution with ``nu`` degrees of freedom:
the reference carries the variance estimate's own noise, which is what matters in small
effective samples (a 12-bar label over 200 timestamps is ~17 independent observations).
The estimate is never negative.

The number of terms comes from the known label horizon (:func:`ewc_dof`):
``nu = min(0.4 n^(2/3), n / (3 h))``. The first factor is LLSW's rule for dependence of
unknown form; the second keeps the highest cosine frequency ``pi nu / n`` at or below a
sixth of the first zero ``2 pi / h`` of the overlap's spectrum (an ``h``-bar overlap makes
the skill series an MA(h - 1)), where its spectrum is on average within 3 % of its value
at 0: the variance is estimated from frequencies at which the overlap looks like
long-run variance. With 48-bar labels over 200 timestamps ``nu = 1`` (a Cauchy
reference): about four independent observations cannot prove much, and the test says so.

In the simulations of ``benchmarks/sim_hac_size.py`` (horizons 1 to 48 bars, 200 to 5 000
timestamps, rank-IC series of persistent forecasts, centred AUC and MA(h - 1) series; the
table is in ``docs/ranking.md``) its rejection rates at 1 % and 0.1 % are within
[0.5, 2] times nominal in every cell run with 20 000 series; the previous flat-top
estimator (full weight to ``h - 1`` lags, Bartlett taper to ``2h``, t with
``n / (lag + 1)`` degrees of freedom) and fixed-b Bartlett critical values are not, where
``n / h`` is small.

Missing time points (NaN) are left out of the mean and their deviations are 0 in the
cosine projections (an amplitude-modulated series), so positions stay positions in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from intelligent_training.exceptions import DataError

__all__ = ["EWC_SPAN", "MeanTest", "ewc_dof", "hac_mean_test", "newey_west_lag", "newey_west_tstat"]

_EPS = 1e-15


def newey_west_lag(n: int, horizon_bars: int = 0) -> int:
    """Lag of the Newey-West estimator: at least the horizon, at least the rule of thumb.

    ``max(horizon_bars, floor(4 (n / 100) ** (2 / 9)))``: the rule of thumb of Newey and
    West (1994) for the Bartlett kernel, raised to the label horizon so that the
    ``horizon_bars - 1`` autocovariances overlapping labels create are always included.

    Parameters
    ----------
    n : int
        Length of the series.
    horizon_bars : int, default=0
        Label horizon in bars.

    Returns
    -------
    int

    Examples
    --------
    >>> newey_west_lag(500), newey_west_lag(500, horizon_bars=12)
    (5, 12)
    """
    rule_of_thumb = int(math.floor(4.0 * (max(n, 1) / 100.0) ** (2.0 / 9.0)))
    return max(int(horizon_bars), rule_of_thumb)


def _as_series(series: Any, name: str) -> tuple[np.ndarray, bool]:
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 1:
        return x[:, None], True
    if x.ndim != 2:
        raise DataError(f"{name} must be 1-D (one series) or 2-D (one series per column).")
    return x, False


def _weighted_lrv(x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean, ``gamma_0 + 2 sum_k w_k gamma_k`` and count of each column (NaN = missing)."""
    valid = np.isfinite(x)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, x, 0.0).sum(axis=0) / n
    d = np.where(valid, x - mean, 0.0)
    lrv = np.einsum("ij,ij->j", d, d)
    for k, weight in enumerate(weights[: max(len(x) - 1, 0)], start=1):
        lrv = lrv + 2.0 * weight * np.einsum("ij,ij->j", d[k:], d[:-k])
    with np.errstate(invalid="ignore", divide="ignore"):
        lrv = lrv / n
    return mean, lrv, n


def _bartlett(lag: int) -> np.ndarray:
    return 1.0 - np.arange(1, lag + 1) / (lag + 1.0)


def newey_west_tstat(series: Any, lag: int) -> Any:
    """t-statistic of the mean of ``series`` with a Newey-West (Bartlett) variance.

    Parameters
    ----------
    series : array-like of shape (n,) or (n, n_series)
        The statistic over time (one column per series). NaN marks a missing time point.
    lag : int
        Number of autocovariance lags, at least the label horizon in bars when labels
        overlap (see :func:`newey_west_lag`).

    Returns
    -------
    float or ndarray of shape (n_series,)
        ``mean / sqrt(LRV / n)`` with ``n`` the number of valid points; NaN for fewer than
        2 valid points or a zero variance.

    See Also
    --------
    hac_mean_test : the calibrated test for overlapping labels.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.3, 0.1, 0.2, 0.4, 0.0, 0.2])
    >>> round(newey_west_tstat(x, 0), 4)  # lag 0: mean / (population sd / sqrt(n))
    3.7947
    >>> round(newey_west_tstat(x, 2), 4)  # negatively autocorrelated: a larger t
    8.4853
    """
    x, one = _as_series(series, "series")
    mean, lrv, n = _weighted_lrv(x, _bartlett(int(max(lag, 0))))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where((n >= 2) & (lrv > _EPS), mean / np.sqrt(lrv / n), np.nan)
    return float(t[0]) if one else t


EWC_SPAN = 3
"""Timestamps per cosine term per label bar: ``nu <= n / (EWC_SPAN * horizon_bars)``."""


def ewc_dof(n: int, horizon_bars: int = 0) -> int:
    """Number of cosine terms ``nu`` of the EWC variance (= the t degrees of freedom).

    ``min(floor(0.4 n^(2/3)), floor(n / (3 h)))``, at least 1: the rule of Lazarus, Lewis,
    Stock and Watson (2018) for a series of unknown dependence, capped by the known overlap
    of ``h``-bar labels so that the highest cosine frequency, ``pi nu / n``, stays below a
    sixth of the first zero of the overlap's spectrum (where the spectrum is still within
    3 % of its value at 0 on average; see the module notes).

    Parameters
    ----------
    n : int
        Length of the series (time points, missing ones included).
    horizon_bars : int, default=0
        Label horizon in bars (0 or 1: no overlap).

    Returns
    -------
    int

    Examples
    --------
    >>> ewc_dof(1875, 1), ewc_dof(1875, 12), ewc_dof(200, 48)
    (60, 52, 1)
    """
    n = max(int(n), 1)
    rule = int(math.floor(0.4 * n ** (2.0 / 3.0)))
    overlap = n // (EWC_SPAN * max(int(horizon_bars), 1))
    return max(1, min(rule, overlap))


def _cosines(n: int, nu: int) -> np.ndarray:
    """The EWC basis, shape (n, nu): ``sqrt(2 / n) cos(pi j (t + 1/2) / n)``, j = 1..nu."""
    t = np.arange(n, dtype=np.float64) + 0.5
    j = np.arange(1, nu + 1, dtype=np.float64)
    return math.sqrt(2.0 / n) * np.cos(np.outer(t, j) * (math.pi / n))


def _skill_variance(
    x: np.ndarray, horizon_bars: int, nu: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Mean, EWC long-run variance per valid point, valid count and ``nu`` of each column.

    ``mean / sqrt(lrv / n_valid)`` is the t-statistic. With missing points (NaN) the
    deviations there are 0 (an amplitude-modulated series): the cosine transforms estimate
    the long-run variance ``omega`` of the modulated series, and the variance of the mean
    is ``omega * n / n_valid ** 2``, so ``lrv = omega * n / n_valid``.
    """
    length = len(x)
    used = ewc_dof(length, horizon_bars) if nu is None else max(1, min(int(nu), length - 1))
    valid = np.isfinite(x)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, x, 0.0).sum(axis=0) / n
        d = np.where(valid, x - mean, 0.0)
    if length < 2:
        return mean, np.full(x.shape[1], np.nan), n, used
    lam = _cosines(length, used).T @ d
    omega = np.einsum("ij,ij->j", lam, lam) / used
    with np.errstate(invalid="ignore", divide="ignore"):
        lrv = omega * length / n
    return mean, lrv, n, used


@dataclass(frozen=True)
class MeanTest:
    """A one-sided HAC test of ``mean > 0`` (arrays when several series were tested).

    Attributes
    ----------
    mean : float or ndarray
        Mean over the valid time points.
    t_stat : float or ndarray
        HAC t-statistic; ``+/-inf`` for a constant non-zero series, NaN when it cannot be
        computed (fewer than 2 points, or a series constant at 0).
    p_value : float or ndarray
        Upper tail of ``t_stat`` under a Student t with ``df`` degrees of freedom; NaN
        when ``t_stat`` is NaN (no test possible, e.g. the skill of a constant forecast).
    n : int or ndarray
        Number of valid time points.
    lag : int
        Dependence span the variance allows for, in time points: ``ceil(length / df)``,
        the half-period of the slowest cosine term left out (about ``3 * horizon_bars``
        when the overlap sets ``df``).
    df : float or ndarray
        Degrees of freedom of the reference t distribution: the number of cosine terms
        ``nu`` (:func:`ewc_dof`).
    """

    mean: Any
    t_stat: Any
    p_value: Any
    n: Any
    lag: int
    df: Any


def hac_mean_test(series: Any, horizon_bars: int = 0, *, nu: int | None = None) -> MeanTest:
    """One-sided test that the mean of a (per-timestamp) series is positive.

    The long-run variance is the equal-weighted cosine (EWC) estimator with ``nu`` terms
    (default :func:`ewc_dof`: the rule of Lazarus, Lewis, Stock and Watson 2018, capped
    by the label overlap), and the t-statistic is referred to a Student t with ``nu``
    degrees of freedom, its exact distribution for a Gaussian series whose spectrum is
    flat over the ``nu`` lowest frequencies. See the module notes for why and how well
    it is calibrated.

    Parameters
    ----------
    series : array-like of shape (n,) or (n, n_series)
        The statistic over time (NaN = missing time point).
    horizon_bars : int, default=0
        Label horizon in bars.
    nu : int, optional
        Number of cosine terms, instead of the rule.

    Returns
    -------
    MeanTest

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> test = hac_mean_test(0.1 + rng.standard_normal(2000), horizon_bars=3)
    >>> test.df, test.lag, test.n, round(test.t_stat, 2), round(test.p_value, 4)
    (63.0, 32, 2000, 3.08, 0.0015)
    """
    x, one = _as_series(series, "series")
    mean, lrv, n, used = _skill_variance(x, horizon_bars, nu)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where((n >= 2) & (lrv > _EPS), mean / np.sqrt(lrv / n), np.nan)
        # No scatter at all: a constant non-zero skill is infinitely significant (or not).
        t = np.where((n >= 2) & (lrv <= _EPS) & (np.abs(mean) > _EPS), np.sign(mean) * np.inf, t)
    df = np.full(x.shape[1], float(used))
    p = student_t.sf(t, df)  # NaN stays NaN
    span = int(math.ceil(len(x) / used)) if len(x) else 0
    if one:
        return MeanTest(float(mean[0]), float(t[0]), float(p[0]), int(n[0]), span, float(df[0]))
    return MeanTest(mean, t, p, n.astype(np.int64), span, df)
