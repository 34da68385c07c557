"""HAC statistics against slow, loop-based reference implementations."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.stats import kstest
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
    ewc_dof,
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


def _slow_ewc(x: np.ndarray, nu: int) -> tuple[float, float, int]:
    """Mean, EWC variance of the mean and count, one cosine at a time (NaN = missing)."""
    n = len(x)
    ok = np.isfinite(x)
    n_valid = int(ok.sum())
    mean = sum(v for v in x[ok]) / n_valid
    d = [v - mean if np.isfinite(v) else 0.0 for v in x]
    omega = 0.0
    for j in range(1, nu + 1):
        lam = sum(np.sqrt(2 / n) * np.cos(np.pi * j * (t + 0.5) / n) * d[t] for t in range(n))
        omega += lam * lam / nu
    return mean, omega * n / n_valid**2, n_valid


def test_hac_mean_test_matches_its_definition() -> None:
    rng = np.random.default_rng(2)
    e = rng.standard_normal(406)
    x = np.convolve(e, np.ones(7), mode="valid") / 7 + 0.05  # 6 overlapping neighbours
    x[[10, 11, 300]] = np.nan
    h = 7
    nu = ewc_dof(len(x), h)
    assert nu == min(int(0.4 * 400 ** (2 / 3)), 400 // (3 * 7)) == 19
    mean, var, n = _slow_ewc(x, nu)
    t = mean / np.sqrt(var)
    result = hac_mean_test(x, horizon_bars=h)
    assert result.n == n == 397 and result.df == nu and result.lag == 22  # ceil(400 / 19)
    assert result.t_stat == pytest.approx(t, rel=1e-10)
    assert result.p_value == pytest.approx(student_t.sf(t, nu), rel=1e-10)
    # Newey-West with lag h shrinks the overlap's autocovariances: a larger t.
    assert abs(result.t_stat) < abs(newey_west_tstat(x, h))
    assert hac_mean_test(x, horizon_bars=h, nu=5).df == 5


def test_ewc_t_is_exactly_student_t_for_gaussian_white_noise() -> None:
    """The reference distribution is exact where its assumption holds (small n, nu)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((60, 20_000))  # n = 60: nu = 6
    test = hac_mean_test(x)
    assert test.df[0] == 6
    assert kstest(test.t_stat, student_t(6).cdf).pvalue > 0.01
    assert kstest(test.p_value, "uniform").pvalue > 0.01


def test_long_run_variance_is_never_negative() -> None:
    # A strictly alternating series: kernel estimates with negative weights could go below 0.
    x = np.tile([1.0, -1.0], 50) + 0.01
    result = hac_mean_test(x, horizon_bars=2)
    assert np.isfinite(result.t_stat) and result.t_stat > 0


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


def test_degrees_of_freedom_rule() -> None:
    assert ewc_dof(1000) == ewc_dof(1000, 1) == 39  # floor(0.4 n^(2/3)): no overlap
    assert ewc_dof(1875, 12) == 52  # the overlap caps it: n / (3 h)
    assert ewc_dof(200, 48) == 1 and ewc_dof(1) == 1  # never below 1
    assert [ewc_dof(5000, h) for h in (1, 3, 12, 48)] == [116, 116, 116, 34]
    test = hac_mean_test(np.random.default_rng(0).standard_normal(600), 12)
    assert test.df == 16 and test.lag == 38


def test_p_value_is_one_sided() -> None:
    rng = np.random.default_rng(3)
    up = hac_mean_test(0.2 + rng.standard_normal(500))
    down = hac_mean_test(-0.2 + rng.standard_normal(500))
    assert up.p_value < 0.01 < 0.99 < down.p_value
