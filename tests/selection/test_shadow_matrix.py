"""ShadowedMatrix: ``[X | shadows]`` gathered per read equals the stored matrix, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from intelligent_training.evaluation import EvalData
from intelligent_training.evaluation._targets import TargetSpec
from intelligent_training.selection._relevance import with_shadows
from intelligent_training.selection._shadow_matrix import ShadowedMatrix
from intelligent_training.stats import shadow_features


def _panel(seed: int, *, ragged: bool, layout: str):
    """A shuffled-symbol panel with NaN features and unlabelled rows."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-01-01", periods=60, freq="5min")
    index = pd.MultiIndex.from_product([times, ["A", "B", "C", "D"]], names=["timestamp", "symbol"])
    if ragged:  # symbol D starts late, C has a gap: symbols of different lengths
        keep = ~((index.get_level_values("symbol") == "D") & (index.codes[0] < 20))
        keep &= ~((index.get_level_values("symbol") == "C") & (index.codes[0] % 7 == 3))
        index = index[keep]
    n = len(index)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    X[rng.random((n, 5)) < 0.05] = np.nan
    X[:, 4] = 0.0  # a constant column
    y = rng.standard_normal(n)
    y[rng.random(n) < 0.2] = np.nan  # unlabelled rows get NaN shadows
    y[index.get_level_values("symbol") == "B"] = np.nan  # a symbol without labels
    y[np.flatnonzero(index.get_level_values("symbol") == "B")[0]] = 1.0  # ... but one
    if layout == "F":
        X = np.asfortranarray(X)
    return X, y, index


def _data(X, y, index) -> EvalData:
    spec = TargetSpec(
        name="y", task="regression", classes=None, labels=y, horizon=0, horizon_bars=0
    )
    return EvalData(
        X=X, columns=[f"f{j}" for j in range(X.shape[1])], index=index, targets={"y": spec}
    )


def _stored(data: EvalData, seed: int) -> np.ndarray:
    """The matrix with_shadows stored before: X, then shadow_features of the labelled rows."""
    labelled = np.isfinite(data.targets["y"].labels)
    if data.index is not None:
        symbols = pd.factorize(data.index.get_level_values("symbol"))[0]
        labelled &= np.bincount(symbols[labelled], minlength=symbols.max() + 1)[symbols] >= 2
    rows = np.flatnonzero(labelled)
    n_real = data.X.shape[1]
    out = np.full((data.n_rows, 2 * n_real), np.nan, dtype=np.float32)
    out[:, :n_real] = data.X
    part = data.X[rows]
    frame = pd.DataFrame(part, index=data.index[rows]) if data.index is not None else part
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # persistence warnings: not what is tested here
        out[rows, n_real:] = np.asarray(shadow_features(frame, random_state=seed), np.float32)
    return out


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("seed", [0, 3])
def test_reads_equal_the_stored_matrix(ragged, layout, seed):
    X, y, index = _panel(seed, ragged=ragged, layout=layout)
    data = _data(X, y, index)
    grid = with_shadows(data, seed)
    matrix = grid.X
    assert isinstance(matrix, ShadowedMatrix)
    stored = _stored(data, seed)
    assert matrix.shape == stored.shape == (len(y), 10)
    assert _same_bits(np.asarray(matrix), stored)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(y), size=37, replace=False))
    assert _same_bits(matrix[rows], stored[rows])
    assert _same_bits(matrix[rows[::-1]], stored[rows[::-1]])  # any order
    assert _same_bits(matrix[5:40:3], stored[5:40:3])
    mask = rng.random(len(y)) < 0.3
    assert _same_bits(matrix[mask], stored[mask])
    for j in range(10):
        assert _same_bits(matrix.column(j, rows), stored[rows, j])
    assert matrix[rows].flags["C_CONTIGUOUS"]


def test_series_without_panel_index():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 3)).astype(np.float32)
    y = rng.standard_normal(80)
    y[:5] = np.nan
    data = _data(X, y, None)
    grid = with_shadows(data, 7)
    assert _same_bits(np.asarray(grid.X), _stored(data, 7))
    assert grid.columns == ["f0", "f1", "f2", "shadow_f0", "shadow_f1", "shadow_f2"]


def test_fingerprint_follows_the_content():
    X, y, index = _panel(0, ragged=True, layout="C")
    first = with_shadows(_data(X, y, index), 0)
    again = with_shadows(_data(X.copy(), y, index), 0)
    other_seed = with_shadows(_data(X, y, index), 1)
    assert first.fingerprint() == again.fingerprint()
    assert first.fingerprint() != other_seed.fingerprint()
    changed = X.copy()
    changed[3, 1] = 42.0
    assert with_shadows(_data(changed, y, index), 0).fingerprint() != first.fingerprint()


def test_indexing_by_column_is_refused():
    X, y, index = _panel(0, ragged=False, layout="C")
    matrix = with_shadows(_data(X, y, index), 0).X
    with pytest.raises(TypeError, match="rows only"):
        matrix[:, 0]


def test_selector_results_equal_those_on_the_stored_matrix(monkeypatch):
    # The fast path (LightGBM fed a block of rows at a time, XGBoost's copied base rows)
    # and the estimator path (linear) on the gathered matrix give the selection, the
    # importances and the shadow tally of the stored matrix, exactly.
    from intelligent_training.selection import FeatureSelector
    from intelligent_training.selection import _selector as selector_module

    rng = np.random.default_rng(0)
    times = pd.date_range("2024-01-01", periods=300, freq="5min")
    index = pd.MultiIndex.from_product([times, ["A", "B", "C"]], names=["timestamp", "symbol"])
    X = pd.DataFrame(
        rng.standard_normal((len(index), 6)).astype(np.float32),
        index=index,
        columns=[f"x{j}" for j in range(6)],
    )
    y = pd.Series(
        2 * X["x0"] + X["x1"] ** 2 + rng.standard_normal(len(index)), index=index, name="fwd_5m"
    )
    y.iloc[::11] = np.nan

    def fit():
        return FeatureSelector(
            families={
                "lightgbm": {"n_estimators": 25},
                "xgboost": {"n_estimators": 25},
                "linear": {},
            },
            importance=("native", "permutation"),
            n_repeats=2,
            top_m=3,
            cv=3,
            random_state=0,
            verbose=False,
        ).fit(X, y)

    gathered = fit()

    def stored(data, seed):
        grid = with_shadows(data, seed)
        grid.X = np.asarray(grid.X)  # the C-ordered matrix stored before
        return grid

    monkeypatch.setattr(selector_module, "with_shadows", stored)
    before = fit()
    assert gathered.selected_features_ == before.selected_features_
    pd.testing.assert_frame_equal(gathered.importances_, before.importances_)
    pd.testing.assert_frame_equal(gathered.fold_importances_, before.fold_importances_)
    pd.testing.assert_frame_equal(gathered.shadow_wins_, before.shadow_wins_)
    pd.testing.assert_frame_equal(gathered.fold_skill_, before.fold_skill_)
    np.testing.assert_array_equal(gathered.feature_importances_, before.feature_importances_)
