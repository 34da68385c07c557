"""Fast content fingerprints of arrays and DataFrames (cache keys)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fingerprint"]

_DIGEST_SIZE = 16
_CHUNK_BYTES = 16 * 2**20  # scratch of a non-C-contiguous array's hash


def _update_array(h: Any, arr: np.ndarray) -> None:
    """Feed an array's dtype, shape and raw bytes to the hash ``h``."""
    h.update(f"nd:{arr.dtype.str}:{arr.shape}".encode())
    if arr.dtype.hasobject:
        # Object arrays (strings, mixed): hash each element's value, not its address.
        hashed = pd.util.hash_array(np.asarray(arr, dtype=object).ravel(), categorize=False)
        h.update(np.ascontiguousarray(hashed).tobytes())
        return
    if arr.flags["C_CONTIGUOUS"] or arr.ndim < 2:
        h.update(np.ascontiguousarray(arr).reshape(-1).view(np.uint8).data)
        return
    # Any other layout (a DataFrame's column-major block): the same bytes in C order, a
    # block of rows at a time, so the scratch stays small instead of a copy of ``arr``.
    step = max(1, _CHUNK_BYTES // max(1, arr[:1].nbytes))
    for start in range(0, arr.shape[0], step):
        chunk = np.ascontiguousarray(arr[start : start + step])
        h.update(chunk.reshape(-1).view(np.uint8).data)


def _update_index(h: Any, index: pd.Index) -> None:
    """Feed an index (plain or MultiIndex) to the hash ``h`` without materialising tuples."""
    if isinstance(index, pd.MultiIndex):
        h.update(f"mi:{list(index.names)!r}:{len(index)}".encode())
        for level, codes in zip(index.levels, index.codes):
            _update_index(h, level)
            _update_array(h, np.asarray(codes))
        return
    h.update(f"ix:{index.name!r}:{index.dtype}".encode())
    _update_array(h, np.asarray(index.to_numpy()))


def _update(h: Any, obj: Any) -> None:
    if isinstance(obj, pd.DataFrame):
        h.update(b"df")
        h.update(repr([str(c) for c in obj.columns]).encode())
        h.update(repr([str(d) for d in obj.dtypes]).encode())
        _update_index(h, obj.index)
        for i in range(obj.shape[1]):
            col = obj.iloc[:, i]
            if isinstance(col.dtype, pd.CategoricalDtype):
                _update_array(h, np.asarray(col.astype(object)))
            else:
                _update_array(h, np.asarray(col.to_numpy()))
    elif isinstance(obj, pd.Series):
        h.update(f"s:{obj.name!r}:{obj.dtype}".encode())
        _update_index(h, obj.index)
        _update_array(h, np.asarray(obj.to_numpy()))
    elif isinstance(obj, pd.Index):
        _update_index(h, obj)
    elif isinstance(obj, np.ndarray):
        _update_array(h, obj)
    elif isinstance(obj, (str, bytes, int, float, bool, type(None))):
        h.update(f"py:{type(obj).__name__}:{obj!r}".encode())
    elif isinstance(obj, (list, tuple)):
        h.update(f"seq:{type(obj).__name__}:{len(obj)}".encode())
        for item in obj:
            _update(h, item)
    elif isinstance(obj, dict):
        h.update(f"map:{len(obj)}".encode())
        for key in sorted(obj, key=repr):
            _update(h, key)
            _update(h, obj[key])
    else:
        import joblib

        h.update(f"obj:{joblib.hash(obj)}".encode())


def fingerprint(*objs: Any) -> str:
    """Hash the contents of arrays, DataFrames and plain values.

    Two calls give the same string exactly when the objects have the same values,
    dtypes, shapes, index and column labels. Numeric data is hashed from its raw
    bytes with BLAKE2b (no copies for contiguous columns), so a fingerprint costs
    roughly one pass over memory, about 1 GB/s.

    Parameters
    ----------
    *objs : DataFrame, Series, Index, ndarray, scalar, str, list, tuple or dict
        The objects to hash, in order. Other objects fall back to ``joblib.hash``.

    Returns
    -------
    str
        A 32-character hexadecimal digest.

    Examples
    --------
    >>> import numpy as np
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(3))
    True
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(3.0))
    False
    """
    h = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    for obj in objs:
        _update(h, obj)
    return h.hexdigest()
