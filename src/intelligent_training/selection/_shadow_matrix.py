"""``[X | shadows]`` read a block of rows at a time, never stored.

The shadow test fits every cell on the real features and one shadow per feature
(:func:`~intelligent_training.selection._relevance.with_shadows`). Stored, that matrix is
twice the features, on top of the caller's copy of them. A shadow value is only the
feature's own value at another row (:class:`~intelligent_training.stats.ShadowShifts`),
so :class:`ShadowedMatrix` keeps the features and, per row, where its shadows come from,
and gathers ``[X | shadows]`` for the rows a reader asks for: the same float32 values,
bit for bit, as the stored matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intelligent_training.stats import ShadowShifts

__all__ = ["ShadowedMatrix"]


class ShadowedMatrix:
    """A read-only ``(n_rows, 2 * n_features)`` float32 matrix: ``[X | shadows]``.

    Indexing by rows (``M[rows]``, an int array, a boolean mask or a slice) returns a new
    C-ordered ndarray; :meth:`column` reads one column at given rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32
        The features (any memory layout; not copied).
    rows : ndarray of int
        The rows that have shadows (sorted); every other row's shadows are NaN.
    shifts : ShadowShifts
        The shifts of the shadows, over ``rows`` (``shifts.order`` indexes ``rows``).
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, X: np.ndarray, rows: np.ndarray, shifts: ShadowShifts) -> None:
        n_rows, n_features = X.shape
        self.X = X
        self.shape = (n_rows, 2 * n_features)
        self.n_real = n_features
        rows = np.asarray(rows, dtype=np.int64)
        index = np.int32 if n_rows < np.iinfo(np.int32).max else np.int64
        #: the row of every slot (the rows with shadows in symbol / time order)
        self._row_of_slot = rows[shifts.order].astype(index)
        #: the slot of every row; -1 for a row without shadows
        self._slot = np.full(n_rows, -1, dtype=index)
        self._slot[self._row_of_slot] = np.arange(len(rows), dtype=index)
        self._symbol = np.repeat(np.arange(len(shifts.sizes), dtype=index), shifts.sizes)
        self._starts = np.asarray(shifts.starts, dtype=np.int64)
        self._sizes = np.asarray(shifts.sizes, dtype=np.int64)
        self._offsets = np.asarray(shifts.offsets, dtype=np.int64)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"ShadowedMatrix(shape={self.shape})"

    def _rows(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            raise TypeError("ShadowedMatrix is indexed by rows only; use .column(j, rows)")
        if isinstance(key, slice):
            return np.arange(self.shape[0])[key]
        rows = np.asarray(key)
        if rows.dtype == bool:
            return np.flatnonzero(rows)
        return rows.astype(np.int64, copy=False).reshape(-1)

    def _layout(self, slots: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per slot: its symbol, the symbol's first slot, its position and the symbol's
        size (the same for every feature: computed once per read)."""
        symbol = self._symbol[slots]
        start = self._starts[symbol]
        return symbol, start, slots - start, self._sizes[symbol]

    def _sources(self, layout: tuple[np.ndarray, ...], j: int) -> np.ndarray:
        """The rows the shadow of feature ``j`` reads at the slots of ``layout``."""
        symbol, start, position, size = layout
        within = (position - self._offsets[symbol, j]) % size
        return self._row_of_slot[start + within]  # type: ignore[no-any-return]

    def column(self, j: int, rows: Any) -> np.ndarray:
        """Column ``j`` (real for ``j < n_features``, else a shadow) at ``rows``, float32."""
        rows = self._rows(rows)
        if j < self.n_real:
            return np.asarray(self.X[rows, j])
        out = np.full(len(rows), np.nan, dtype=np.float32)
        slots = self._slot[rows]
        has = slots >= 0
        layout = self._layout(slots[has])
        out[has] = self.X[:, j - self.n_real][self._sources(layout, j - self.n_real)]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        rows = self._rows(key)
        p = self.n_real
        out = np.empty((len(rows), 2 * p), dtype=np.float32)
        if self.X.flags["F_CONTIGUOUS"]:  # a DataFrame's block: gather column by column
            for j in range(p):
                out[:, j] = self.X[:, j][rows]
        else:
            out[:, :p] = self.X[rows]
        slots = self._slot[rows]
        has = slots >= 0
        every = bool(has.all())
        if not every:
            out[~has, p:] = np.nan
            slots = slots[has]
        layout = self._layout(slots)
        for j in range(p):
            values = self.X[:, j][self._sources(layout, j)]
            if every:
                out[:, p + j] = values
            else:
                out[has, p + j] = values
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[slice(None)]
        return out if dtype is None else out.astype(dtype, copy=False)

    def fingerprint(self) -> str:
        """Content hash of the matrix: the features and where the shadows come from."""
        from intelligent_training.cache import fingerprint

        return fingerprint(
            "ShadowedMatrix",
            self.X,
            self._row_of_slot,
            self._symbol,
            self._starts,
            self._sizes,
            self._offsets,
        )
