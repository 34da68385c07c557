"""Calibration by simulation: p-values of no-skill forecasts are uniform, FDR is controlled.

The null is the hard case of market data: a persistent forecast (AR(1), phi = 0.97) of an
outcome that is pure overlapping noise (12-bar forward sums), so the per-timestamp skill is
autocorrelated. A naive Newey-West test (lag = horizon, normal reference) rejects far too
often on exactly these panels; the last test shows it, so the calibration tests can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kstest, norm

from intelligent_training.stats import (
    combine_pvalues,
    fdr_qvalues,
    hac_mean_test,
    newey_west_lag,
    newey_west_tstat,
    skill_by_timestamp,
    skill_test,
)

from ._panels import null_panel

N_SIMS = 300


def _null_pvalues(task: str = "regression", method: str = "auto", **panel) -> np.ndarray:
    pvalues = []
    for seed in range(N_SIMS):
        y, forecast, ts = null_panel(seed, **panel)
        if task == "binary":
            y = (y > 0.84).astype(float)  # a rare event, as in y_will_peak_*
        test = skill_test(
            y, forecast, ts, task=task, horizon_bars=panel.get("bars", 12), method=method
        )
        pvalues.append(test.p_value)
    return np.asarray(pvalues)


@pytest.mark.parametrize(
    ("task", "method", "panel"),
    [
        ("regression", "auto", {}),  # per-timestamp rank IC
        ("binary", "auto", {}),  # per-timestamp AUC (timestamps with one class left out)
        ("regression", "pooled", {"n_symbols": 1}),  # a single series
        ("regression", "auto", {"bars": 1}),  # no overlap
    ],
)
def test_null_pvalues_are_uniform(task: str, method: str, panel: dict) -> None:
    p = _null_pvalues(task, method, **panel)
    assert np.isfinite(p).all()
    assert kstest(p, "uniform").pvalue > 0.01
    assert (p < 0.05).mean() <= 0.08
    assert (p < 0.01).mean() <= 0.025


def test_naive_newey_west_is_miscalibrated_on_the_same_panels() -> None:
    """Why the calibrated test exists (and proof that the checks above can fail)."""
    naive = []
    for seed in range(N_SIMS):
        y, forecast, ts = null_panel(seed)
        ic = skill_by_timestamp(y, forecast, ts, task="regression").to_numpy()
        naive.append(norm.sf(newey_west_tstat(ic, newey_west_lag(len(ic), 12))))
    naive = np.asarray(naive)
    assert (naive < 0.05).mean() > 0.08 or (naive < 0.01).mean() > 0.025


def test_fdr_is_controlled_with_many_noise_targets() -> None:
    """30 noise + 3 weak real targets per panel, BY at 0.1: false discoveries stay rare."""
    fdp, found = [], []
    for seed in range(12):
        pvalues, real = [], []
        for j in range(33):
            signal = 0.4 if j < 3 else 0.0
            y, forecast, ts = null_panel(1000 * seed + j, n_timestamps=500, signal=signal)
            pvalues.append(skill_test(y, forecast, ts, task="regression", horizon_bars=12).p_value)
            real.append(j < 3)
        selected = fdr_qvalues(pvalues) <= 0.1
        real = np.asarray(real)
        fdp.append((selected & ~real).sum() / max(selected.sum(), 1))
        found.append((selected & real).sum())
    assert np.mean(fdp) <= 0.1
    assert np.mean(found) >= 2.5  # power: the real targets are found


def test_power_on_a_planted_signal() -> None:
    y, forecast, ts = null_panel(7, signal=0.3)
    test = skill_test(y, forecast, ts, task="regression", horizon_bars=12)
    assert test.mean > 0.05 and test.p_value < 1e-4
    yb = (y > 0).astype(float)
    assert skill_test(yb, forecast, ts, task="binary", horizon_bars=12).p_value < 1e-3


def test_family_combination_stays_valid_when_families_agree_by_construction() -> None:
    """Two 'families' that are the same forecast plus a little noise: Cauchy stays uniform."""
    combined = []
    for seed in range(N_SIMS):
        y, forecast, ts = null_panel(seed, n_timestamps=400)
        rng = np.random.default_rng(seed + 10_000)
        p1 = skill_test(y, forecast, ts, task="regression", horizon_bars=12).p_value
        other = forecast + 0.3 * rng.standard_normal(len(forecast))
        p2 = skill_test(y, other, ts, task="regression", horizon_bars=12).p_value
        combined.append(combine_pvalues([p1, p2]))
    combined = np.asarray(combined)
    assert (combined < 0.05).mean() <= 0.08
    assert kstest(combined, "uniform").pvalue > 0.01


def test_test_statistic_is_scale_free_across_methods() -> None:
    y, forecast, ts = null_panel(3, signal=0.2)
    a = skill_test(y, forecast, ts, task="regression", horizon_bars=12)
    b = skill_test(y * 1000.0, np.exp(forecast), ts, task="regression", horizon_bars=12)
    assert a.t_stat == pytest.approx(b.t_stat)  # ranks: monotone transforms change nothing
    assert hac_mean_test(skill_by_timestamp(y, forecast, ts, task="regression"), 12).t_stat == (
        pytest.approx(a.t_stat)
    )
