"""Issue 11 acceptance: 3 real + 30 noise targets, significance keeps the real ones only.

The panel is :func:`make_synthetic_panel` (its three strongest predictable targets and
its two noise targets) plus 28 pure-noise candidates: forward sums of noise over 1 to 12
bars, so most of them overlap (their labels, and so their per-timestamp skill, are
autocorrelated like real forward returns). With the score rule alone (``fdr=None``) the
top 10 of 33 candidates are filled with noise that beat the naive baseline by chance;
with the default ``fdr=0.1`` exactly the real targets are selected.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.exceptions import ConfigError
from intelligent_training.ranking import TargetRanker

REAL = ["fwd_ret_5m", "y_up_15m", "tgt_nonlin_10m"]
NOISE_BARS = (1, 3, 6, 12)  # label overlap of the extra noise targets, in 5-minute bars
FAST_LGB = {"lightgbm": {"n_estimators": 30, "num_leaves": 15}}


def _panel(seed: int, n_symbols: int, n_timestamps: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    panel, truth = make_synthetic_panel(
        n_symbols=n_symbols, n_timestamps=n_timestamps, n_features=16, random_state=seed
    )
    rng = np.random.default_rng(1000 + seed)
    noise: dict[str, np.ndarray] = {}
    for j in range(28):
        bars = NOISE_BARS[j % len(NOISE_BARS)]
        draws = rng.standard_normal((n_timestamps + bars - 1, n_symbols))
        csum = np.vstack([np.zeros((1, n_symbols)), np.cumsum(draws, axis=0)])
        noise[f"fwd_noise{j:02d}_{5 * bars}m"] = ((csum[bars:] - csum[:-bars]) / bars).reshape(-1)
    Y = pd.concat(
        [panel[REAL + truth.noise_targets], pd.DataFrame(noise, index=panel.index)], axis=1
    )
    assert Y.shape[1] == 33
    return panel[truth.features], Y


def _fit(X: pd.DataFrame, Y: pd.DataFrame, **params) -> TargetRanker:
    params = {"families": FAST_LGB, "cv": 3, "top_n": 10, **params}
    ranker = TargetRanker(random_state=0, verbose=False, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ranker.fit(X, Y)


def _check_seed(seed: int, n_symbols: int, n_timestamps: int) -> None:
    X, Y = _panel(seed, n_symbols, n_timestamps)
    ranker = _fit(X, Y)  # default settings: fdr=0.1, early_stopping=True
    rk = ranker.rankings_
    noise = [t for t in Y.columns if t not in REAL]
    assert sorted(ranker.selected_targets_) == sorted(REAL), (seed, rk.head(12))
    assert rk.loc[REAL, "significant"].all()
    assert not rk.loc[noise, "significant"].any()
    # the run says why it selected fewer than top_n
    assert ranker.selection_note_.startswith("selected 3 of top_n=10 targets (33 candidates)")
    # fdr=None is the old rule: the best 10 with score > 0, and then noise does get in
    old = _fit(X, Y, fdr=None)
    assert set(REAL) <= set(old.selected_targets_)
    picked_noise = [t for t in old.selected_targets_ if t not in REAL]
    assert len(picked_noise) >= 3, (seed, old.rankings_.head(12))  # 6-7 of 10 measured
    assert old.rankings_["significant"].isna().all()


def test_three_real_and_thirty_noise_targets_fast():
    """The default suite's version: one small panel per seed, few trees."""
    for seed in range(5):
        _check_seed(seed, n_symbols=5, n_timestamps=500)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_three_real_and_thirty_noise_targets_full(seed):
    _check_seed(seed, n_symbols=6, n_timestamps=1500)


def test_racing_stops_noise_and_keeps_the_selection():
    """early_stopping (the default) vs full evaluation: same selection and top 3."""
    X, Y = _panel(0, n_symbols=5, n_timestamps=500)
    fast = _fit(X, Y, top_n=3, cv=4)
    full = _fit(X, Y, top_n=3, cv=4, early_stopping=False)
    assert fast.selected_targets_ == full.selected_targets_
    assert sorted(fast.selected_targets_) == sorted(REAL)
    assert list(fast.rankings_.index[:3]) == list(full.rankings_.index[:3])
    assert full.rankings_["stopped_after_folds"].isna().all()
    stopped = fast.rankings_["stopped_after_folds"].dropna()
    assert len(stopped) >= 15 and not set(stopped.index) & set(REAL)
    assert (stopped < 4).all()
    # a stopped target keeps the score and tests of the folds it was evaluated on
    partial = fast.rankings_.loc[stopped.index]
    assert partial[["score", "p_value", "q_value"]].notna().all().all()
    assert (partial["n_folds"] == stopped).all()
    assert fast.rankings_["n_folds"].sum() < full.rankings_["n_folds"].sum()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"fdr": 1.5}, "'fdr' parameter of TargetRanker must be"),
        ({"fdr": 0}, "'fdr' parameter of TargetRanker must be"),
        ({"fdr": True}, "'fdr' parameter of TargetRanker must be"),
        ({"early_stopping": "yes"}, "'early_stopping' parameter of TargetRanker must be"),
    ],
)
def test_bad_fdr_and_early_stopping_are_config_errors(params, match):
    X, Y = _panel(0, n_symbols=3, n_timestamps=120)
    with pytest.raises(ConfigError, match=match):
        TargetRanker(**params).fit(X, Y)
