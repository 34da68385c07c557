"""Every call into LightGBM's private Python layer or its C API, in one place.

The LightGBM fast path (:mod:`._lightgbm_native`) uses three things LightGBM's public
API does not offer at the same cost:

- **pushed Datasets** (:func:`pushed_dataset`): a Dataset built from rows handed over a
  block at a time through ``LGBM_SampleIndices`` / ``LGBM_DatasetCreateFromSampledColumn``
  / ``LGBM_DatasetPushRows`` (the steps of ``LGBM_DatasetCreateFromMats``, so the bins
  are the same), for matrices that are never stored whole (the selector's
  ``[X | shadows]``) or not C-ordered. Public fallback: the copy ``X[rows]``.
- **subsets that let go of their base** (:func:`constructed_subset`): ``Dataset.subset``
  with the positions as an int32 array (``subset`` itself first makes them a sorted
  Python list, about 36 bytes a row), then ``used_indices``/``reference`` dropped so the
  subset does not hold the fold's base bins for its whole life. Public fallback:
  ``base.subset(list(positions)).construct()`` (the same bins; the base stays referenced).
- nothing else: the scores LightGBM keeps for a validation set are read through the
  public ``Booster.eval_valid`` (a custom metric receives them), as fast as
  ``LGBM_BoosterGetPredict`` (see :func:`kept_valid_scores`).

:data:`ENABLED` says whether the private calls are used: only on the LightGBM major
versions they were written and tested against (:data:`TESTED_MAJORS`), and only when
the names they need exist. Either way the result is the same model; the tests run the
fallbacks and compare (``tests/families/test_lightgbm_native.py``).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["ENABLED", "TESTED_MAJORS", "constructed_subset", "kept_valid_scores", "pushed_dataset"]

#: LightGBM major versions whose private layer these calls were checked against.
TESTED_MAJORS = (4,)
#: LightGBM's ``kZeroThreshold``: a float literal (``1e-35f``) compared as a double.
_ZERO = float(np.float32(1e-35))


def _private_layer_usable() -> bool:
    try:
        import lightgbm as lgb
        from lightgbm import basic
    except ImportError:  # pragma: no cover - lightgbm is a core dependency
        return False
    major = int(str(lgb.__version__).split(".")[0])
    names = ("_LIB", "_c_str", "_param_dict_to_str", "_safe_call")
    if major not in TESTED_MAJORS or not all(hasattr(basic, n) for n in names):
        return False
    lib = basic._LIB
    return all(
        hasattr(lib, f)
        for f in (
            "LGBM_SampleIndices",
            "LGBM_DatasetCreateFromSampledColumn",
            "LGBM_DatasetPushRows",
        )
    )


#: Whether the private calls are used (else their public fallbacks).
ENABLED: bool = _private_layer_usable()


def pushed_dataset(
    X: Any,
    rows: np.ndarray,
    params: dict[str, Any],
    label: np.ndarray,
    *,
    row_blocks: Callable[[Any, np.ndarray], Iterator[tuple[int, np.ndarray]]],
    column: Callable[[Any, int, np.ndarray], np.ndarray],
) -> Any:
    """A constructed ``lightgbm.Dataset`` of ``X[rows]`` without a copy of all the rows.

    ``row_blocks(X, rows)`` yields ``(start, C-ordered float32 block)``;
    ``column(X, j, rows)`` gives column ``j`` at ``rows``. Without the private layer,
    the Dataset of the copy ``X[rows]`` (the same bins and binned rows).
    """
    import lightgbm as lgb

    if not ENABLED:
        data = np.ascontiguousarray(X[rows], dtype=np.float32)
        return lgb.Dataset(data, label=label, params=params, free_raw_data=True).construct()
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
        col = column(X, j, sample).astype(np.float64)
        keep = (np.abs(col) > _ZERO) | np.isnan(col)
        every = bool(keep.all())
        values.append(col if every else np.ascontiguousarray(col[keep]))
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


def constructed_subset(base: Any, positions: np.ndarray, params: Mapping[str, Any]) -> Any:
    """``base.subset(positions)``, constructed; it no longer refers to ``base``.

    Without the private layer, the public ``subset`` (the same bins; LightGBM then
    keeps the base referenced for the subset's life).
    """
    if not ENABLED:
        return base.subset(positions.tolist(), params=dict(params)).construct()
    sub = base.subset([], params=dict(params))
    # the rows as they are (ascending int32, what LightGBM reads)
    sub.used_indices = positions
    sub.construct()
    # Once constructed, the subset only needs its own bins. LightGBM would keep its rows
    # and the base (as ``reference``) for the Dataset's life.
    sub.used_indices = None
    sub.reference = None
    return sub


def kept_valid_scores(booster: Any, n_rows: int) -> np.ndarray:
    """The scores LightGBM kept for the booster's first validation set, ``(n, k)``.

    Read through the public ``Booster.eval_valid``: a custom metric receives the kept
    scores (transformed by the objective's link, as ``predict`` gives them).
    """
    seen: list[np.ndarray] = []

    def capture(preds: np.ndarray, _data: Any) -> tuple[str, float, bool]:
        seen.append(np.asarray(preds, dtype=np.float64))
        return "kept", 0.0, False

    booster.eval_valid(feval=capture)
    preds = seen[0]
    return preds.reshape(n_rows, -1)
