"""Unit tests of PurgedTimeSeriesSplit: worked examples, parameters, errors, sklearn protocol."""

from __future__ import annotations

import datetime as dt
import doctest
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from intelligent_training.exceptions import SplitError
from intelligent_training.model_selection import PurgedTimeSeriesSplit, _purged, _timestamps


def make_panel(n_timestamps: int = 10, n_symbols: int = 3, freq: str = "5min") -> pd.DataFrame:
    index = pd.MultiIndex.from_product(
        [
            pd.date_range("2024-01-01", periods=n_timestamps, freq=freq),
            [f"S{i}" for i in range(n_symbols)],
        ],
        names=["timestamp", "symbol"],
    )
    return pd.DataFrame({"f": np.arange(len(index), dtype=np.float32)}, index=index)


def rows_of(codes: range, n_symbols: int) -> list[int]:
    return [code * n_symbols + s for code in codes for s in range(n_symbols)]


def as_lists(folds) -> list[tuple[list[int], list[int]]]:
    return [(train.tolist(), test.tolist()) for train, test in folds]


@pytest.mark.parametrize("module", [_purged, _timestamps])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_worked_example_expanding() -> None:
    # 10 timestamps, 3 splits -> test_size 10 // 4 = 2, test blocks start at 4, 6, 8.
    # horizon=2 purges the two timestamps right before each block.
    X = make_panel(10, 3)
    folds = as_lists(PurgedTimeSeriesSplit(3, horizon=2).split(X))
    expected = [
        (rows_of(range(0, 2), 3), rows_of(range(4, 6), 3)),
        (rows_of(range(0, 4), 3), rows_of(range(6, 8), 3)),
        (rows_of(range(0, 6), 3), rows_of(range(8, 10), 3)),
    ]
    assert folds == expected


def test_rolling_window_and_test_size() -> None:
    X = make_panel(12, 2)
    cv = PurgedTimeSeriesSplit(2, horizon=1, max_train_size=3, test_size=3)
    folds = as_lists(cv.split(X))
    # Test blocks [6, 9) and [9, 12); training ends one bar early, keeps the last 3.
    assert folds == [
        (rows_of(range(2, 5), 2), rows_of(range(6, 9), 2)),
        (rows_of(range(5, 8), 2), rows_of(range(9, 12), 2)),
    ]


def test_zero_horizon_matches_sklearn_time_series_split_on_one_symbol() -> None:
    from sklearn.model_selection import TimeSeriesSplit

    X = np.zeros((50, 1))
    ours = as_lists(PurgedTimeSeriesSplit(4, horizon=3, max_train_size=20).split(X))
    theirs = as_lists(TimeSeriesSplit(4, gap=3, max_train_size=20).split(X))
    assert ours == theirs


@pytest.mark.parametrize("bars", [0, 1, 3, 7])
def test_duration_horizon_equals_bars_on_regular_grid(bars: int) -> None:
    X = make_panel(40, 2)
    by_bars = as_lists(PurgedTimeSeriesSplit(3, horizon=bars).split(X))
    by_time = as_lists(PurgedTimeSeriesSplit(3, horizon=pd.Timedelta(minutes=5 * bars)).split(X))
    by_str = as_lists(PurgedTimeSeriesSplit(3, horizon=f"{5 * bars}min").split(X))
    by_bar_str = as_lists(PurgedTimeSeriesSplit(3, horizon=f"{bars}b").split(X))
    by_numpy = as_lists(PurgedTimeSeriesSplit(3, horizon=np.timedelta64(5 * bars, "m")).split(X))
    by_stdlib = as_lists(PurgedTimeSeriesSplit(3, horizon=dt.timedelta(minutes=5 * bars)).split(X))
    assert by_bars == by_time == by_str == by_bar_str == by_numpy == by_stdlib


def test_duration_horizon_uses_time_on_irregular_grid() -> None:
    # Grid with an overnight-like gap: bars and durations differ there.
    times = pd.to_datetime(
        [
            "2024-01-01 10:00",
            "2024-01-01 10:05",
            "2024-01-01 10:10",
            "2024-01-02 09:00",
            "2024-01-02 09:05",
            "2024-01-02 09:10",
        ]
    )
    X = np.zeros((6, 1))
    cv_time = PurgedTimeSeriesSplit(1, horizon="10min", test_size=3)
    cv_bars = PurgedTimeSeriesSplit(1, horizon=2, test_size=3)
    # 10 minutes after 10:10 is long before the next day: nothing is purged.
    assert as_lists(cv_time.split(X, groups=times)) == [([0, 1, 2], [3, 4, 5])]
    # Two bars of the grid purge 10:05 and 10:10.
    assert as_lists(cv_bars.split(X, groups=times)) == [([0], [3, 4, 5])]


def test_embargo_never_removes_walk_forward_training_rows() -> None:
    X = make_panel(30, 2)
    base = as_lists(PurgedTimeSeriesSplit(3, horizon=2).split(X))
    assert as_lists(PurgedTimeSeriesSplit(3, horizon=2, embargo=5).split(X)) == base
    assert as_lists(PurgedTimeSeriesSplit(3, horizon=2, embargo="1h").split(X)) == base


