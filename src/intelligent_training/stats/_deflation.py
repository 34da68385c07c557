"""Honest best-of-N: the best of many trials, deflated for how many were tried.

A search that evaluates ``N`` configurations and keeps the best reports the maximum of
``N`` noisy skills, which is positive even when no configuration has any skill. Two
statistics say how much of the best trial's skill survives the search:

* :func:`deflated_skill`, after the deflated Sharpe ratio (Bailey and López de Prado,
  2014): under the null that every trial is skill-less noise whose mean skill scatters
  across trials with the observed dispersion ``sigma``, the expected maximum of ``N``
  such means is ``sigma ((1 - g) z(1 - 1/N) + g z(1 - 1/(N e)))`` (``g`` the
  Euler-Mascheroni constant, ``z`` the normal quantile). The best trial's mean skill
  minus that expectation is the *deflated skill*; divided by the best trial's own
  standard error (the skill test's: the equal-weighted cosine long-run variance with a
  Student-t reference whose degrees of freedom shrink with the label horizon, as in
  :func:`~intelligent_training.stats.hac_mean_test`: overlapping labels make the
  per-timestamp skill dependent, which the i.i.d. skewness/kurtosis correction of the
  original does not cover) it is a t-statistic with a one-sided p-value.
* :func:`backtest_overfitting`, the probability of backtest overfitting by
  combinatorially symmetric cross-validation (CSCV; Bailey, Borwein, López de Prado
  and Zhu, 2017): the timestamps are cut into ``S`` blocks; for every half of the
  blocks the trial that is best in-sample is ranked out-of-sample (the other half);
  PBO is the share of splits where it ranks in the lower half (logit ``<= 0``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

__all__ = [
    "BacktestOverfitting",
    "DeflatedSkill",
    "backtest_overfitting",
    "deflated_skill",
    "expected_max_null",
]

_EULER_GAMMA = 0.5772156649015329


def expected_max_null(n_trials: int, sigma: float) -> float:
    """Expected maximum of ``n_trials`` independent ``N(0, sigma^2)`` draws (approximation).

    Examples
    --------
    >>> expected_max_null(1, 0.1), round(expected_max_null(100, 1.0), 3)
    (0.0, 2.531)
    """
    if n_trials <= 1 or not np.isfinite(sigma) or sigma <= 0:
        return 0.0
    n = float(n_trials)
    return float(
        sigma
        * (
            (1.0 - _EULER_GAMMA) * norm.ppf(1.0 - 1.0 / n)
            + _EULER_GAMMA * norm.ppf(1.0 - 1.0 / (n * math.e))
        )
    )


@dataclass(frozen=True)
class DeflatedSkill:
    """The best trial's skill, raw and deflated for the number of trials.

    Attributes
    ----------
    raw : float
        Mean per-timestamp skill of the best trial.
    expected_max : float
        Expected maximum of ``n_trials`` skill-less trials' mean skills.
    deflated : float
        ``raw - expected_max`` (``<= 0``: what the search would find in noise).
    t_stat : float
        ``deflated`` over the best trial's HAC standard error.
    p_value : float
        One-sided p-value of ``t_stat`` (H1: skill above what ``n_trials`` noise
        trials give); compare with your level, e.g. 0.05.
    n_trials : int
        Trials run (complete and pruned).
    sigma : float
        Dispersion of the trials' mean skills used for ``expected_max``.
    raw_p_value : float
        One-sided p-value of ``raw`` alone, as if the best trial had been the only one
        (what a search that does not deflate reports).
    """

    raw: float
    expected_max: float
    deflated: float
    t_stat: float
    p_value: float
    n_trials: int
    sigma: float
    raw_p_value: float = float("nan")


def deflated_skill(
    best_series: Any,
    trial_means: Any,
    n_trials: int,
    *,
    horizon_bars: int = 0,
) -> DeflatedSkill:
    """Deflate the best trial's mean skill for the number of trials (module notes).

    Parameters
    ----------
    best_series : array-like of shape (n_timestamps,)
        The best trial's per-timestamp out-of-fold skill (NaN = undefined).
    trial_means : array-like
        Mean skill of the trials (their dispersion is the null's; a pruned trial's over
        the folds it ran). With fewer than two, the best trial's own standard error is
        used.
    n_trials : int
        Trials run, complete and pruned: the ``N`` of the expected maximum.
    horizon_bars : int, default=0
        Label horizon in bars (it bounds the reference's degrees of freedom).

    Returns
    -------
    DeflatedSkill

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> trials = rng.standard_normal((50, 500)) * 0.2   # 50 skill-less trials
    >>> means = trials.mean(axis=1)
    >>> d = deflated_skill(trials[means.argmax()], means, 50)
    >>> bool(d.raw > 0), bool(d.p_value > 0.05)
    (True, True)
    """
    from intelligent_training.stats._hac import hac_mean_test

    series = np.asarray(best_series, dtype=np.float64)
    means = np.asarray(trial_means, dtype=np.float64)
    means = means[np.isfinite(means)]
    test = hac_mean_test(series, horizon_bars)
    raw = float(test.mean)
    se = abs(raw / test.t_stat) if np.isfinite(test.t_stat) and test.t_stat != 0 else np.nan
    sigma = float(np.std(means, ddof=1)) if len(means) >= 2 else float(se)
    expected = expected_max_null(int(n_trials), sigma)
    deflated = raw - expected
    if np.isfinite(se) and se > 0:
        t = deflated / se
        p = float(student_t.sf(t, test.df))
    else:
        t, p = float("nan"), float("nan")
    return DeflatedSkill(
        raw, expected, deflated, float(t), p, int(n_trials), sigma, float(test.p_value)
    )


@dataclass(frozen=True)
class BacktestOverfitting:
    """The probability of backtest overfitting (CSCV) of a set of trials.

    Attributes
    ----------
    pbo : float
        Share of the block splits where the in-sample best trial ranks in the lower
        half out of sample (NaN with fewer than two trials or too few timestamps).
    logits : ndarray
        ``log(w / (1 - w))`` of the in-sample best trial's relative out-of-sample rank
        ``w`` in every split.
    n_blocks : int
        Blocks ``S`` the timestamps were cut into.
    n_splits : int
        ``C(S, S/2)`` splits evaluated.
    """

    pbo: float
    logits: np.ndarray
    n_blocks: int
    n_splits: int


def backtest_overfitting(skill: Any, n_blocks: int = 16) -> BacktestOverfitting:
    """PBO by combinatorially symmetric cross-validation over per-timestamp skill.

    Parameters
    ----------
    skill : array-like of shape (n_timestamps, n_trials)
        Per-timestamp skill of every trial, rows in time order (NaN = undefined).
    n_blocks : int, default=16
        Even number of contiguous blocks ``S`` (fewer when there are few timestamps:
        at least 4 per block).

    Returns
    -------
    BacktestOverfitting

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.standard_normal((800, 20))          # 20 skill-less trials
    >>> 0.3 < backtest_overfitting(noise).pbo < 0.7
    True
    >>> signal = noise.copy(); signal[:, 0] += 1.0       # one trial truly better
    >>> backtest_overfitting(signal).pbo
    0.0
    """
    matrix = np.asarray(skill, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        return BacktestOverfitting(float("nan"), np.empty(0), 0, 0)
    n_time, n_trials = matrix.shape
    blocks = min(int(n_blocks), (n_time // 4) // 2 * 2)
    if blocks < 2:
        return BacktestOverfitting(float("nan"), np.empty(0), blocks, 0)
    edges = np.linspace(0, n_time, blocks + 1).astype(int)
    finite = np.isfinite(matrix)
    values = np.where(finite, matrix, 0.0)
    sums = np.add.reduceat(values, edges[:-1], axis=0)  # (S, N)
    counts = np.add.reduceat(finite.astype(np.float64), edges[:-1], axis=0)
    splits = np.array(list(itertools.combinations(range(blocks), blocks // 2)))
    chosen = np.zeros((len(splits), blocks))
    chosen[np.arange(len(splits))[:, None], splits] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        in_mean = (chosen @ sums) / (chosen @ counts)
        out_mean = ((1.0 - chosen) @ sums) / ((1.0 - chosen) @ counts)
    in_mean = np.where(np.isfinite(in_mean), in_mean, -np.inf)
    out_mean = np.where(np.isfinite(out_mean), out_mean, -np.inf)
    best = np.argmax(in_mean, axis=1)
    best_out = out_mean[np.arange(len(splits)), best][:, None]
    below = (out_mean < best_out).sum(axis=1)
    ties = (out_mean == best_out).sum(axis=1)  # includes the best trial itself
    rank = below + (ties + 1) / 2.0  # average rank, 1 = worst
    omega = rank / (n_trials + 1.0)
    logits = np.log(omega / (1.0 - omega))
    # a tie at the median (logit 0, e.g. trials that do not differ) counts one half
    pbo = float(np.mean(logits < 0) + 0.5 * np.mean(np.abs(logits) < 1e-12))
    return BacktestOverfitting(pbo, logits, blocks, len(splits))
