"""Property tests: PurgedTimeSeriesSplit against a brute-force oracle on random panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligent_training.exceptions import SplitError
from intelligent_training.model_selection import PurgedTimeSeriesSplit

BAR = pd.Timedelta("5min")
START = np.datetime64("2024-01-01T00:00", "ns")


@st.composite
def panels(draw: st.DrawFn, *, datetimes: bool) -> np.ndarray:
    """One timestamp per row: an irregular grid, 1-3 symbols per timestamp, sorted rows."""
    n_timestamps = draw(st.integers(1, 30))
    gaps = draw(st.lists(st.integers(1, 3), min_size=n_timestamps, max_size=n_timestamps))
    counts = draw(st.lists(st.integers(1, 3), min_size=n_timestamps, max_size=n_timestamps))
    grid = np.cumsum(gaps)
    if datetimes:
        grid = START + grid * BAR.to_timedelta64()
    return np.repeat(grid, counts)


@st.composite
def splitters(draw: st.DrawFn, *, durations: bool) -> PurgedTimeSeriesSplit:
    def offset(high: int) -> int | pd.Timedelta:
        bars = draw(st.integers(0, high))
        if durations and draw(st.booleans()):
            # Durations need not be a whole number of bars.
            return bars * BAR + draw(st.sampled_from([pd.Timedelta(0), pd.Timedelta("2min")]))
        return bars

    return PurgedTimeSeriesSplit(
        n_splits=draw(st.integers(1, 4)),
        horizon=offset(6),
        embargo=offset(3),
        max_train_size=draw(st.none() | st.integers(1, 10)),
        test_size=draw(st.none() | st.integers(1, 8)),
    )


def oracle(cv: PurgedTimeSeriesSplit, timestamps: np.ndarray) -> list[tuple[set, set]] | None:
    """Folds by definition, one timestamp at a time; ``None`` when a fold would be empty."""
    grid = np.unique(timestamps)
    n = len(grid)
    test_size = cv.test_size or n // (cv.n_splits + 1)
    first = n - cv.n_splits * test_size
    if test_size < 1 or first < 1:
        return None

    def reach(code: int, offset: int | pd.Timedelta) -> object:
        """End of the interval of length ``offset`` starting at grid point ``code``."""
        if isinstance(offset, pd.Timedelta):
            return grid[code] + offset.to_timedelta64()
        return code + offset

    def key(code: int, offset: int | pd.Timedelta) -> object:
        return grid[code] if isinstance(offset, pd.Timedelta) else code

    folds = []
    for k in range(cv.n_splits):
        a, b = first + k * test_size, first + (k + 1) * test_size - 1
        kept = []
        for t in range(a):  # walk-forward: candidates precede the test block
            purged = reach(t, cv.horizon) >= key(a, cv.horizon) and key(t, cv.horizon) <= key(
                b, cv.horizon
            )
            embargoed = key(b, cv.embargo) < key(t, cv.embargo) <= reach(b, cv.embargo)
            if not (purged or embargoed):
                kept.append(t)
        if cv.max_train_size is not None:
            kept = kept[-cv.max_train_size :]
        if not kept:
            return None
        train = set(np.flatnonzero(np.isin(timestamps, grid[kept])))
        test = set(np.flatnonzero(np.isin(timestamps, grid[a : b + 1])))
        folds.append((train, test))
    return folds


def check_against_oracle(cv: PurgedTimeSeriesSplit, timestamps: np.ndarray) -> None:
    X = np.zeros((len(timestamps), 1))
    expected = oracle(cv, timestamps)
    if expected is None:
        with pytest.raises(SplitError):
            cv.split(X, groups=timestamps)
        return
    folds = list(cv.split(X, groups=timestamps))
    assert len(folds) == cv.get_n_splits() == len(expected)
    for (train, test), (exp_train, exp_test) in zip(folds, expected):
        assert train.dtype == np.int64 and test.dtype == np.int64
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
        # Exactly the purged/embargoed timestamps are dropped: nothing more, nothing less.
        assert set(train) == exp_train
        assert set(test) == exp_test


@settings(max_examples=50, deadline=None)
@given(timestamps=panels(datetimes=False), cv=splitters(durations=False))
def test_bar_folds_match_oracle(timestamps: np.ndarray, cv: PurgedTimeSeriesSplit) -> None:
    check_against_oracle(cv, timestamps)


@settings(max_examples=50, deadline=None)
@given(timestamps=panels(datetimes=True), cv=splitters(durations=True))
def test_time_folds_match_oracle(timestamps: np.ndarray, cv: PurgedTimeSeriesSplit) -> None:
    check_against_oracle(cv, timestamps)


@settings(max_examples=50, deadline=None)
@given(timestamps=panels(datetimes=True), cv=splitters(durations=True), data=st.data())
def test_invariants_and_unsorted_input(
    timestamps: np.ndarray, cv: PurgedTimeSeriesSplit, data: st.DataObject
) -> None:
    X = np.zeros((len(timestamps), 1))
    params = cv.get_params()
    try:
        folds = list(cv.split(X, groups=timestamps))
    except SplitError:
        return
    assert cv.get_params() == params  # split never changes the parameters
    assert len(folds) == cv.get_n_splits()
    horizon = cv.horizon if isinstance(cv.horizon, pd.Timedelta) else None
    grid = np.unique(timestamps)
    codes = np.searchsorted(grid, timestamps)
    for train, test in folds:
        assert len(train) and len(test)
        assert not np.intersect1d(train, test).size  # disjoint
        # Whole timestamps: a timestamp's rows are all in a set or all outside it.
        for rows in (train, test):
            assert np.isin(timestamps, timestamps[rows]).sum() == len(rows)
        # Walk-forward, and no training label interval [t, t + horizon] touches the test span.
        assert timestamps[train].max() < timestamps[test].min()
        if horizon is None:
            assert codes[train].max() + cv.horizon < codes[test].min()
        else:
            assert timestamps[train].max() + horizon.to_timedelta64() < timestamps[test].min()
    # Deterministic.
    again = list(cv.split(X, groups=timestamps))
    assert all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(folds, again)
    )
    # Unsorted input: same folds after mapping the permuted rows back.
    perm = np.array(data.draw(st.permutations(range(len(timestamps)))), dtype=np.int64)
    shuffled = list(cv.split(X[perm], groups=timestamps[perm]))
    assert len(shuffled) == len(folds)
    for (train, test), (s_train, s_test) in zip(folds, shuffled):
        assert np.all(np.diff(s_train) > 0) and np.all(np.diff(s_test) > 0)
        assert np.array_equal(np.sort(perm[s_train]), train)
        assert np.array_equal(np.sort(perm[s_test]), test)
