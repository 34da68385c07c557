"""Unit tests of CombinatorialPurgedSplit: worked examples, paths, parameters, errors, sklearn."""

from __future__ import annotations

import doctest
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

from intelligent_training.exceptions import SplitError
from intelligent_training.model_selection import (
    CombinatorialPurgedSplit,
    PurgedTimeSeriesSplit,
    _combinatorial,
)


def make_panel(n_timestamps: int = 12, n_symbols: int = 2, freq: str = "5min") -> pd.DataFrame:
    index = pd.MultiIndex.from_product(
        [
            pd.date_range("2024-01-01", periods=n_timestamps, freq=freq),
            [f"S{i}" for i in range(n_symbols)],
        ],
        names=["timestamp", "symbol"],
    )
    return pd.DataFrame({"f": np.arange(len(index), dtype=np.float32)}, index=index)


def timestamps_of(rows: np.ndarray, n_symbols: int) -> list[int]:
    return sorted(set((rows // n_symbols).tolist()))


def test_docstring_examples() -> None:
    result = doctest.testmod(_combinatorial, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_worked_example_purge_and_embargo_on_both_sides() -> None:
    # 12 timestamps, 4 folds of 3: {0,1,2} {3,4,5} {6,7,8} {9,10,11}. Split 3 tests folds
    # (1, 2): the block t3..t8. horizon=1 purges t2 before and t9 after; embargo=1 also t10.
    X = make_panel(12, 2)
    cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=2, horizon=1, embargo=1)
    splits = list(cv.split(X))
    assert cv.get_test_folds()[3].tolist() == [1, 2]
    train, test = splits[3]
    assert timestamps_of(test, 2) == list(range(3, 9))
    assert timestamps_of(train, 2) == [0, 1, 11]
    # Two separate test blocks (folds 0 and 2). After fold 0 the test labels end at t3:
    # t3 is purged, t4 embargoed; t5 is purged before fold 2; after it t9 is purged and t10
    # embargoed.
    train, test = splits[1]
    assert timestamps_of(test, 2) == [0, 1, 2, 6, 7, 8]
    assert timestamps_of(train, 2) == [11]


def test_durations_equal_bars_on_a_regular_grid() -> None:
    X = make_panel(30, 3)
    by_bars = list(CombinatorialPurgedSplit(5, 2, horizon=2, embargo=1).split(X))
    by_time = list(CombinatorialPurgedSplit(5, 2, horizon="10min", embargo="5min").split(X))
    mixed = list(CombinatorialPurgedSplit(5, 2, horizon="2b", embargo="5min").split(X))
    for a, b, c in zip(by_bars, by_time, mixed):
        for x, y, z in zip(a, b, c):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)


def test_across_a_gap_durations_purge_less_than_bars() -> None:
    # Two sessions of 10 bars separated by a day: 3 bars reach into the next session,
    # 15 minutes do not.
    ts = pd.DatetimeIndex(
        list(pd.date_range("2024-01-01 09:00", periods=10, freq="5min"))
        + list(pd.date_range("2024-01-02 09:00", periods=10, freq="5min"))
    )
    X = pd.DataFrame({"f": range(20)}, index=ts)
    bars = list(CombinatorialPurgedSplit(2, 1, horizon=3).split(X))
    time = list(CombinatorialPurgedSplit(2, 1, horizon="15min").split(X))
    # Split 0 tests the first session; training starts after the test labels end.
    assert bars[0][0].tolist() == list(range(13, 20))
    assert time[0][0].tolist() == list(range(10, 20))
    # Split 1 tests the second session; training ends where its labels would reach it.
    assert bars[1][0].tolist() == list(range(0, 7))
    assert time[1][0].tolist() == list(range(0, 10))


def test_one_test_fold_without_purge_is_plain_kfold_over_timestamps() -> None:
    X = make_panel(10, 3)
    cv = CombinatorialPurgedSplit(n_folds=5, n_test_folds=1)
    assert cv.get_n_splits() == 5 and cv.get_n_paths() == 1
    for g, (train, test) in enumerate(cv.split(X)):
        assert timestamps_of(test, 3) == [2 * g, 2 * g + 1]
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(30))
    np.testing.assert_array_equal(cv.get_paths(), [[0, 1, 2, 3, 4]])


def test_uneven_folds_follow_array_split() -> None:
    X = make_panel(11, 1)
    cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=1)
    expected = [f.tolist() for f in np.array_split(np.arange(11), 4)]
    assert [test.tolist() for _, test in cv.split(X)] == expected
    np.testing.assert_array_equal(cv.fold_ids(X), np.repeat(np.arange(4), [3, 3, 3, 2]))


@pytest.mark.parametrize(("n_folds", "n_test_folds"), [(6, 2), (5, 3), (4, 1), (7, 6), (2, 1)])
def test_paths_cover_every_fold_once_and_every_split_fold_pair_once(
    n_folds: int, n_test_folds: int
) -> None:
    cv = CombinatorialPurgedSplit(n_folds, n_test_folds)
    test_folds = cv.get_test_folds()
    paths = cv.get_paths()
    assert test_folds.shape == (math.comb(n_folds, n_test_folds), n_test_folds)
    assert paths.shape == (math.comb(n_folds - 1, n_test_folds - 1), n_folds)
    assert cv.get_n_paths() == len(paths)
    pairs = set()
    for p in range(len(paths)):
        for g in range(n_folds):
            split = paths[p, g]
            assert g in test_folds[split]  # the split really tests fold g
            pairs.add((int(split), g))
    # Every (split, tested fold) pair belongs to exactly one path.
    assert pairs == {(s, int(g)) for s in range(len(test_folds)) for g in test_folds[s]}
    assert len(pairs) == paths.size
    # Within a fold, paths use its splits in split order.
    assert (np.diff(paths, axis=0) > 0).all()


