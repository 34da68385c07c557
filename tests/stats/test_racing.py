"""Racing: the bounds cover what they claim, and early stopping never changes the outcome."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t

from intelligent_training.exceptions import ConfigError, DataError
from intelligent_training.stats import (
    fold_mean_bounds,
    hac_mean_test,
    pvalue_bounds,
    racing_stops,
    significance_thresholds,
    significant,
    skill_fold_std,
    tstat_bounds,
)


def test_fold_mean_bounds_formula() -> None:
    scores = np.array([[0.30, 0.34, np.nan], [0.01, -0.02, 0.04], [0.02, np.nan, np.nan]])
    lower, upper = fold_mean_bounds(scores, n_folds=5, confidence=0.95)
    k = np.array([2, 3, 1])
    mean = np.array([0.32, 0.01, 0.02])
    own = np.array([np.std([0.30, 0.34], ddof=1), np.std([0.01, -0.02, 0.04], ddof=1), 0.0])
    dev2 = np.array([2 * 0.02**2, 0.03**2 + 0.0**2 + 0.03**2, 0.0])
    pooled = np.sqrt(dev2.sum() / 3)
    sigma = np.maximum(own, pooled)
    width = student_t.ppf(0.95, 3) * sigma * np.sqrt((5 - k) / (5 * k))
    np.testing.assert_allclose(lower, mean - width)
    np.testing.assert_allclose(upper, mean + width)


def test_fold_mean_bounds_edge_cases() -> None:
    complete = np.array([[0.1, 0.3], [0.2, 0.2]])
    lower, upper = fold_mean_bounds(complete, n_folds=2, dispersion_penalty=0.5)
    np.testing.assert_allclose(upper, [0.2, 0.2])
    np.testing.assert_allclose(lower, [0.2 - 0.5 * 0.1, 0.2])  # the final score itself
    lower, upper = fold_mean_bounds([[0.1], [np.nan]], n_folds=4)
    assert np.isneginf(lower).all() and np.isposinf(upper).all()  # one fold, no floor
    lower, upper = fold_mean_bounds([[0.1], [0.3]], n_folds=4, min_std=[0.05, 0.0])
    assert np.isfinite(lower[0]) and np.isinf(upper[1])  # a per-candidate floor
    with pytest.raises(DataError, match="2-D"):
        fold_mean_bounds([0.1, 0.2], n_folds=3)
    with pytest.raises(DataError, match="n_folds=1"):
        fold_mean_bounds([[0.1, 0.2]], n_folds=1)
    with pytest.raises(ConfigError, match="confidence"):
        fold_mean_bounds([[0.1, 0.2]], n_folds=3, confidence=1.0)


@pytest.mark.parametrize("seen", [2, 3, 4])
def test_fold_mean_bounds_cover_the_final_score(seen: int) -> None:
    rng = np.random.default_rng(seen)
    K = 5
    scores = rng.normal(rng.uniform(-0.1, 0.3, size=(4000, 1)), 0.05, size=(4000, K))
    lower, upper = fold_mean_bounds(scores[:, :seen], K, confidence=0.99, dispersion_penalty=0.5)
    final_mean = scores.mean(axis=1)
    final_score = final_mean - 0.5 * scores.std(axis=1)
    assert (final_mean > upper).mean() <= 0.015
    assert (final_score < lower).mean() <= 0.015
    assert (final_score <= final_mean).all()


def test_tstat_and_pvalue_bounds_cover_the_final_test() -> None:
    rng = np.random.default_rng(0)
    h, n_total, seen = 6, 1000, 400
    e = rng.standard_normal((n_total + h - 1, 600))
    series = np.cumsum(e, axis=0)
    series = (series[h - 1 :] - np.vstack([np.zeros((1, 600)), series[:-h]])) / np.sqrt(h)
    series = 0.4 * series + rng.uniform(-0.05, 0.1, size=600)
    final = hac_mean_test(series, h)
    lower, upper = tstat_bounds(series[:seen], n_total, horizon_bars=h, confidence=0.99)
    assert (final.t_stat > upper).mean() <= 0.02
    assert (final.t_stat < lower).mean() <= 0.02
    p_lower, p_upper = pvalue_bounds(series[:seen], n_total, horizon_bars=h, confidence=0.99)
    assert (final.p_value < p_lower).mean() <= 0.02
    assert (final.p_value > p_upper).mean() <= 0.02
    # Complete series: the bounds are the test itself.
    lo, up = tstat_bounds(series[:, 0], n_total, horizon_bars=h)
    assert lo == pytest.approx(final.t_stat[0]) and up == pytest.approx(final.t_stat[0])


def test_skill_fold_std_is_the_long_run_scale_of_a_fold_mean() -> None:
    rng = np.random.default_rng(1)
    scale = np.repeat([0.1, 0.5, 1.0], 100)
    x = rng.standard_normal((2000, 300)) * scale
    ratio = skill_fold_std(x, 200) / (scale / np.sqrt(200))
    # an estimate with nu = 63 degrees of freedom: unbiased, about 9 % relative scatter
    assert abs(ratio.mean() - 1.0) < 0.03 and 0.05 < ratio.std() < 0.13
    assert skill_fold_std([0.3], 200) == 0.0


def test_racing_stops_rule() -> None:
    upper = np.array([0.40, 0.30, 0.05, 0.20, 0.10])
    lower = np.array([0.25, 0.15, -0.05, 0.00, -np.inf])
    assert racing_stops(upper, lower, top_n=2).tolist() == [False, False, True, False, True]
    assert racing_stops(upper, lower, top_n=3).tolist() == [False] * 5
    only = racing_stops(upper, lower, top_n=2, hopeless=[True, True, False, True, True])
    assert only.tolist() == [False, False, False, False, True]
    one_contender = racing_stops(
        upper, lower, top_n=1, contenders=[False, True, False, False, False]
    )
    assert one_contender.tolist() == [False, False, True, False, True]
    with pytest.raises(ConfigError, match="top_n=0"):
        racing_stops(upper, lower, top_n=0)
    with pytest.raises(DataError, match="contenders"):
        racing_stops(upper, lower, top_n=1, contenders=[True])


# -- the whole race, simulated --------------------------------------------------------------
K, PER_FOLD, TOP_N, FDR = 5, 200, 5, 0.1
HORIZONS = (1, 3, 6, 12)


def _candidates(seed: int, planted: tuple[float, ...], n_noise: int = 45):
    """Per-timestamp skill of 5 planted (graded) + 45 noise targets, overlapping labels."""
    rng = np.random.default_rng(seed)
    levels = [*planted, *[0.0] * n_noise]
    horizons = np.array([HORIZONS[i % len(HORIZONS)] for i in range(len(levels))])
    n = K * PER_FOLD
    series = np.empty((n, len(levels)))
    for i, (level, h) in enumerate(zip(levels, horizons)):
        e = rng.standard_normal(n + h - 1)
        series[:, i] = level + 0.4 * np.convolve(e, np.ones(h), mode="valid") / np.sqrt(h)
    return series, horizons


def _by_horizon(function, series: np.ndarray, horizons: np.ndarray, n_out: int) -> list:
    """Apply a column-vectorised statistic once per horizon group."""
    out = [np.empty(series.shape[1]) for _ in range(n_out)]
    for h in np.unique(horizons):
        cols = horizons == h
        result = function(series[:, cols], horizon_bars=int(h))
        for slot, value in zip(out, result if isinstance(result, tuple) else (result,)):
            slot[cols] = value
    return out


def _outcome(fold_scores: np.ndarray, series: np.ndarray, horizons: np.ndarray, seen: np.ndarray):
    """Selected set (best TOP_N significant by score) and top-5 order."""
    score = np.nanmean(fold_scores, axis=1)
    p = np.empty(len(score))
    for i in range(len(score)):
        p[i] = hac_mean_test(series[: seen[i] * PER_FOLD, i], int(horizons[i])).p_value
    order = np.argsort(-score, kind="stable")
    sig = significant(p, FDR)
    return [int(i) for i in order if sig[i]][:TOP_N], [int(i) for i in order[:5]]


def _race(seed: int, planted: tuple[float, ...], recipe: str):
    series, horizons = _candidates(seed, planted)
    m = series.shape[1]
    folds = series.reshape(K, PER_FOLD, m).mean(axis=1).T  # (candidates, folds)
    full = _outcome(folds, series, horizons, np.full(m, K))
    always, possible = significance_thresholds(m, FDR)
    alive = np.ones(m, dtype=bool)
    seen_scores = np.full((m, K), np.nan)
    n_seen = np.zeros(m, dtype=int)
    for k in range(K):
        seen_scores[alive, k] = folds[alive, k]
        n_seen[alive] += 1
        if k == K - 1:
            break
        so_far = series[: (k + 1) * PER_FOLD]
        (floor,) = _by_horizon(
            lambda x, **kw: skill_fold_std(x, PER_FOLD, **kw), so_far, horizons, 1
        )
        lower, upper = fold_mean_bounds(seen_scores[:, : k + 1], K, min_std=floor)
        p_low, p_up = _by_horizon(
            lambda x, **kw: pvalue_bounds(x, K * PER_FOLD, **kw), so_far, horizons, 2
        )
        if recipe == "fast":
            stop = racing_stops(upper, lower, top_n=TOP_N, contenders=p_up <= always)
        else:
            stop = racing_stops(upper, lower, top_n=TOP_N, hopeless=p_low > possible)
        alive &= ~stop
    raced = _outcome(seen_scores, series, horizons, n_seen)
    return full, raced, m * K / n_seen.sum()


@pytest.mark.parametrize(
    ("planted", "recipe", "min_speedup"),
    [
        ((0.6, 0.5, 0.45, 0.4, 0.35), "fast", 2.0),  # a clear top 5: most noise stops early
        ((0.6, 0.5, 0.45, 0.4, 0.35), "strict", 1.0),
        ((0.3, 0.25, 0.2, 0.15, 0.1), "fast", 1.0),  # a weak 5th: little can be stopped
    ],
)
def test_racing_never_changes_the_selection_or_the_top_five(
    planted: tuple[float, ...], recipe: str, min_speedup: float
) -> None:
    speedups = []
    for seed in range(12):
        full, raced, speedup = _race(seed, planted, recipe)
        assert raced == full, f"seed {seed}: selection/top-5 {raced} != {full}"
        speedups.append(speedup)
    assert np.mean(speedups) >= min_speedup
    assert min(speedups) >= 1.0
