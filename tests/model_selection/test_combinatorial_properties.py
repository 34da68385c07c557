"""Property tests: CombinatorialPurgedSplit against a brute-force oracle on random panels.

The oracle works timestamp pair by timestamp pair (training ``t`` against every test ``s``),
the splitter works on merged blocks of codes with ``searchsorted``: two different routes to
the same definition.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligent_training.exceptions import SplitError
from intelligent_training.model_selection import CombinatorialPurgedSplit

BAR = pd.Timedelta("5min")
START = np.datetime64("2024-01-01T00:00", "ns")


@st.composite
def panels(draw: st.DrawFn, *, datetimes: bool) -> np.ndarray:
    """One timestamp per row: an irregular grid, 1-3 symbols per timestamp, sorted rows."""
    n_timestamps = draw(st.integers(1, 24))
    gaps = draw(st.lists(st.integers(1, 3), min_size=n_timestamps, max_size=n_timestamps))
    counts = draw(st.lists(st.integers(1, 3), min_size=n_timestamps, max_size=n_timestamps))
    grid = np.cumsum(gaps)
    if datetimes:
        grid = START + grid * BAR.to_timedelta64()
    return np.repeat(grid, counts)


@st.composite
def splitters(draw: st.DrawFn, *, durations: bool) -> CombinatorialPurgedSplit:
    def offset(high: int) -> int | pd.Timedelta:
        bars = draw(st.integers(0, high))
        if durations and draw(st.booleans()):
            # Durations need not be a whole number of bars.
            return bars * BAR + draw(st.sampled_from([pd.Timedelta(0), pd.Timedelta("2min")]))
        return bars

    n_folds = draw(st.integers(2, 6))
    return CombinatorialPurgedSplit(
        n_folds=n_folds,
        n_test_folds=draw(st.integers(1, n_folds - 1)),
        horizon=offset(3),
        embargo=offset(3),
    )


def _reach(grid: np.ndarray, position: tuple[str, object], offset) -> tuple[str, object]:
    """Move ``position`` (``("code", c)`` or ``("time", t)``) by ``offset`` in its own unit."""
    kind, where = position
    if isinstance(offset, pd.Timedelta):
        if kind == "code":
            if where >= len(grid):  # beyond the data: nothing after it can be reached
                return ("time", np.datetime64("2262-01-01", "ns"))
            where = grid[where]
        return ("time", where + offset.to_timedelta64())
    if kind == "time":
        where = int(np.flatnonzero(grid <= where).max())
    return ("code", where + offset)


def _at_or_before(grid: np.ndarray, t: int, position: tuple[str, object]) -> bool:
    kind, where = position
    return t <= where if kind == "code" else grid[t] <= where


def oracle(cv: CombinatorialPurgedSplit, timestamps: np.ndarray) -> list[tuple[set, set]] | None:
    """Splits by definition, pair by pair; ``None`` when a split would be empty."""
    grid = np.unique(timestamps)
    n = len(grid)
    if n < cv.n_folds:
        return None
    folds = np.array_split(np.arange(n), cv.n_folds)
    h, e = cv.horizon, cv.embargo

    def label_end(code: int) -> tuple[str, object]:
        return _reach(grid, ("code", code), h)

    splits = []
    for combo in itertools.combinations(range(cv.n_folds), cv.n_test_folds):
        test = sorted(int(c) for g in combo for c in folds[g])
        kept = []
        for t in range(n):
            if t in test:
                continue
            dropped = False
            for s in test:
                # Purge: the label intervals [t, t+h] and [s, s+h] touch (closed).
                if t < s and _at_or_before(grid, s, label_end(t)):
                    dropped = True
                if t > s and _at_or_before(grid, t, label_end(s)):
                    dropped = True
                # Embargo: t within `embargo` after the end of s's label.
                if t > s and _at_or_before(grid, t, _reach(grid, label_end(s), e)):
                    dropped = True
            if not dropped:
                kept.append(t)
        if not kept:
            return None
        train = set(np.flatnonzero(np.isin(timestamps, grid[kept])))
        tested = set(np.flatnonzero(np.isin(timestamps, grid[test])))
        splits.append((train, tested))
    return splits


def check_against_oracle(cv: CombinatorialPurgedSplit, timestamps: np.ndarray) -> None:
    X = np.zeros((len(timestamps), 1))
    expected = oracle(cv, timestamps)
    if expected is None:
        with pytest.raises(SplitError):
            cv.split(X, groups=timestamps)
        return
    splits = list(cv.split(X, groups=timestamps))
    assert len(splits) == cv.get_n_splits() == len(expected)
    for (train, test), (exp_train, exp_test) in zip(splits, expected):
        assert train.dtype == np.int64 and test.dtype == np.int64
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
        # Exactly the purged/embargoed timestamps are dropped: the training set is maximal.
        assert set(train) == exp_train
        assert set(test) == exp_test


@settings(max_examples=60, deadline=None)
@given(timestamps=panels(datetimes=False), cv=splitters(durations=False))
def test_bar_splits_match_oracle(timestamps: np.ndarray, cv: CombinatorialPurgedSplit) -> None:
    check_against_oracle(cv, timestamps)


@settings(max_examples=60, deadline=None)
@given(timestamps=panels(datetimes=True), cv=splitters(durations=True))
def test_time_splits_match_oracle(timestamps: np.ndarray, cv: CombinatorialPurgedSplit) -> None:
    check_against_oracle(cv, timestamps)


@settings(max_examples=60, deadline=None)
@given(timestamps=panels(datetimes=True), cv=splitters(durations=True), data=st.data())
def test_invariants_and_unsorted_input(
    timestamps: np.ndarray, cv: CombinatorialPurgedSplit, data: st.DataObject
) -> None:
    X = np.zeros((len(timestamps), 1))
    params = cv.get_params()
    try:
        splits = list(cv.split(X, groups=timestamps))
    except SplitError:
        return
    assert cv.get_params() == params  # split never changes the parameters
    assert len(splits) == cv.get_n_splits() == math.comb(cv.n_folds, cv.n_test_folds)
    grid = np.unique(timestamps)
    codes = np.searchsorted(grid, timestamps)
    h = cv.horizon
    times_tested = np.zeros(len(grid), dtype=int)
    for train, test in splits:
        assert len(train) and len(test)
        assert not np.intersect1d(train, test).size  # disjoint
        # Whole timestamps: a timestamp's rows are all in a set or all outside it.
        for rows in (train, test):
            assert np.isin(timestamps, timestamps[rows]).sum() == len(rows)
        times_tested[np.unique(codes[test])] += 1
        # No training label interval [t, t + h] touches a test label interval [s, s + h].
        t = np.unique(codes[train])[:, None]
        s = np.unique(codes[test])[None, :]
        if isinstance(h, pd.Timedelta):
            gap = np.abs(grid[t] - grid[s])
            assert (gap > h.to_timedelta64()).all()
        else:
            assert (np.abs(t - s) > h).all()
    # Every timestamp is tested C(n_folds - 1, n_test_folds - 1) times.
    assert (times_tested == cv.get_n_paths()).all()
    # Deterministic.
    again = list(cv.split(X, groups=timestamps))
    assert all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(splits, again)
    )
    # Unsorted input: same splits after mapping the permuted rows back.
    perm = np.array(data.draw(st.permutations(range(len(timestamps)))), dtype=np.int64)
    shuffled = list(cv.split(X[perm], groups=timestamps[perm]))
    assert len(shuffled) == len(splits)
    for (train, test), (s_train, s_test) in zip(splits, shuffled):
        assert np.all(np.diff(s_train) > 0) and np.all(np.diff(s_test) > 0)
        assert np.array_equal(np.sort(perm[s_train]), train)
        assert np.array_equal(np.sort(perm[s_test]), test)
    np.testing.assert_array_equal(
        cv.fold_ids(X[perm], groups=timestamps[perm]), cv.fold_ids(X, groups=timestamps)[perm]
    )


@settings(max_examples=60, deadline=None)
@given(
    timestamps=panels(datetimes=False),
    cv=splitters(durations=False),
    embargo=st.integers(1, 4),
)
def test_embargo_removes_training_rows_after_a_test_block(
    timestamps: np.ndarray, cv: CombinatorialPurgedSplit, embargo: int
) -> None:
    """With bars: the embargo drops exactly the timestamps (last + h, last + h + embargo]."""
    X = np.zeros((len(timestamps), 1))
    cv.set_params(embargo=0)
    try:
        without = list(cv.split(X, groups=timestamps))
        with_embargo = list(cv.set_params(embargo=embargo).split(X, groups=timestamps))
    except SplitError:
        return
    grid = np.unique(timestamps)
    codes = np.searchsorted(grid, timestamps)
    h = cv.horizon
    for (train0, test), (train1, test1) in zip(without, with_embargo):
        assert np.array_equal(test, test1)
        tested = np.zeros(len(grid) + 1, dtype=bool)
        tested[np.unique(codes[test])] = True
        ends = np.flatnonzero(tested[:-1] & ~tested[1:])  # last code of each test block
        removed = set(np.unique(codes[np.setdiff1d(train0, train1)]).tolist())
        assert set(np.unique(codes[train1])) <= set(np.unique(codes[train0]))
        expected = {
            int(c)
            for last in ends
            for c in range(last + h + 1, last + h + embargo + 1)
            if c < len(grid) and c in set(codes[train0].tolist())
        }
        assert removed == expected