def test_views_share_one_arange_on_sorted_input_and_do_not_touch_x() -> None:
    X = make_panel(20, 3)
    before = X.copy()
    folds = list(PurgedTimeSeriesSplit(3, horizon=1).split(X))
    pd.testing.assert_frame_equal(X, before)
    for train, test in folds:
        assert train.dtype == np.int64 and test.dtype == np.int64


def test_shuffled_panel_gives_same_folds_after_mapping() -> None:
    X = make_panel(25, 4)
    perm = np.random.default_rng(0).permutation(len(X))
    shuffled = X.iloc[perm]
    cv = PurgedTimeSeriesSplit(4, horizon=2, max_train_size=10)
    for (train, test), (s_train, s_test) in zip(cv.split(X), cv.split(shuffled)):
        assert np.array_equal(np.sort(perm[s_train]), train)
        assert np.array_equal(np.sort(perm[s_test]), test)
        assert np.all(np.diff(s_train) > 0)


def test_ragged_panel_keeps_whole_timestamps() -> None:
    X = make_panel(20, 3).drop(index="S1", level="symbol").iloc[5:]
    timestamps = X.index.get_level_values("timestamp")
    for train, test in PurgedTimeSeriesSplit(3, horizon=1).split(X):
        assert set(timestamps[train]).isdisjoint(timestamps[test])
        assert np.isin(timestamps, timestamps[test]).sum() == len(test)


def test_get_n_splits_without_data_equals_yielded() -> None:
    cv = PurgedTimeSeriesSplit(4, horizon=3)
    assert cv.get_n_splits() == 4 == len(list(cv.split(make_panel(30, 2))))


def test_params_clone_set_params_repr() -> None:
    cv = PurgedTimeSeriesSplit(3, horizon="15min", embargo=2, max_train_size=100, test_size=10)
    assert cv.get_params() == {
        "embargo": 2,
        "horizon": "15min",
        "max_train_size": 100,
        "n_splits": 3,
        "test_size": 10,
    }
    other = clone(cv).set_params(horizon=12)
    assert other.horizon == 12 and cv.horizon == "15min"
    assert clone(other).get_params() == other.get_params()
    assert repr(cv).startswith("PurgedTimeSeriesSplit(embargo=2, horizon='15min'")
    restored = pickle.loads(pickle.dumps(cv))  # shipped to joblib/dask workers
    assert restored.get_params() == cv.get_params()
    with pytest.raises(SplitError, match="no parameter 'horizn'"):
        cv.set_params(horizn=3)


def test_invalid_parameters_are_stored_and_rejected_in_split() -> None:
    cv = PurgedTimeSeriesSplit(n_splits=0)  # __init__ only stores
    assert cv.n_splits == 0
    with pytest.raises(SplitError, match="n_splits=0"):
        cv.split(make_panel())
    with pytest.raises(SplitError, match="n_splits"):
        cv.get_n_splits()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_splits": 2.5}, "n_splits=2.5"),
        ({"n_splits": True}, "n_splits=True"),
        ({"horizon": -1}, "horizon=-1 is negative"),
        ({"horizon": "-5min"}, "negative"),
        ({"horizon": "soon"}, "not a duration"),
        ({"horizon": 1.5}, "has type float"),
        ({"horizon": True}, "has type bool"),
        ({"horizon": np.timedelta64("NaT")}, "not a duration"),
        ({"horizon": pd.NaT}, "has type NaTType"),
        ({"embargo": None}, "embargo=None"),
        ({"max_train_size": 0}, "max_train_size=0"),
        ({"test_size": -2}, "test_size=-2"),
    ],
)
def test_invalid_parameter_messages(params: dict, match: str) -> None:
    with pytest.raises(SplitError, match=match):
        PurgedTimeSeriesSplit(**params).split(make_panel())


@pytest.mark.parametrize(
    ("cv", "X", "match"),
    [
        (PurgedTimeSeriesSplit(5), make_panel(5, 2), "too few"),
        (PurgedTimeSeriesSplit(3, test_size=4), make_panel(12, 2), "need more than 12"),
        (PurgedTimeSeriesSplit(3, horizon=40), make_panel(20, 2), "fold 1 of 3 has no training"),
        (PurgedTimeSeriesSplit(3, horizon="1D"), make_panel(20, 2), "no training data"),
        (PurgedTimeSeriesSplit(3, horizon="15min"), np.zeros((20, 1)), "bar numbers"),
        (PurgedTimeSeriesSplit(3), np.zeros((0, 1)), "no rows"),
    ],
)
def test_impossible_folds_raise_before_any_yield(cv, X, match: str) -> None:
    with pytest.raises(SplitError, match=match):
        cv.split(X)


def test_split_is_unaffected_by_y_and_gives_groups_precedence() -> None:
    X = make_panel(12, 2)
    groups = np.arange(24) // 4  # 6 timestamps of 4 rows each
    folds = as_lists(PurgedTimeSeriesSplit(2).split(X, np.ones(len(X)), groups))
    assert folds == [(list(range(8)), list(range(8, 16))), (list(range(16)), list(range(16, 24)))]
