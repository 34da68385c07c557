"""HAC statistics against slow, loop-based reference implementations."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.stats import t as student_t

from intelligent_training import metrics
from intelligent_training.exceptions import DataError
from intelligent_training.stats import (
    _combine,
    _fdr,
    _hac,
    _racing,
    _shadow,
    _skill,
    hac_mean_test,
    newey_west_lag,
    newey_west_tstat,
)


@pytest.mark.parametrize("module", [_hac, _skill, _combine, _fdr, _racing, _shadow])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def _slow_lrv(x: np.ndarray, weights) -> tuple[float, float, int]:
    """Mean, weighted long-run variance and count with NaN = missing (zero deviation)."""
    ok = np.isfinite(x)
    n = int(ok.sum())
    mean = sum(v for v in x[ok]) / n
    d = [v - mean if np.isfinite(v) else 0.0 for v in x]
    total = sum(v * v for v in d) / n
    for k, w in enumerate(weights, start=1):
        total += 2 * w * sum(d[i] * d[i - k] for i in range(k, len(x))) / n
    return mean, total, n


def test_newey_west_matches_the_loop_with_and_without_missing_values() -> None:
    rng = np.random.default_rng(0)
    x = 0.1 + rng.standard_normal(200)
    for lag in (0, 1, 5):
        weights = [1 - k / (lag + 1) for k in range(1, lag + 1)]
        mean, lrv, n = _slow_lrv(x, weights)
        assert newey_west_tstat(x, lag) == pytest.approx(mean / np.sqrt(lrv / n), rel=1e-12)
    x[[3, 4, 50, 199]] = np.nan
    mean, lrv, n = _slow_lrv(x, [1 - k / 6 for k in range(1, 6)])
    assert newey_west_tstat(x, 5) == pytest.approx(mean / np.sqrt(lrv / n), rel=1e-12)


def test_metrics_uses_the_same_newey_west() -> None:
    # One copy: metrics re-exports the stats implementation.
    assert metrics.newey_west_tstat is newey_west_tstat


def test_two_dimensional_input_is_column_by_column() -> None:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 4)) + np.array([0.0, 0.1, 0.2, -0.1])
    X[::7, 2] = np.nan
    t2 = newey_west_tstat(X, 4)
    test2 = hac_mean_test(X, horizon_bars=3)
    for j in range(4):
        assert t2[j] == pytest.approx(newey_west_tstat(X[:, j], 4))
        one = hac_mean_test(X[:, j], horizon_bars=3)
        assert test2.t_stat[j] == pytest.approx(one.t_stat)
        assert test2.p_value[j] == pytest.approx(one.p_value)
        assert test2.n[j] == one.n


def test_hac_mean_test_matches_its_definition() -> None:
    rng = np.random.default_rng(2)
    e = rng.standard_normal(406)
    x = np.convolve(e, np.ones(7), mode="valid") / 7 + 0.05  # 6 overlapping neighbours
    x[[10, 11, 300]] = np.nan
    h = 7
    lag = newey_west_lag(len(x), 2 * h)
    weights = [
        1.0 if k <= h - 1 else (lag + 1 - k) / (lag + 1 - (h - 1)) for k in range(1, lag + 1)
    ]
    mean, lrv, n = _slow_lrv(x, weights)
    lrv /= 1 - (1 + 2 * sum(weights)) / n
    t = mean / np.sqrt(lrv / n)
    result = hac_mean_test(x, horizon_bars=h)
    assert result.lag == lag == 14 and result.n == n == 397
    assert result.t_stat == pytest.approx(t, rel=1e-10)
    assert result.df == pytest.approx(n / (lag + 1))
    assert result.p_value == pytest.approx(student_t.sf(t, n / (lag + 1)), rel=1e-10)
    # The overlap-aware variance is larger than Newey-West's with lag h: a smaller t.
    assert abs(result.t_stat) < abs(newey_west_tstat(x, h))


def test_negative_flat_top_estimate_falls_back_to_bartlett() -> None:
    # A strictly alternating series: the flat-top sum of autocovariances is negative.
    x = np.tile([1.0, -1.0], 50) + 0.01
    result = hac_mean_test(x, horizon_bars=2, lag=2)
    bartlett = [1 - k / 3 for k in (1, 2)]
    mean, lrv, n = _slow_lrv(x, bartlett)
    lrv /= 1 - (1 + 2 * (1 + 0.5)) / n  # demeaning correction with the flat-top weights
    assert np.isfinite(result.t_stat)
    assert result.t_stat == pytest.approx(mean / np.sqrt(lrv / n), rel=1e-10)


def test_degenerate_series_give_nan_not_errors() -> None:
    assert np.isnan(newey_west_tstat([1.0], 3))
    assert np.isnan(newey_west_tstat([2.0, 2.0, 2.0], 1))
    constant = hac_mean_test(np.full(50, 0.0), horizon_bars=2)
    assert np.isnan(constant.t_stat) and np.isnan(constant.p_value)
    perfect = hac_mean_test(np.full(50, 1.0), horizon_bars=2)
    assert perfect.t_stat == np.inf and perfect.p_value == 0.0
    assert hac_mean_test(np.full(50, -0.3)).p_value == 1.0
    empty = hac_mean_test(np.full(10, np.nan))
    assert empty.n == 0 and np.isnan(empty.p_value)
    with pytest.raises(DataError, match="1-D"):
        hac_mean_test(np.zeros((2, 2, 2)))


def test_lag_rule() -> None:
    assert newey_west_lag(100) == 4
    assert newey_west_lag(100, 12) == 12
    assert newey_west_lag(10_000, 3) == 11  # the rule of thumb grows with n
    assert hac_mean_test(np.random.default_rng(0).standard_normal(600), 12).lag == 24


def test_p_value_is_one_sided() -> None:
    rng = np.random.default_rng(3)
    up = hac_mean_test(0.2 + rng.standard_normal(500))
    down = hac_mean_test(-0.2 + rng.standard_normal(500))
    assert up.p_value < 0.01 < 0.99 < down.p_value
