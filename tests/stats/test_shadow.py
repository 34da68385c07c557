"""Shadow features keep autocorrelation and lose the target; the shadow tally against a loop."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from intelligent_training.exceptions import DataError, DataWarning
from intelligent_training.stats import shadow_features, shadow_wins

from ._panels import ar1


def _panel(seed: int = 0, n_ts: int = 800, n_sym: int = 4, n_feat: int = 5):
    rng = np.random.default_rng(seed)
    feats = np.stack([ar1(rng, n_ts, n_sym, phi) for phi in np.linspace(0.5, 0.97, n_feat)])
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n_ts, freq="5min"), [f"S{i}" for i in range(n_sym)]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame(
        {f"f{j}": feats[j].reshape(-1).astype(np.float32) for j in range(n_feat)}, index=index
    )
    last = X.columns[-1]
    y = pd.Series(X[last].to_numpy(np.float64) + 0.5 * rng.standard_normal(len(X)), index=index)
    return X, y


def _lag1(frame: pd.DataFrame) -> pd.Series:
    """Lag-1 autocorrelation per column, within symbols, pooled."""
    lagged = frame.groupby(level="symbol").shift(1)
    return frame.corrwith(lagged.set_axis(frame.columns, axis=1))


def test_shadows_keep_autocorrelation_and_break_the_link_to_the_target() -> None:
    X, y = _panel()
    shadows = shadow_features(X, random_state=0)
    assert list(shadows.columns) == [f"shadow_{c}" for c in X.columns]
    assert shadows.index.equals(X.index)
    assert (shadows.dtypes == np.float32).all()
    np.testing.assert_allclose(_lag1(shadows).to_numpy(), _lag1(X).to_numpy(), atol=0.02)
    # f4 drives the target; its shadow does not. A row shuffle would keep neither property.
    assert X["f4"].corr(y) > 0.8
    assert abs(shadows["shadow_f4"].corr(y)) < 0.1
    shuffled = X.sample(frac=1.0, random_state=0).set_axis(X.index)
    assert (_lag1(shuffled).abs() < 0.1).all()


@pytest.mark.filterwarnings("ignore::intelligent_training.exceptions.DataWarning")
def test_each_symbol_gets_a_circular_shift_of_its_own_series() -> None:
    X, _ = _panel(n_ts=200, n_sym=3, n_feat=2)
    shadows = shadow_features(X, random_state=1, min_shift=30)
    for symbol in ("S0", "S1", "S2"):
        for col in X.columns:
            original = X.xs(symbol, level="symbol")[col].to_numpy()
            shadow = shadows.xs(symbol, level="symbol")[f"shadow_{col}"].to_numpy()
            shifts = [s for s in range(200) if np.array_equal(np.roll(original, s), shadow)]
            assert len(shifts) == 1 and 30 <= shifts[0] <= 170


@pytest.mark.filterwarnings("ignore::intelligent_training.exceptions.DataWarning")
def test_unsorted_ragged_panels_and_plain_arrays() -> None:
    X, _ = _panel(n_ts=120, n_sym=3, n_feat=2)
    ragged = X.drop(X.index[X.index.get_level_values("symbol") == "S2"][:40])
    perm = np.random.default_rng(0).permutation(len(ragged))
    shuffled = ragged.iloc[perm]
    a = shadow_features(ragged, random_state=3)
    b = shadow_features(shuffled, random_state=3)
    pd.testing.assert_frame_equal(b.sort_index(), a.sort_index())  # row order does not matter
    before = X.copy()
    shadow_features(X, random_state=3)
    pd.testing.assert_frame_equal(X, before)  # input untouched
    series = np.arange(40.0)[:, None] * np.ones((1, 2))
    out = shadow_features(series, random_state=0)
    assert isinstance(out, np.ndarray) and out.shape == (40, 2)
    for j in range(2):
        shift = int((out[0, j] * -1) % 40)
        np.testing.assert_array_equal(out[:, j], np.roll(series[:, j], shift))
        assert 10 <= shift <= 30


@pytest.mark.filterwarnings("ignore::intelligent_training.exceptions.DataWarning")
def test_shadows_are_deterministic_and_seed_dependent() -> None:
    X, _ = _panel(n_ts=100, n_sym=2, n_feat=3)
    pd.testing.assert_frame_equal(
        shadow_features(X, random_state=7), shadow_features(X, random_state=7)
    )
    assert not shadow_features(X, random_state=7).equals(shadow_features(X, random_state=8))


def test_persistence_warning_and_too_short_series() -> None:
    rng = np.random.default_rng(0)
    slow = np.cumsum(rng.standard_normal((200, 1)), axis=0)  # a random walk
    with pytest.warns(DataWarning, match="stays autocorrelated"):
        shadow_features(slow, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shadow_features(rng.standard_normal((200, 1)), random_state=0)
    with pytest.raises(DataError, match="too few"):
        shadow_features(np.zeros((10, 1)), min_shift=6)


def _loop_tally(real, shadow, voting):
    wins, votes = [], []
    for f in range(real.shape[1]):
        w = v = 0
        for c in range(real.shape[0]):
            if not voting[c] or np.isnan(real[c, f]) or np.isnan(shadow[c]).any():
                continue
            v += 1
            w += real[c, f] > max(shadow[c])
        wins.append(w)
        votes.append(v)
    return np.array(wins), np.array(votes)


def test_shadow_wins_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    real = rng.uniform(size=(12, 6))
    real[:, 0] += 1.0  # always beats the shadows
    real[3, 2] = np.nan
    shadow = rng.uniform(size=(12, 6))
    shadow[5, 1] = np.nan  # that cell cannot judge
    voting = rng.uniform(size=12) > 0.25
    names = [f"f{j}" for j in range(6)]
    tally = shadow_wins(pd.DataFrame(real, columns=names), shadow, voting=voting)
    wins, votes = _loop_tally(real, shadow, voting)
    assert list(tally.index) == names
    np.testing.assert_array_equal(tally["shadow_wins"], wins)
    np.testing.assert_array_equal(tally["n_votes"], votes)
    np.testing.assert_array_equal(tally["relevant"], 2 * wins > votes)
    assert tally.loc["f0", "relevant"]
    np.testing.assert_allclose(tally["shadow_win_share"], wins / votes)


def test_shadow_wins_majority_is_strict_and_non_voters_do_not_count() -> None:
    real = np.array([[2.0], [2.0], [0.0], [0.0]])
    shadow = np.ones((4, 3))
    assert not shadow_wins(real, shadow)["relevant"].iloc[0]  # 2 of 4 is not a majority
    # Cells 3-4 come from a family that did not learn the target: they do not vote.
    tally = shadow_wins(real, shadow, voting=[True, True, False, False])
    assert tally["relevant"].iloc[0] and tally["n_votes"].iloc[0] == 2
    none = shadow_wins(real, shadow, voting=[False] * 4)
    assert not none["relevant"].iloc[0] and np.isnan(none["shadow_win_share"].iloc[0])
    with pytest.raises(DataError, match="one row per"):
        shadow_wins(real, shadow[:2])
    with pytest.raises(DataError, match="voting"):
        shadow_wins(real, shadow, voting=[True])
