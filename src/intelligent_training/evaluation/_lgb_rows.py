"""Hand a fold's rows to LightGBM without a copy of them.

LightGBM bins a ``Dataset`` in two steps: bin boundaries from a sample of rows
(``bin_construct_sample_cnt``, drawn by ``data_random_seed``), then every row pushed
through them. :func:`binned_dataset` gives it the rows of a fold in one of two ways,
which yield the same bins and the same binned rows:

- **row views**: on a C-ordered matrix a fold's rows are a few runs of consecutive
  positions, each a C-contiguous view; LightGBM bins a list of row blocks exactly as their
  concatenation (``LGBM_DatasetCreateFromMats``);
- **pushed**: any other matrix (a DataFrame's column-major block, or the selector's
  ``[X | shadows]`` that is never stored) goes through the steps of
  ``LGBM_DatasetCreateFromMats`` one by one: the same sample positions
  (``LGBM_SampleIndices``), the sample's values column by column
  (``LGBM_DatasetCreateFromSampledColumn``), then the rows a block at a time
  (``LGBM_DatasetPushRows``). This is what ``lightgbm.Sequence`` input does, but with all
  of the parameters (its Python sampler passes only the dataset parameters, so a ``seed``
  would not reach the sample) and without its row-by-row sample.

Validation sets use their reference's bins (no sample): views, or a ``lightgbm.Sequence``
of row blocks (:func:`valid_rows`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["binned_dataset", "row_blocks", "row_views", "valid_rows"]

#: More runs than this and LightGBM's per-block overhead outweighs the views.
_MAX_BLOCKS = 4096
#: Rows per block handed to LightGBM by the pushed and sequence paths (bytes of float32).
BLOCK_BYTES = 16 * 2**20
#: LightGBM's ``kZeroThreshold``: a float literal (``1e-35f``) compared as a double.
_ZERO = float(np.float32(1e-35))
_VALID_BATCH_ROWS = 65_536


def row_views(X: Any, rows: np.ndarray) -> list[np.ndarray] | None:
    """``X[rows]`` as C-contiguous views of ``X`` (one per run of rows), or None."""
    rows = np.asarray(rows)
    if not (
        isinstance(X, np.ndarray) and X.ndim == 2 and X.flags["C_CONTIGUOUS"] and len(rows) > 1
    ):
        return None
    step = np.diff(rows)
    breaks = np.flatnonzero(step != 1) + 1
    if len(breaks) >= _MAX_BLOCKS or rows[0] < 0 or (step <= 0).any():
        return None
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(rows)]])
    return [X[rows[a] : rows[b - 1] + 1] for a, b in zip(starts, ends)]


def _column(X: Any, j: int, rows: np.ndarray) -> np.ndarray:
    """Column ``j`` of ``X`` at ``rows``."""
    if isinstance(X, np.ndarray):
        return X[:, j][rows]
    return X.column(j, rows)  # type: ignore[no-any-return]


def binned_dataset(
    X: Any, rows: np.ndarray, params: Mapping[str, Any], *, label: np.ndarray
) -> Any:
    """A constructed ``lightgbm.Dataset`` of ``X[rows]`` (see the module docstring).

    Parameters
    ----------
    X : ndarray or matrix-like
        Float32 features; a matrix-like gives ``X[rows]`` and ``X.column(j, rows)``.
    rows : ndarray of int
        The rows, in order.
    params : mapping
        LightGBM parameters (all of them: a ``seed`` decides the sample).
    label : ndarray
        The Dataset's label.
    """
    import lightgbm as lgb

    views = row_views(X, rows)
    if views is not None:
        ds = lgb.Dataset(views, label=label, params=dict(params), free_raw_data=True)
        return ds.construct()
    return _pushed(X, np.asarray(rows), dict(params), label)


def _pushed(X: Any, rows: np.ndarray, params: dict[str, Any], label: np.ndarray) -> Any:
    import lightgbm as lgb
    from lightgbm.basic import _LIB, _c_str, _param_dict_to_str, _safe_call

    n_rows, n_features = len(rows), X.shape[1]
    text = _c_str(_param_dict_to_str(params))
    sample = np.empty(n_rows, dtype=np.int32)  # at most every row
    n_sample = ctypes.c_int32(0)
    _safe_call(
        _LIB.LGBM_SampleIndices(
            ctypes.c_int32(n_rows),
            text,
            sample.ctypes.data_as(ctypes.c_void_p),
            ctypes.byref(n_sample),
        )
    )
    sample = rows[sample[: n_sample.value]]
    # Per column, the sampled values LightGBM keeps (non-zero or NaN) and their positions
    # in the sample, as LGBM_DatasetCreateFromMats collects them; a column that keeps
    # every value shares one array of positions (LightGBM only reads them).
    slots = np.arange(len(sample), dtype=np.int32)
    values, where = [], []
    for j in range(n_features):
        column = _column(X, j, sample).astype(np.float64)
        keep = (np.abs(column) > _ZERO) | np.isnan(column)
        every = bool(keep.all())
        values.append(column if every else np.ascontiguousarray(column[keep]))
        where.append(slots if every else np.ascontiguousarray(slots[keep]))
    double_p, int_p = ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_int32)
    value_ptrs = (double_p * n_features)(*[v.ctypes.data_as(double_p) for v in values])
    where_ptrs = (int_p * n_features)(*[w.ctypes.data_as(int_p) for w in where])
    counts = np.array([len(v) for v in values], dtype=np.int32)
    handle = ctypes.c_void_p()
    _safe_call(
        _LIB.LGBM_DatasetCreateFromSampledColumn(
            ctypes.cast(value_ptrs, ctypes.POINTER(double_p)),
            ctypes.cast(where_ptrs, ctypes.POINTER(int_p)),
            ctypes.c_int32(n_features),
            counts.ctypes.data_as(int_p),
            ctypes.c_int32(len(sample)),
            ctypes.c_int32(n_rows),
            ctypes.c_int64(n_rows),
            text,
            ctypes.byref(handle),
        )
    )
    del values, where, value_ptrs, where_ptrs
    ds = lgb.Dataset(None, params=params, free_raw_data=True)
    ds._handle = handle  # freed by the Dataset, like one it constructed itself
    for start, block in row_blocks(X, rows):
        _safe_call(
            _LIB.LGBM_DatasetPushRows(
                handle,
                block.ctypes.data_as(ctypes.c_void_p),
                ctypes.c_int(0),  # C_API_DTYPE_FLOAT32
                ctypes.c_int32(len(block)),
                ctypes.c_int32(n_features),
                ctypes.c_int32(start),
            )
        )  # the last block finishes the Dataset (FinishLoad)
    ds.set_label(label)
    return ds


def row_blocks(X: Any, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``X[rows]`` a block at a time: ``(start, block)`` with ``block`` the C-ordered
    float32 rows ``rows[start:start + k]``, about ``BLOCK_BYTES`` each."""
    step = max(1, BLOCK_BYTES // (4 * max(1, X.shape[1])))
    for start in range(0, len(rows), step):
        yield start, np.ascontiguousarray(X[rows[start : start + step]], dtype=np.float32)


def valid_rows(X: Any, rows: np.ndarray) -> Any:
    """The rows of a LightGBM validation set (binned with its reference's bins).

    Views of ``X`` where :func:`row_views` gives them; a small set as the copy
    ``X[rows]``; a large one as a ``lightgbm.Sequence`` that hands LightGBM the rows a
    block at a time (``LGBM_DatasetPushRows``): the same binned rows without a copy of
    all of them.
    """
    views = row_views(X, rows)
    if views is not None:
        return views
    if len(rows) <= _VALID_BATCH_ROWS:
        return X[rows]
    return _row_sequence()(X, rows)


def _row_sequence() -> type:
    import lightgbm as lgb

    global _ROW_SEQUENCE
    if _ROW_SEQUENCE is None:

        class RowSequence(lgb.Sequence):  # type: ignore[misc]
            batch_size = _VALID_BATCH_ROWS

            def __init__(self, X: Any, rows: np.ndarray) -> None:
                self.X, self.rows = X, np.asarray(rows)

            def __getitem__(self, idx: Any) -> np.ndarray:
                return np.ascontiguousarray(self.X[self.rows[idx]])

            def __len__(self) -> int:
                return len(self.rows)

        _ROW_SEQUENCE = RowSequence
    return _ROW_SEQUENCE


_ROW_SEQUENCE: type | None = None
