"""Honest best-of-N: the expected maximum of N null skills, the deflated test, CSCV PBO."""

from __future__ import annotations

import numpy as np
import pytest

from intelligent_training.stats._deflation import (
    backtest_overfitting,
    deflated_skill,
    expected_max_null,
)


def test_expected_max_grows_with_trials_and_matches_simulation():
    values = [expected_max_null(n, 1.0) for n in (1, 2, 10, 100, 1000)]
    assert values[0] == 0.0 and np.all(np.diff(values) > 0)
    rng = np.random.default_rng(0)
    simulated = rng.standard_normal((20_000, 100)).max(axis=1).mean()
    assert expected_max_null(100, 1.0) == pytest.approx(simulated, rel=0.03)
    assert expected_max_null(100, 0.5) == pytest.approx(0.5 * expected_max_null(100, 1.0))


def _null_trials(rng, n_trials=40, n_time=400, common=0.5):
    """Skill-less trials that share part of their noise (as configurations of one family
    on one target do)."""
    shared = rng.standard_normal(n_time)
    own = rng.standard_normal((n_trials, n_time))
    return 0.1 * (common * shared + np.sqrt(1 - common**2) * own)


def test_deflated_test_holds_its_size_on_skill_less_trials():
    rng = np.random.default_rng(1)
    raw, deflated = [], []
    for _ in range(300):
        trials = _null_trials(rng)
        means = trials.mean(axis=1)
        best = int(np.argmax(means))
        result = deflated_skill(trials[best], means, len(trials))
        raw.append(result.raw_p_value)
        deflated.append(result.p_value)
    raw, deflated = np.array(raw), np.array(deflated)
    assert (raw < 0.05).mean() > 0.2  # the best of 40 "looks significant" often
    assert (deflated < 0.05).mean() <= 0.08  # deflated: about the nominal 5% or less


def test_deflated_test_keeps_real_skill():
    rng = np.random.default_rng(2)
    trials = _null_trials(rng)
    trials[7] += 0.03  # one configuration truly skilled
    means = trials.mean(axis=1)
    result = deflated_skill(trials[int(np.argmax(means))], means, len(trials))
    assert result.p_value < 0.01
    assert result.deflated == pytest.approx(result.raw - result.expected_max)


def test_one_trial_is_not_deflated():
    rng = np.random.default_rng(3)
    series = 0.05 + rng.standard_normal(500) * 0.1
    result = deflated_skill(series, [series.mean()], 1)
    assert result.expected_max == 0.0
    assert result.p_value == pytest.approx(result.raw_p_value)


def test_pbo_is_zero_for_a_dominant_trial():
    rng = np.random.default_rng(4)
    noise = rng.standard_normal((640, 12))
    signal = noise.copy()
    signal[:, 3] += 0.8
    result = backtest_overfitting(signal)
    assert result.pbo == 0.0 and result.n_blocks == 16 and result.n_splits == 12870


def test_pbo_is_about_one_half_on_average_for_noise():
    rng = np.random.default_rng(5)
    values = [backtest_overfitting(rng.standard_normal((256, 10)), 8).pbo for _ in range(60)]
    assert 0.4 < np.mean(values) < 0.6


def test_pbo_needs_two_trials_and_enough_timestamps():
    assert np.isnan(backtest_overfitting(np.zeros((100, 1))).pbo)
    assert np.isnan(backtest_overfitting(np.zeros((6, 3))).pbo)
    few = backtest_overfitting(np.random.default_rng(0).standard_normal((40, 3)))
    assert few.n_blocks == 10  # at least 4 timestamps per block


def test_pbo_ignores_missing_timestamps():
    rng = np.random.default_rng(6)
    matrix = rng.standard_normal((320, 5))
    matrix[:, 2] += 1.0
    matrix[::7, :] = np.nan
    assert backtest_overfitting(matrix).pbo == 0.0


def test_pbo_of_identical_trials_is_one_half():
    series = np.random.default_rng(7).standard_normal((200, 1))
    assert backtest_overfitting(np.repeat(series, 4, axis=1)).pbo == 0.5
