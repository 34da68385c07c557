"""Early stopping of hopeless candidates (racing): bounds after each fold wave, and the rule.

The ranker evaluates fold 1 of every target, then fold 2, and so on. After each wave it
can stop a target that, whatever its remaining folds bring (within a prediction bound),
cannot end up among the ``N`` best.

**Score bounds (fold level)**, :func:`fold_mean_bounds`. After ``k`` of ``K`` folds with
mean ``m``, the final mean over all ``K`` folds is ``(k m + (K - k) r) / K`` with ``r`` the
mean of the folds still to come. If fold scores scatter around a common level with
standard deviation ``sigma``, ``r - m`` has standard deviation
``sigma sqrt(1/k + 1/(K - k))``, so the final mean lies within

    m  +/-  q * sigma * sqrt((K - k) / (K k))

with probability ``confidence`` each side (a prediction interval for the final mean).
``sigma`` is the largest of the candidate's own fold standard deviation, the standard
deviation pooled over all candidates (fold-to-fold scatter is similar across targets on
one split; pooling gives it degrees of freedom after two folds) and ``min_std``; ``q`` is
the Student-t quantile with the pooled degrees of freedom (normal before that). After a
single fold only ``min_std`` can bound anything: :func:`skill_fold_std` gives a
per-candidate floor from the timestamps of the folds seen (the standard deviation a fold
mean has from timestamp noise alone). A score that subtracts dispersion penalties from the
mean fold skill is never above the mean, so the upper bound of the mean bounds it too;
``dispersion_penalty`` lowers the lower bound for a ``mean - lambda * std`` score.

**Significance bounds (timestamp level)**, :func:`tstat_bounds`, :func:`pvalue_bounds`.
The final t-statistic of :func:`hac_mean_test` is ``mean_n sqrt(n) / omega`` with
``omega`` the long-run standard deviation of the per-timestamp skill; the same prediction
argument over timestamps bounds the final mean and so the final t and p-value.
:func:`~intelligent_training.stats.significance_thresholds` turns a p-value bound into
"surely significant" or "cannot become significant".

**The rule**, :func:`racing_stops`: stop candidate ``i`` when at least ``N`` *contenders*
have a lower bound above its upper bound (it cannot reach the top ``N``), and, if given,
it is ``hopeless`` too. Two safe ways to call it:

* *fast*: ``contenders`` = the candidates that are surely significant (upper p-value bound
  at most ``always``). A stopped candidate ends below ``N`` significant targets, so it is
  neither selected (the best ``N`` significant targets) nor in the top ``N`` of the
  rankings. Stops early when the top ``N`` is clear; when fewer than ``N`` targets are
  surely significant it stops nothing.
* *strict*: all candidates contend and ``hopeless`` = lower p-value bound above
  ``possible``. Slower (a target cannot be declared unable to become significant before
  most of its folds are in), but a stopped target also cannot change any other target's
  q-value rank.

Both assume the folds still to come behave like the ones seen (no regime change);
walk-forward skill tends to *grow* with the training window, which makes the upper bounds
of flat (noise) targets and the lower bounds of rising (real) ones conservative. The
simulation in ``tests/stats/test_racing.py`` checks that selected sets and top-5 orders
never change, and reports the savings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

from intelligent_training.exceptions import ConfigError, DataError
from intelligent_training.stats._hac import _as_series, _skill_variance, ewc_dof

__all__ = [
    "fold_mean_bounds",
    "pvalue_bounds",
    "racing_stops",
    "skill_fold_std",
    "tstat_bounds",
]


def _check_confidence(confidence: float) -> float:
    if not (isinstance(confidence, int | float) and 0.5 <= float(confidence) < 1.0):
        raise ConfigError(f"confidence={confidence!r} must be in [0.5, 1), e.g. 0.99.")
    return float(confidence)


def fold_mean_bounds(
    fold_scores: Any,
    n_folds: int,
    *,
    confidence: float = 0.99,
    min_std: Any = 0.0,
    dispersion_penalty: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction bounds on each candidate's final fold score, from the folds so far.

    The final score is ``mean - dispersion_penalty * std`` over all ``K`` folds
    (population standard deviation; with the default penalty 0, the mean).

    Parameters
    ----------
    fold_scores : array-like of shape (n_candidates, n_folds_seen)
        Score of each candidate on each fold evaluated so far; NaN for a fold that gave no
        score (a failed fit) or that was not evaluated (a stopped candidate).
    n_folds : int
        Total number of folds ``K`` the final score will average.
    confidence : float, default=0.99
        One-sided coverage of each bound.
    min_std : float or array-like of shape (n_candidates,), default=0.0
        Floor on the fold-to-fold standard deviation (e.g. :func:`skill_fold_std`). With
        the default, nothing is bounded until some candidate has two folds.
    dispersion_penalty : float, default=0.0
        ``lambda`` of the score. The upper bound stays the mean's (a penalty only lowers
        the score); the lower bound subtracts ``lambda`` times an upper bound of the final
        standard deviation: half the range spanned by the folds seen and the prediction
        interval of a single future fold, ``m +/- q sigma sqrt(1 + 1/k)`` (a standard
        deviation is at most half the range).

    Returns
    -------
    lower, upper : ndarray of shape (n_candidates,)
        The final score when all ``K`` folds are in; ``-inf``/``inf`` when no fold is in
        or the scatter cannot be estimated yet.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.30, 0.34], [0.01, -0.02], [0.02, 0.00]])
    >>> lower, upper = fold_mean_bounds(scores, n_folds=5)
    >>> lower.round(3), upper.round(3)
    (array([ 0.25 , -0.06 , -0.045]), array([0.39 , 0.05 , 0.065]))
    """
    conf = _check_confidence(confidence)
    scores = np.asarray(fold_scores, dtype=np.float64)
    if scores.ndim != 2:
        raise DataError(
            "fold_mean_bounds: fold_scores must be 2-D (candidates x folds seen), got shape "
            f"{scores.shape}."
        )
    total = int(n_folds)
    if total < scores.shape[1]:
        raise DataError(
            f"fold_mean_bounds: n_folds={n_folds} but {scores.shape[1]} folds were given."
        )
    floor = np.broadcast_to(np.asarray(min_std, dtype=np.float64), (len(scores),))
    penalty = float(dispersion_penalty)
    if not (np.isfinite(penalty) and penalty >= 0) or not (floor >= 0).all():
        raise ConfigError("fold_mean_bounds: min_std and dispersion_penalty must be >= 0.")
    valid = np.isfinite(scores)
    k = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, scores, 0.0).sum(axis=1) / k
        dev2 = np.where(valid, (scores - mean[:, None]) ** 2, 0.0).sum(axis=1)
        own = np.sqrt(dev2 / (k - 1))
    df = int(np.maximum(k - 1, 0).sum())
    pooled = float(np.sqrt(dev2[k >= 2].sum() / df)) if df > 0 else 0.0
    sigma = np.fmax(np.fmax(np.where(k >= 2, own, 0.0), pooled), floor)
    q = float(student_t.ppf(conf, df)) if df > 0 else float(norm.ppf(conf))
    with np.errstate(invalid="ignore", divide="ignore"):
        width = q * sigma * np.sqrt(np.maximum(total - k, 0) / (total * k))
    width = np.where(sigma > 0, width, np.inf)
    width = np.where(k >= total, 0.0, width)  # complete: the final mean is known
    lower = np.where(k > 0, mean - width, -np.inf)
    upper = np.where(k > 0, mean + width, np.inf)
    if penalty > 0:
        with np.errstate(invalid="ignore"):
            spread = np.where(sigma > 0, q * sigma * np.sqrt(1.0 + 1.0 / np.maximum(k, 1)), np.inf)
            high = np.fmax(np.max(np.where(valid, scores, -np.inf), axis=1), mean + spread)
            low = np.fmin(np.min(np.where(valid, scores, np.inf), axis=1), mean - spread)
            std_upper = np.where(k >= total, np.sqrt(dev2 / np.maximum(k, 1)), (high - low) / 2)
        lower = np.where(k > 0, lower - penalty * std_upper, -np.inf)
    return lower, upper


