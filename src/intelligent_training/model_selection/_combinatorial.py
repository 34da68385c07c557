"""Combinatorial purged cross-validation over the timestamps of a panel."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from intelligent_training.exceptions import SplitError
from intelligent_training.model_selection._grid import TimestampGrid
from intelligent_training.model_selection._params import (
    Offset,
    SplitterParams,
    as_count,
    as_offset,
)
from intelligent_training.model_selection._timestamps import _timestamp_keys

__all__ = ["CombinatorialPurgedSplit"]

logger = logging.getLogger(__name__)
_OWNER = "CombinatorialPurgedSplit"

Ranges = list[tuple[int, int]]


class CombinatorialPurgedSplit(SplitterParams, BaseCrossValidator):
    """Combinatorial purged cross-validation over whole timestamps.

    The distinct timestamps (the *grid*) are cut into ``n_folds`` consecutive folds of
    (nearly) equal size. Every choice of ``n_test_folds`` of them is one split: those
    folds are tested, the model trains on the others, so there are
    ``C(n_folds, n_test_folds)`` splits and every fold is tested
    ``C(n_folds - 1, n_test_folds - 1)`` times. All rows (symbols) of a timestamp are
    always on the same side.

    Training data lies before *and after* test blocks, so leakage is cut on both sides of
    every contiguous test block ``[first, last]``:

    * **Purge**: a training timestamp ``t`` is dropped when its label interval
      ``[t, t + horizon]`` touches the label interval ``[s, s + horizon]`` of any test
      timestamp ``s`` (closed intervals). Before a block this drops ``t`` with
      ``t + horizon >= first`` (as :class:`PurgedTimeSeriesSplit` does); after it,
      ``t <= last + horizon``.
    * **Embargo**: training timestamps in the ``embargo`` that follows the test labels,
      ``(last + horizon, last + horizon + embargo]``, are dropped too (features that
      carry the test period's information for a while, e.g. moving averages).

    ``horizon`` and ``embargo`` are counted in bars of the grid (an ``int``, or a string
    such as ``"3b"``) or as durations (a ``pd.Timedelta`` or a string such as
    ``"15min"``), measured on the timestamps themselves.

    The test predictions of the splits can be stitched into
    ``C(n_folds - 1, n_test_folds - 1)`` complete *backtest paths*, each covering every
    fold once (:meth:`get_paths`); a score computed per path shows how much it depends on
    the particular train/test assignment.

    Parameters
    ----------
    n_folds : int, default=6
        Number of consecutive folds, >= 2.
    n_test_folds : int, default=2
        Folds tested per split, in ``[1, n_folds - 1]``.
    horizon : int, str or Timedelta, default=0
        How far ahead a label looks. 0 purges nothing.
    embargo : int, str or Timedelta, default=0
        Extra exclusion after the labels of each test block.

    See Also
    --------
    PurgedTimeSeriesSplit : walk-forward folds (train always before test).
    get_timestamps : where the timestamps of ``split`` come from.

    Notes
    -----
    Timestamps come from ``groups``, else the ``timestamp`` index level of ``X``, else a
    ``DatetimeIndex``, else consecutive rows are consecutive bars. They are factorised
    once per call (``O(n)`` on timestamp-sorted rows, one hash factorisation otherwise);
    each split then costs ``O(n)``. Indices are positional and ascending in the original
    row order. The fold of timestamp code ``c`` is the one ``numpy.array_split`` gives:
    the first ``n_timestamps % n_folds`` folds hold one timestamp more.

    Combinatorial purged cross-validation is described by M. López de Prado, *Advances in
    Financial Machine Learning* (2018), ch. 12.

    Examples
    --------
    Two symbols, eight 5-minute timestamps, four folds of two timestamps, two tested per
    split, labels that look one bar ahead:

    >>> import pandas as pd
    >>> from intelligent_training.model_selection import CombinatorialPurgedSplit
    >>> index = pd.MultiIndex.from_product(
    ...     [pd.date_range("2024-01-01", periods=8, freq="5min"), ["AAA", "BBB"]],
    ...     names=["timestamp", "symbol"],
    ... )
    >>> X = pd.DataFrame({"f": range(16)}, index=index)
    >>> cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=2, horizon=1)
    >>> cv
    CombinatorialPurgedSplit(embargo=0, horizon=1, n_folds=4, n_test_folds=2)
    >>> cv.get_n_splits(), cv.get_n_paths()
    (6, 3)
    >>> for train, test in cv.split(X):
    ...     print("train:", train, "test:", test)
    train: [10 11 12 13 14 15] test: [0 1 2 3 4 5 6 7]
    train: [14 15] test: [ 0  1  2  3  8  9 10 11]
    train: [6 7 8 9] test: [ 0  1  2  3 12 13 14 15]
    train: [ 0  1 14 15] test: [ 4  5  6  7  8  9 10 11]
    train: [0 1] test: [ 4  5  6  7 12 13 14 15]
    train: [0 1 2 3 4 5] test: [ 8  9 10 11 12 13 14 15]
    >>> cv.get_test_folds()
    array([[0, 1],
           [0, 2],
           [0, 3],
           [1, 2],
           [1, 3],
           [2, 3]])
    >>> cv.get_paths()  # path p takes fold g's predictions from split paths[p, g]
    array([[0, 0, 1, 2],
           [1, 3, 3, 4],
           [2, 4, 5, 5]])
    """

    # Ask scikit-learn's metadata routing to pass ``groups`` to ``split``.
    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        n_folds: int = 6,
        n_test_folds: int = 2,
        *,
        horizon: int | str | pd.Timedelta = 0,
        embargo: int | str | pd.Timedelta = 0,
    ) -> None:
        self.n_folds = n_folds
        self.n_test_folds = n_test_folds
        self.horizon = horizon
        self.embargo = embargo

    # -- structure (no data needed) ---------------------------------------------------------
    def _counts(self) -> tuple[int, int]:
        n_folds = as_count(self.n_folds, "n_folds", _OWNER, allow_none=False, minimum=2)
        n_test = as_count(self.n_test_folds, "n_test_folds", _OWNER, allow_none=False)
        assert n_folds is not None and n_test is not None
        if n_test >= n_folds:
            raise SplitError(
                f"{_OWNER}: n_test_folds={n_test} must be smaller than n_folds={n_folds} "
                "(some folds must be left to train on)."
            )
        return n_folds, n_test

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of splits ``split`` yields, ``C(n_folds, n_test_folds)`` (data ignored).

        Returns
        -------
        n_splits : int
        """
        n_folds, n_test = self._counts()
        return math.comb(n_folds, n_test)

    def get_n_paths(self) -> int:
        """Number of backtest paths, ``C(n_folds - 1, n_test_folds - 1)``.

        Returns
        -------
        n_paths : int
        """
        n_folds, n_test = self._counts()
        return math.comb(n_folds - 1, n_test - 1)

    def get_test_folds(self) -> np.ndarray:
        """The folds each split tests, in the order ``split`` yields the splits.

        Returns
        -------
        test_folds : ndarray of shape (n_splits, n_test_folds)
            Row ``s`` lists the (ascending) folds tested by split ``s``; splits come in
            lexicographic order of these tuples.
        """
        n_folds, n_test = self._counts()
        combos = list(itertools.combinations(range(n_folds), n_test))
        return np.asarray(combos, dtype=np.int64).reshape(len(combos), n_test)

    def get_paths(self) -> np.ndarray:
        """Which split's test predictions make up each backtest path, fold by fold.

        Fold ``g`` is tested by ``n_paths`` splits; path ``p`` takes fold ``g`` from the
        ``p``-th of them (in split order). Every path thus covers every fold exactly once,
        and every (split, tested fold) pair belongs to exactly one path.

        Returns
        -------
        paths : ndarray of shape (n_paths, n_folds)
            ``paths[p, g]`` is the split whose predictions on fold ``g`` belong to path
            ``p``. Use :meth:`fold_ids` to find the rows of fold ``g`` in a split's test
            set.
        """
        test_folds = self.get_test_folds()
        n_folds = self._counts()[0]
        # For each fold, the splits that test it, in split order (one column per fold).
        tested = np.zeros((len(test_folds), n_folds), dtype=bool)
        np.put_along_axis(tested, test_folds, True, axis=1)
        split_of = [np.flatnonzero(tested[:, g]) for g in range(n_folds)]
        return np.column_stack(split_of).astype(np.int64)

    def fold_ids(self, X: Any, y: Any = None, groups: Any = None) -> np.ndarray:
        """The fold of every row of ``X`` (timestamps found as in :meth:`split`).

        Parameters
        ----------
        X, y, groups
            As in :meth:`split`.

        Returns
        -------
        fold_ids : ndarray of int64, shape (n_samples,)
            Fold index in ``[0, n_folds)`` of each row, in the original row order.
        """
        grid = TimestampGrid.from_keys(*_timestamp_keys(X, groups))
        bounds = self._bounds(grid.n_timestamps)
        fold_of_code = np.repeat(np.arange(len(bounds) - 1, dtype=np.int64), np.diff(bounds))
        return fold_of_code[grid.code_of_rows()]

    # -- splitting --------------------------------------------------------------------------
    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` positional row indices for each split.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data; its ``timestamp`` index level (or ``DatetimeIndex``) gives the
            timestamps when ``groups`` is not given.
        y : array-like, default=None
            Ignored.
        groups : array-like of shape (n_samples,), default=None
            Timestamp (or integer bar number) of each row.

        Yields
        ------
        train : ndarray of int64
            Training rows, ascending.
        test : ndarray of int64
            Test rows, ascending.

        Raises
        ------
        SplitError
            Before the first split, if a parameter is invalid or a split would have no
            training data.
        """
        grid = TimestampGrid.from_keys(*_timestamp_keys(X, groups))
        splits = self._splits(grid)
        arange = np.arange(grid.n_rows, dtype=np.int64) if grid.row_starts is not None else None
        return self._iter_rows(grid, splits, arange)

    @staticmethod
    def _iter_rows(
        grid: TimestampGrid, splits: list[tuple[Ranges, Ranges]], arange: np.ndarray | None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for train, test in splits:
            yield grid.rows_in_ranges(train, arange), grid.rows_in_ranges(test, arange)

    def _bounds(self, n_timestamps: int) -> np.ndarray:
        """Fold boundaries on the grid: fold ``g`` is codes ``[bounds[g], bounds[g+1])``."""
        n_folds, _ = self._counts()
        if n_timestamps < n_folds:
            raise SplitError(
                f"{_OWNER}: {n_timestamps} distinct timestamps are too few for "
                f"n_folds={n_folds}; need at least one per fold. Use fewer folds or more data."
            )
        sizes = np.full(n_folds, n_timestamps // n_folds, dtype=np.int64)
        sizes[: n_timestamps % n_folds] += 1
        return np.concatenate([[0], np.cumsum(sizes)])

    def _splits(self, grid: TimestampGrid) -> list[tuple[Ranges, Ranges]]:
        """Validate the parameters against ``grid``; every split's (train, test) code ranges."""
        horizon = as_offset(self.horizon, "horizon", _OWNER)
        embargo = as_offset(self.embargo, "embargo", _OWNER)
        values = grid.values
        if values.dtype.kind not in "Mm":
            for name, offset in (("horizon", horizon), ("embargo", embargo)):
                if isinstance(offset, np.timedelta64):
                    raise SplitError(
                        f"{_OWNER}: {name}={getattr(self, name)!r} is a duration but the "
                        "timestamps are bar numbers; give it in bars (an int) or pass datetime "
                        "timestamps."
                    )
        bounds = self._bounds(grid.n_timestamps)
        splits = []
        for s, folds in enumerate(self.get_test_folds()):
            test = _merge([(int(bounds[g]), int(bounds[g + 1])) for g in folds])
            excluded = _merge(
                [
                    (
                        _first_touching(values, lo, horizon),
                        _first_after_embargo(values, hi - 1, horizon, embargo),
                    )
                    for lo, hi in test
                ]
            )
            train = _complement(excluded, grid.n_timestamps)
            if not train:
                raise SplitError(
                    f"{_OWNER}: split {s + 1} (test folds {folds.tolist()}) has no training "
                    f"data: purging horizon={self.horizon!r} and embargo={self.embargo!r} "
                    "remove every other timestamp. Use a shorter horizon or embargo, fewer "
                    "test folds, or more data."
                )
            splits.append((train, test))
        logger.debug(
            "%s: %d rows, %d timestamps, %d splits (horizon=%r, embargo=%r)",
            _OWNER,
            grid.n_rows,
            grid.n_timestamps,
            len(splits),
            self.horizon,
            self.embargo,
        )
        return splits


def _first_touching(values: np.ndarray, first: int, horizon: Offset) -> int:
    """Smallest code ``t`` whose label interval ``[t, t + horizon]`` reaches code ``first``."""
    if isinstance(horizon, np.timedelta64):
        return int(np.searchsorted(values, values[first] - horizon, side="left"))
    return max(first - horizon, 0)


def _first_after_embargo(values: np.ndarray, last: int, horizon: Offset, embargo: Offset) -> int:
    """First code after ``last`` outside ``(last, last + horizon + embargo]``.

    Each offset moves in its own unit: bars along the grid (past its end if need be),
    durations in time. A bar offset applied to a time point starts from the last grid
    timestamp at or before it.
    """
    n = len(values)
    code: int | None = last  # position as a grid code, or None when it is a time point
    time: Any = None
    for offset in (horizon, embargo):
        if isinstance(offset, np.timedelta64):
            if code is not None:
                if code >= n:
                    return n
                time = values[code]
            time = time + offset
            code = None
        else:
            if code is None:
                code = int(np.searchsorted(values, time, side="right")) - 1
            code += offset
    if code is None:
        return int(np.searchsorted(values, time, side="right"))
    return min(code + 1, n)


def _merge(ranges: Ranges) -> Ranges:
    """Union of half-open ranges as sorted, disjoint, non-adjacent ranges."""
    merged: Ranges = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _complement(ranges: Ranges, n: int) -> Ranges:
    """The parts of ``[0, n)`` outside sorted disjoint ``ranges``, empty parts dropped."""
    out: Ranges = []
    start = 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo))
        start = max(start, hi)
    if start < n:
        out.append((start, n))
    return out
