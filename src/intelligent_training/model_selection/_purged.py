"""Purged walk-forward cross-validation over the timestamps of a panel."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from intelligent_training.exceptions import SplitError
from intelligent_training.model_selection._grid import TimestampGrid
from intelligent_training.model_selection._params import SplitterParams, as_count, as_offset
from intelligent_training.model_selection._timestamps import _timestamp_keys

__all__ = ["PurgedTimeSeriesSplit"]

logger = logging.getLogger(__name__)
_OWNER = "PurgedTimeSeriesSplit"


@dataclass(frozen=True)
class _Fold:
    """One fold as half-open ranges of timestamp codes."""

    train: tuple[int, int]
    test: tuple[int, int]


class PurgedTimeSeriesSplit(SplitterParams, BaseCrossValidator):
    """Walk-forward cross-validation over whole timestamps, purged of overlapping labels.

    The distinct timestamps (the *grid*) are cut into ``n_splits`` consecutive test
    blocks of ``test_size`` timestamps at the end of the data; each fold trains on the
    timestamps before its test block (expanding window, or the latest
    ``max_train_size`` eligible timestamps). All rows (symbols) of a timestamp are always
    on the same side.

    **Purge**: a training timestamp ``t`` is dropped whenever its label interval
    ``[t, t + horizon]`` touches the test span ``[first, last]`` test timestamp (closed
    intervals). **Embargo**: training timestamps in ``(last + horizon, last + horizon +
    embargo]`` after a test block are dropped too; as walk-forward training always precedes
    its test block, the embargo only removes rows from training sets that follow a test
    block (:class:`CombinatorialPurgedSplit`), which this splitter never builds, so it never
    changes the folds here (it is accepted so one configuration serves every splitter).

    ``horizon`` and ``embargo`` are counted in bars of the grid (an ``int``, or a string
    such as ``"3b"``) or as durations (a ``pd.Timedelta`` or a string such as
    ``"15min"``), measured on the timestamps themselves.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (test blocks), >= 1.
    horizon : int, str or Timedelta, default=0
        How far ahead a label looks. 0 drops nothing.
    embargo : int, str or Timedelta, default=0
        Extra exclusion after each test block.
    max_train_size : int or None, default=None
        Most training timestamps per fold (rolling window); ``None`` expands.
    test_size : int or None, default=None
        Timestamps per test block; ``None`` means ``n_timestamps // (n_splits + 1)``.

    See Also
    --------
    get_timestamps : where the timestamps of ``split`` come from.
    sklearn.model_selection.TimeSeriesSplit : the row-based walk-forward split.

    Notes
    -----
    Timestamps come from ``groups``, else the ``timestamp`` index level of ``X``, else a
    ``DatetimeIndex``, else consecutive rows are consecutive bars. Timestamps are
    factorised once: on timestamp-sorted rows in ``O(n)`` without sorting, and the index
    arrays are slices of one ``arange`` (views that share memory, as in scikit-learn's
    ``TimeSeriesSplit``); unsorted rows cost one hash factorisation (``O(n)`` plus
    sorting the distinct timestamps) and one ``O(n)`` mask per fold. Indices are
    positional and ascending in the original row order.

    Examples
    --------
    Two symbols, six 5-minute timestamps, labels that look one bar ahead:

    >>> import pandas as pd
    >>> from intelligent_training.model_selection import PurgedTimeSeriesSplit
    >>> index = pd.MultiIndex.from_product(
    ...     [pd.date_range("2024-01-01", periods=6, freq="5min"), ["AAA", "BBB"]],
    ...     names=["timestamp", "symbol"],
    ... )
    >>> X = pd.DataFrame({"f": range(12)}, index=index)
    >>> cv = PurgedTimeSeriesSplit(n_splits=2, horizon=1)
    >>> cv
    PurgedTimeSeriesSplit(embargo=0, horizon=1, max_train_size=None, n_splits=2,
               test_size=None)
    >>> for train, test in cv.split(X):
    ...     print("train:", train, "test:", test)
    train: [0 1] test: [4 5 6 7]
    train: [0 1 2 3 4 5] test: [ 8  9 10 11]
    >>> PurgedTimeSeriesSplit(n_splits=2, horizon="5min").get_n_splits()
    2
    """

    # Ask scikit-learn's metadata routing to pass ``groups`` to ``split``.
    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        n_splits: int = 5,
        *,
        horizon: int | str | pd.Timedelta = 0,
        embargo: int | str | pd.Timedelta = 0,
        max_train_size: int | None = None,
        test_size: int | None = None,
    ) -> None:
        self.n_splits = n_splits
        self.horizon = horizon
        self.embargo = embargo
        self.max_train_size = max_train_size
        self.test_size = test_size

    # -- splitting --------------------------------------------------------------------------
    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds ``split`` yields (``X``, ``y`` and ``groups`` are ignored).

        Returns
        -------
        n_splits : int
        """
        n_splits = as_count(self.n_splits, "n_splits", _OWNER, allow_none=False)
        assert n_splits is not None
        return n_splits

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` positional row indices for each fold, oldest test first.

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
            Before the first fold, if a parameter is invalid or a fold would be empty.
        """
        grid = TimestampGrid.from_keys(*_timestamp_keys(X, groups))
        folds = self._folds(grid)
        arange = np.arange(grid.n_rows, dtype=np.int64) if grid.row_starts is not None else None
        return self._iter_rows(grid, folds, arange)

    @staticmethod
    def _iter_rows(
        grid: TimestampGrid, folds: list[_Fold], arange: np.ndarray | None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for fold in folds:
            yield grid.rows(*fold.train, arange=arange), grid.rows(*fold.test, arange=arange)

    def _folds(self, grid: TimestampGrid) -> list[_Fold]:
        """Validate the parameters against ``grid`` and return every fold's code ranges."""
        n_splits = self.get_n_splits()
        horizon = as_offset(self.horizon, "horizon", _OWNER)
        embargo = as_offset(self.embargo, "embargo", _OWNER)
        max_train_size = as_count(self.max_train_size, "max_train_size", _OWNER, allow_none=True)
        test_size = as_count(self.test_size, "test_size", _OWNER, allow_none=True)
        values = grid.values
        n_timestamps = grid.n_timestamps
        is_time = values.dtype.kind in "Mm"
        for name, offset in (("horizon", horizon), ("embargo", embargo)):
            if isinstance(offset, np.timedelta64) and not is_time:
                raise SplitError(
                    f"PurgedTimeSeriesSplit: {name}={getattr(self, name)!r} is a duration but the "
                    "timestamps are bar numbers; give it in bars (an int) or pass datetime "
                    "timestamps."
                )
        if test_size is None:
            test_size = n_timestamps // (n_splits + 1)
            if test_size < 1:
                raise SplitError(
                    f"PurgedTimeSeriesSplit: {n_timestamps} distinct timestamps are too few for "
                    f"n_splits={n_splits}; need at least {n_splits + 1}. Use fewer splits or "
                    "more data."
                )
        first_test = n_timestamps - n_splits * test_size
        if first_test < 1:
            raise SplitError(
                f"PurgedTimeSeriesSplit: n_splits={n_splits} test blocks of test_size="
                f"{test_size} timestamps need more than {n_splits * test_size} distinct "
                f"timestamps, the data has {n_timestamps}. Lower n_splits or test_size."
            )
        folds = []
        for k in range(n_splits):
            start = first_test + k * test_size
            # Purge: keep t only if t + horizon < first test timestamp (codes < train_end).
            if isinstance(horizon, np.timedelta64):
                train_end = int(np.searchsorted(values, values[start] - horizon, side="left"))
            else:
                train_end = max(start - horizon, 0)
            # The embargo acts on training timestamps after a test block: none here, as
            # every training range ends before its test block starts.
            train_start = 0 if max_train_size is None else max(train_end - max_train_size, 0)
            if train_end <= train_start:
                raise SplitError(
                    f"PurgedTimeSeriesSplit: fold {k + 1} of {n_splits} has no training data: "
                    f"purging horizon={self.horizon!r} removes all {start} timestamps before "
                    f"its test block (which starts at {values[start]}). Use a shorter "
                    "horizon, fewer splits or a smaller test_size, or provide more history."
                )
            folds.append(_Fold(train=(train_start, train_end), test=(start, start + test_size)))
        logger.debug(
            "PurgedTimeSeriesSplit: %d rows, %d timestamps, %d folds of %d test timestamps "
            "(horizon=%r, embargo=%r)",
            grid.n_rows,
            n_timestamps,
            n_splits,
            test_size,
            self.horizon,
            self.embargo,
        )
        return folds