def skill_fold_std(skill: Any, n_per_fold: float, *, horizon_bars: int = 0) -> Any:
    """Standard deviation of a fold's mean skill from timestamp noise alone.

    ``sqrt(LRV / n_per_fold)`` with the long-run variance of :func:`hac_mean_test`,
    estimated on the skill seen so far: a floor (``min_std``) for the fold-to-fold scatter
    that is available after the first fold.

    Parameters
    ----------
    skill : array-like of shape (n_seen,) or (n_seen, n_series)
        Per-timestamp skill over the folds seen (NaN = undefined).
    n_per_fold : float
        Timestamps per test fold.
    horizon_bars : int, default=0

    Returns
    -------
    float or ndarray of shape (n_series,)
        0.0 where it cannot be estimated (fewer than two values).
    """
    x, one = _as_series(skill, "skill")
    _, lrv, n, _ = _skill_variance(x, horizon_bars, None)
    with np.errstate(invalid="ignore"):
        std = np.where(n >= 2, np.sqrt(np.maximum(lrv, 0.0) / float(n_per_fold)), 0.0)
    return float(std[0]) if one else std


def tstat_bounds(
    skill: Any, n_total: int, *, horizon_bars: int = 0, confidence: float = 0.99
) -> tuple[Any, Any]:
    """Prediction bounds on the final t-statistic of :func:`hac_mean_test`.

    Parameters
    ----------
    skill : array-like of shape (n_seen,) or (n_seen, n_series)
        The per-timestamp skill over the timestamps evaluated so far (NaN = undefined).
    n_total : int
        Number of timestamps the complete series will have (counted like ``n_seen``).
    horizon_bars : int, default=0
        Label horizon in bars, as for the final test.
    confidence : float, default=0.99
        One-sided coverage of each bound.

    Returns
    -------
    lower, upper : float or ndarray of shape (n_series,)
        ``-inf``/``inf`` while fewer than two values or no scatter are available; the
        current t-statistic when the series is complete.

    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training.stats import hac_mean_test
    >>> rng = np.random.default_rng(0)
    >>> noise = 0.3 * rng.standard_normal(600)        # 3 of 5 folds of 200 timestamps
    >>> lower, upper = tstat_bounds(noise, 1000)
    >>> round(hac_mean_test(noise).t_stat, 2), round(lower, 2), round(upper, 2)
    (-0.54, -2.6, 1.2)
    """
    conf = _check_confidence(confidence)
    x, one = _as_series(skill, "skill")
    n_seen = len(x)
    if int(n_total) < n_seen:
        raise DataError(f"tstat_bounds: n_total={n_total} < {n_seen} timestamps seen.")
    mean, lrv, n_k, _ = _skill_variance(x, horizon_bars, None)
    z = float(norm.ppf(conf))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = n_k / n_seen if n_seen else np.zeros_like(mean)
        n_r = share * (int(n_total) - n_seen)  # valid timestamps still to come
        n_all = n_k + n_r
        omega = np.sqrt(lrv)
        width = z * omega * np.sqrt(1.0 / n_k + np.where(n_r > 0, 1.0 / n_r, 0.0))
        width = np.where(n_r > 0, width * n_r / n_all, 0.0)  # on the final mean
        scale = np.sqrt(n_all) / omega
        lower, upper = (mean - width) * scale, (mean + width) * scale
    ok = (n_k >= 2) & (lrv > 1e-15)
    lower, upper = np.where(ok, lower, -np.inf), np.where(ok, upper, np.inf)
    return (float(lower[0]), float(upper[0])) if one else (lower, upper)