def test_path_predictions_can_be_stitched_from_fold_ids() -> None:
    """How the ranker assembles a path: every row predicted exactly once per path."""
    X = make_panel(24, 3)
    cv = CombinatorialPurgedSplit(6, 2, horizon=1)
    folds = cv.fold_ids(X)
    tests = [test for _, test in cv.split(X)]
    for path in cv.get_paths():
        rows = np.concatenate([tests[s][folds[tests[s]] == g] for g, s in enumerate(path)])
        assert sorted(rows.tolist()) == list(range(len(X)))


def test_sklearn_protocol_clone_repr_pickle() -> None:
    cv = CombinatorialPurgedSplit(5, 2, horizon="15min", embargo=2)
    assert cv.get_params() == {"embargo": 2, "horizon": "15min", "n_folds": 5, "n_test_folds": 2}
    other = clone(cv).set_params(horizon=12)
    assert other.horizon == 12 and cv.horizon == "15min"
    assert " ".join(repr(cv).split()) == (
        "CombinatorialPurgedSplit(embargo=2, horizon='15min', n_folds=5, n_test_folds=2)"
    )
    restored = pickle.loads(pickle.dumps(cv))
    assert restored.get_params() == cv.get_params()
    with pytest.raises(SplitError, match="CombinatorialPurgedSplit has no parameter 'horizn'"):
        cv.set_params(horizn=3)


def test_cross_val_score_with_groups_matches_index_timestamps() -> None:
    rng = np.random.default_rng(1)
    X = make_panel(60, 3)
    X["g"] = rng.normal(size=len(X))
    y = 2.0 * X["g"].to_numpy() + 0.1 * rng.normal(size=len(X))
    cv = CombinatorialPurgedSplit(5, 2, horizon=2)
    groups = X.index.get_level_values("timestamp")
    by_groups = cross_val_score(Ridge(), X.to_numpy(), y, cv=cv, groups=groups)
    by_index = cross_val_score(Ridge(), X, y, cv=cv)
    assert len(by_groups) == 10
    np.testing.assert_allclose(by_groups, by_index)
    assert by_groups.min() > 0.9


def test_same_test_rows_as_walk_forward_block_when_testing_the_last_fold() -> None:
    # The split that tests only the last fold trains before it exactly like walk-forward.
    X = make_panel(20, 2)
    cv = CombinatorialPurgedSplit(4, 1, horizon=2)
    train, test = list(cv.split(X))[-1]
    wf_train, wf_test = next(iter(PurgedTimeSeriesSplit(1, horizon=2, test_size=5).split(X)))
    np.testing.assert_array_equal(test, wf_test)
    np.testing.assert_array_equal(train, wf_train)


def test_invalid_parameters_are_stored_and_rejected_in_split() -> None:
    cv = CombinatorialPurgedSplit(n_folds=1)  # __init__ only stores
    assert cv.n_folds == 1
    with pytest.raises(SplitError, match="n_folds=1"):
        cv.split(make_panel())
    with pytest.raises(SplitError, match="n_folds"):
        cv.get_n_splits()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_folds": 2.5}, "n_folds=2.5"),
        ({"n_folds": True}, "n_folds=True"),
        ({"n_test_folds": 0}, "n_test_folds=0"),
        ({"n_folds": 4, "n_test_folds": 4}, "must be smaller than n_folds=4"),
        ({"horizon": -1}, "CombinatorialPurgedSplit: horizon=-1 is negative"),
        ({"horizon": "soon"}, "not a duration"),
        ({"embargo": 1.5}, "embargo=1.5 has type float"),
        ({"embargo": None}, "embargo=None"),
    ],
)
def test_invalid_parameter_messages(params: dict, match: str) -> None:
    with pytest.raises(SplitError, match=match):
        CombinatorialPurgedSplit(**params).split(make_panel())


@pytest.mark.parametrize(
    ("cv", "X", "match"),
    [
        (CombinatorialPurgedSplit(6), make_panel(5, 2), "too few for n_folds=6"),
        (
            CombinatorialPurgedSplit(3, 2, horizon=8),
            make_panel(12, 2),
            r"split 1 \(test folds \[0, 1\]\)",
        ),
        (CombinatorialPurgedSplit(3, 1, horizon="1D"), make_panel(12, 2), "no training data"),
        (CombinatorialPurgedSplit(3, embargo="15min"), np.zeros((20, 1)), "bar numbers"),
        (CombinatorialPurgedSplit(3), np.zeros((0, 1)), "no rows"),
    ],
)
def test_impossible_splits_raise_before_any_yield(cv, X, match: str) -> None:
    with pytest.raises(SplitError, match=match):
        cv.split(X)


def test_index_arrays_are_int64_ascending_and_sorted_input_gives_views() -> None:
    X = make_panel(18, 2)
    for train, test in CombinatorialPurgedSplit(3, 1).split(X):
        assert train.dtype == np.int64 and test.dtype == np.int64
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    # A single contiguous test block is a view into one arange, like PurgedTimeSeriesSplit.
    _, test = next(iter(CombinatorialPurgedSplit(3, 1).split(X)))
    assert test.base is not None
