"""Size of the skill test under the null, for label horizons of 1 to 48 bars (issue 22).

The rejection rate of ``hac_mean_test`` at alpha = 1 % and 0.1 % must stay within
[0.5, 2] times nominal for every horizon and sample size, including the small effective
samples (48-bar labels over 200 timestamps: about 4 independent observations). The fast
version tests the overlap alone (MA(h - 1) series) on 200 and 1 000 timestamps; the slow
one adds per-timestamp rank IC and AUC series of persistent forecasts against overlapping
noise labels, up to 5 000 timestamps (``benchmarks/sim_hac_size.py`` prints the table of
``docs/ranking.md`` with the alternatives that were rejected).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from intelligent_training.stats import hac_mean_test, newey_west_tstat

from ._panels import null_skill_series

HORIZONS = (1, 3, 12, 48)
ALPHAS = (0.01, 0.001)


def _rejection_rates(kind: str, bars: int, sizes, reps: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    counts = {n: np.zeros(len(ALPHAS)) for n in sizes}
    chunk = 5000 if kind == "ma" else 1000
    for start in range(0, reps, chunk):
        series = null_skill_series(kind, rng, min(chunk, reps - start), max(sizes), bars)
        for n in sizes:
            p = hac_mean_test(series[:, :n].T, bars).p_value
            counts[n] += [(p < a).sum() for a in ALPHAS]
    return {n: c / reps for n, c in counts.items()}


def _check(rates: dict, where: str) -> None:
    for n, rate in rates.items():
        for alpha, r in zip(ALPHAS, rate):
            assert 0.5 * alpha <= r <= 2 * alpha, (where, n, alpha, r)


@pytest.mark.parametrize("bars", HORIZONS)
def test_size_of_the_overlap_alone(bars):
    _check(_rejection_rates("ma", bars, (200, 1000), reps=20_000, seed=bars), f"ma h={bars}")


def test_the_textbook_newey_west_test_fails_the_same_check():
    """The check can fail: Newey-West with lag h and a normal reference over-rejects."""
    rng = np.random.default_rng(0)
    x = null_skill_series("ma", rng, 20_000, 200, 12)
    p = norm.sf(newey_west_tstat(x.T, 12))
    assert (p < 0.001).mean() > 2 * 0.001


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rank_ic", "auc"])
@pytest.mark.parametrize("bars", HORIZONS)
def test_size_of_skill_series_of_persistent_forecasts(kind, bars):
    rates = _rejection_rates(kind, bars, (200, 1000, 5000), reps=20_000, seed=100 + bars)
    _check(rates, f"{kind} h={bars}")


@pytest.mark.parametrize("bars", [1, 12])
def test_fold_spread_agrees_with_the_standard_error(bars):
    """Under no skill, the fold means scatter as the test's standard error says.

    The variance of one fold's mean skill is ``n * SE**2 / n_fold`` with ``SE = mean / t``;
    over many series the observed fold-to-fold variance matches it on average.
    """
    rng = np.random.default_rng(7 + bars)
    x = null_skill_series("ma", rng, 4000, 1500, bars)  # 3 folds of 500 timestamps
    test = hac_mean_test(x.T, bars)
    se2 = (test.mean / test.t_stat) ** 2
    folds = x.reshape(len(x), 3, 500).mean(axis=2)
    ratio = folds.var(axis=1, ddof=1) / (se2 * 1500 / 500)
    assert abs(np.mean(ratio) - 1.0) < 0.1