def pvalue_bounds(
    skill: Any, n_total: int, *, horizon_bars: int = 0, confidence: float = 0.99
) -> tuple[Any, Any]:
    """Prediction bounds on the final p-value of :func:`hac_mean_test`.

    The upper tails of :func:`tstat_bounds` under the final test's t distribution. Bounds
    of several families combine into bounds of the target's p-value with
    :func:`combine_pvalues` (every rule there is increasing in each p-value).

    Parameters
    ----------
    skill, n_total, horizon_bars, confidence
        As in :func:`tstat_bounds`.

    Returns
    -------
    lower, upper : float or ndarray of shape (n_series,)
        0 and 1 while nothing can be bounded yet.
    """
    t_lower, t_upper = tstat_bounds(
        skill, n_total, horizon_bars=horizon_bars, confidence=confidence
    )
    _, one = _as_series(skill, "skill")
    df = float(ewc_dof(int(n_total), horizon_bars))  # the final test's degrees of freedom
    p_lower, p_upper = student_t.sf(t_upper, df), student_t.sf(t_lower, df)
    if one:
        return float(p_lower), float(p_upper)
    return p_lower, p_upper


def racing_stops(
    upper: Any,
    lower: Any,
    *,
    top_n: int,
    contenders: Any = None,
    hopeless: Any = None,
) -> np.ndarray:
    """Which candidates to stop: at least ``top_n`` contenders are surely better.

    Parameters
    ----------
    upper, lower : array-like of shape (n_candidates,)
        Bounds on each candidate's final score (:func:`fold_mean_bounds`).
    top_n : int
        Size of the top set.
    contenders : array-like of bool, shape (n_candidates,), optional
        Candidates that may count as better than another (default: all). Pass the surely
        significant ones to keep the selection of the best ``top_n`` significant targets
        (see the module notes).
    hopeless : array-like of bool, shape (n_candidates,), optional
        If given, only these candidates may stop (e.g. those that cannot become
        significant).

    Returns
    -------
    ndarray of bool, shape (n_candidates,)
        True where the candidate can be stopped.

    Examples
    --------
    >>> import numpy as np
    >>> upper = np.array([0.40, 0.30, 0.05, 0.20])
    >>> lower = np.array([0.25, 0.15, -0.05, 0.00])
    >>> racing_stops(upper, lower, top_n=2).tolist()
    [False, False, True, False]
    >>> racing_stops(upper, lower, top_n=2, contenders=[True, False, False, False]).tolist()
    [False, False, False, False]
    """
    up = np.asarray(upper, dtype=np.float64)
    lo = np.asarray(lower, dtype=np.float64)
    if up.shape != lo.shape or up.ndim != 1:
        raise DataError("racing_stops: upper and lower must be 1-D arrays of the same length.")
    if isinstance(top_n, bool) or not isinstance(top_n, int | np.integer) or top_n < 1:
        raise ConfigError(f"racing_stops: top_n={top_n!r} must be a positive int.")
    masks = []
    for name, value in (("contenders", contenders), ("hopeless", hopeless)):
        mask = None if value is None else np.asarray(value, dtype=bool)
        if mask is not None and mask.shape != up.shape:
            raise DataError(f"racing_stops: {name} must have one entry per candidate.")
        masks.append(mask)
    contend, may_stop = masks
    better = np.where(
        np.isfinite(lo) if contend is None else contend & np.isfinite(lo), lo, -np.inf
    )
    above = np.sort(better)
    # Contenders whose lower bound beats candidate i's upper bound (never i itself: lo <= up).
    n_above = len(above) - np.searchsorted(above, up, side="right")
    stop = n_above >= int(top_n)
    return stop if may_stop is None else stop & may_stop
