"""split_features_targets, is_target and the non-numeric column policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intelligent_training.data import DEFAULT_TARGET_PATTERNS, is_target, split_features_targets
from intelligent_training.exceptions import DataError, DataWarning


def _panel(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    index = pd.MultiIndex.from_arrays(
        [pd.date_range("2024-01-01", periods=n, freq="5min"), ["A"] * n],
        names=["timestamp", "symbol"],
    )
    return pd.DataFrame(columns, index=index)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fwd_ret_5m", True),
        ("fwd_vol", True),
        ("y_up_15m", True),
        ("target_x", True),
        ("tgt_nonlin_10m", True),
        ("rsi_14", False),
        ("my_y_col", False),
        ("ret_fwd", False),
    ],
)
def test_is_target_default_patterns(name, expected):
    assert is_target(name) is expected


def test_is_target_custom_patterns():
    assert is_target("label_a", "^label_")
    assert not is_target("fwd_ret_5m", ["^label_"])
    assert "^fwd_ret_" in DEFAULT_TARGET_PATTERNS


def test_split_on_synthetic(synthetic):
    panel, truth = synthetic
    before = panel.copy()
    X, Y = split_features_targets(panel)
    assert list(X.columns) == truth.features
    assert sorted(Y.columns) == sorted(truth.targets)
    assert (X.dtypes == np.float32).all()
    assert (Y.dtypes == np.float64).all()
    assert X.index.equals(panel.index) and Y.index.equals(panel.index)
    pd.testing.assert_frame_equal(panel, before)  # the input is not modified
    X.iloc[0, 0] = 123.0
    assert panel.iloc[0, 0] != 123.0  # X is a copy


def test_split_custom_patterns():
    panel = _panel(a=[1.0, 2.0], label_b=[0.0, 1.0], fwd_ret_5m=[0.1, 0.2])
    X, Y = split_features_targets(panel, target_patterns=["^label_"])
    assert list(X.columns) == ["a", "fwd_ret_5m"]
    assert list(Y.columns) == ["label_b"]


def test_split_casts_ints_and_bools():
    panel = _panel(a=[1, 2], flag=[True, False], y_up=[True, False], fwd_n=[1, 2])
    X, Y = split_features_targets(panel)
    assert X.dtypes.tolist() == [np.float32, np.float32]
    assert Y["y_up"].tolist() == [1.0, 0.0]
    assert Y.dtypes.tolist() == [np.float64, np.float64]


def test_split_no_targets_names_patterns():
    panel = _panel(a=[1.0, 2.0], b=[3.0, 4.0])
    with pytest.raises(DataError, match=r"no target columns.*\['a', 'b'\].*\^fwd_ret_"):
        split_features_targets(panel)


def test_split_drops_non_numeric_features_with_warning():
    panel = _panel(a=[1.0, 2.0], sector=["x", "y"], fwd_ret_5m=[0.1, 0.2])
    with pytest.warns(DataWarning, match="sector"):
        X, _ = split_features_targets(panel)
    assert list(X.columns) == ["a"]


def test_split_non_numeric_target_is_an_error():
    panel = _panel(a=[1.0, 2.0], y_side=["up", "down"])
    with pytest.raises(DataError, match="y_side"):
        split_features_targets(panel)


def test_split_no_features_is_an_error():
    panel = _panel(fwd_ret_5m=[0.1, 0.2])
    with pytest.raises(DataError, match="no numeric feature columns"):
        split_features_targets(panel)


def test_split_inf_names_column_and_symbol():
    panel = _panel(a=[1.0, np.inf], fwd_ret_5m=[0.1, 0.2])
    with pytest.raises(DataError, match=r"'a'.*infinite.*'A'"):
        split_features_targets(panel)


def test_split_keeps_nan():
    panel = _panel(a=[1.0, np.nan], fwd_ret_5m=[np.nan, 0.2])
    X, Y = split_features_targets(panel)
    assert X["a"].isna().sum() == 1 and Y["fwd_ret_5m"].isna().sum() == 1


def test_split_rejects_non_frame():
    with pytest.raises(DataError, match="DataFrame"):
        split_features_targets(np.zeros((2, 2)))
