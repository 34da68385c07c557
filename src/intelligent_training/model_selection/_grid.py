"""The timestamp grid of a panel: one factorisation, then row look-ups by slicing.

Rows are mapped to *codes*, the positions of their timestamps among the sorted distinct
timestamps (the grid). A fold is a range of codes, so the rows of a fold are

* on timestamp-sorted input: one contiguous slice ``[row_starts[lo], row_starts[hi])``,
  found without any sort (boundaries come from one comparison of neighbours);
* on unsorted input: the rows whose code lies in ``[lo, hi)``, after one hash-based
  factorisation (``pandas.factorize``: ``O(n)``, plus sorting the distinct timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from intelligent_training.exceptions import SplitError

__all__ = ["TimestampGrid"]


@dataclass(frozen=True)
class TimestampGrid:
    """Distinct timestamps of a set of rows and where each one's rows are.

    Attributes
    ----------
    values : ndarray of shape (n_timestamps,)
        Sorted distinct timestamps.
    n_rows : int
        Number of rows.
    row_starts : ndarray of shape (n_timestamps + 1,) or None
        For sorted rows: the first row of each timestamp, then ``n_rows``.
    codes : ndarray of shape (n_rows,) or None
        For unsorted rows: the grid position of each row's timestamp.
    """

    values: np.ndarray
    n_rows: int
    row_starts: np.ndarray | None = None
    codes: np.ndarray | None = None

    @classmethod
    def from_keys(cls, keys: np.ndarray, levels: np.ndarray | None = None) -> TimestampGrid:
        """Factorise one key per row (any order) into a grid.

        Parameters
        ----------
        keys : ndarray of shape (n_rows,)
            The timestamps, or integer codes into ``levels`` ordered like the timestamps
            (``-1`` marks a missing timestamp), as returned by ``_timestamp_keys``.
        levels : ndarray or None
            Sorted distinct timestamps that ``keys`` index, or ``None`` when ``keys`` are
            the timestamps.
        """
        n_rows = len(keys)
        if n_rows == 0:
            raise SplitError("Cannot split an empty dataset: X has no rows.")
        previous, current = keys[:-1], keys[1:]
        if bool(np.all(current >= previous)):
            boundaries = np.flatnonzero(current != previous)
            row_starts = np.empty(len(boundaries) + 2, dtype=np.int64)
            row_starts[0] = 0
            row_starts[1:-1] = boundaries + 1
            row_starts[-1] = n_rows
            unique_keys, codes = keys[row_starts[:-1]], None
        else:
            # Hash-based factorisation, O(n) + O(u log u) for the u distinct keys; much
            # faster than the full O(n log n) sort of np.unique on large panels.
            codes, uniques = pd.factorize(keys, sort=True)
            unique_keys, row_starts = np.asarray(uniques), None
            if len(unique_keys) < np.iinfo(np.int32).max:
                codes = codes.astype(np.int32)
        if levels is not None:
            if unique_keys[0] < 0:
                raise SplitError(
                    "The 'timestamp' index level of X has missing values (NaT). "
                    "Drop those rows first."
                )
            unique_keys = levels[unique_keys]
        return cls(values=unique_keys, n_rows=n_rows, row_starts=row_starts, codes=codes)

    @property
    def n_timestamps(self) -> int:
        """Number of distinct timestamps."""
        return len(self.values)

    def rows(self, lo: int, hi: int, arange: np.ndarray | None = None) -> np.ndarray:
        """Positional indices (ascending) of the rows whose timestamp code is in ``[lo, hi)``.

        Parameters
        ----------
        lo, hi : int
            Code range, half open.
        arange : ndarray or None
            ``np.arange(n_rows)``, shared between calls on sorted input; the result is then a
            view into it. Made on demand when ``None``.
        """
        if self.row_starts is not None:
            if arange is None:
                arange = np.arange(self.n_rows, dtype=np.int64)
            return arange[self.row_starts[lo] : self.row_starts[hi]]
        assert self.codes is not None
        codes = self.codes
        mask = codes < hi if lo == 0 else (codes >= lo) & (codes < hi)
        return np.flatnonzero(mask).astype(np.int64, copy=False)

    def rows_in_ranges(
        self, ranges: list[tuple[int, int]], arange: np.ndarray | None = None
    ) -> np.ndarray:
        """Positional indices (ascending) of the rows whose code lies in any of ``ranges``.

        Parameters
        ----------
        ranges : list of (int, int)
            Disjoint half-open code ranges, ascending.
        arange : ndarray or None
            As in :meth:`rows`.
        """
        if len(ranges) == 1:
            return self.rows(*ranges[0], arange=arange)
        if self.row_starts is not None:
            if arange is None:
                arange = np.arange(self.n_rows, dtype=np.int64)
            parts = [arange[self.row_starts[lo] : self.row_starts[hi]] for lo, hi in ranges]
            return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        assert self.codes is not None
        keep = np.zeros(self.n_timestamps, dtype=bool)
        for lo, hi in ranges:
            keep[lo:hi] = True
        return np.flatnonzero(keep[self.codes]).astype(np.int64, copy=False)

    def code_of_rows(self) -> np.ndarray:
        """The grid position of every row's timestamp (materialised on sorted input)."""
        if self.codes is not None:
            return self.codes.astype(np.int64, copy=False)
        assert self.row_starts is not None
        return np.repeat(np.arange(self.n_timestamps, dtype=np.int64), np.diff(self.row_starts))
