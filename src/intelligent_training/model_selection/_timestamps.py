"""Where the timestamps of a cross-validation split come from.

:func:`get_timestamps` is the one place that decides it, so the splitter, the ranker and
the metrics agree on which rows share a timestamp.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataWarning, SplitError

__all__ = ["get_timestamps"]

_HINT = (
    "Pass one timestamp per row, e.g. groups=X.index.get_level_values('timestamp'), "
    "or integer bar numbers."
)

_MISSING_LEVEL = "The 'timestamp' index level of X has missing values (NaT). Drop those rows first."


def _n_samples(X: Any) -> int:
    """Number of rows of an array-like (no copy)."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:
        raise SplitError(
            f"Cannot count the rows of X (type {type(X).__name__}); "
            "pass an array, a DataFrame or a Series."
        ) from None


def _as_timestamp_array(values: Any, where: str) -> np.ndarray:
    """Turn ``values`` into a 1-D ``datetime64``/``timedelta64``/integer array.

    tz-aware datetimes become tz-naive UTC. Missing values, booleans, strings and
    non-integral floats are rejected with a :class:`SplitError` naming ``where``.
    """
    if isinstance(getattr(values, "dtype", None), pd.DatetimeTZDtype):
        values = pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise SplitError(f"The timestamps from {where} must be 1-D; got shape {arr.shape}. {_HINT}")
    kind = arr.dtype.kind
    if kind == "O":
        inferred = pd.api.types.infer_dtype(arr, skipna=False)
        if inferred in ("datetime", "datetime64", "date"):
            arr = pd.to_datetime(arr, utc=True).tz_localize(None).to_numpy()
            kind = "M"
        elif inferred == "integer":
            arr = arr.astype(np.int64)
            kind = "i"
    if kind in "Mm":
        if np.isnat(arr).any():
            raise SplitError(f"The timestamps from {where} contain NaT. Drop those rows first.")
        return arr
    if kind in "iu":
        return arr
    if kind == "f":
        if not np.isfinite(arr).all() or not np.array_equal(arr, np.floor(arr)):
            raise SplitError(
                f"The timestamps from {where} are floats that are not all finite integers. {_HINT}"
            )
        return arr.astype(np.int64)
    mistake = " (did you pass symbols as groups?)" if where == "groups" else ""
    raise SplitError(
        f"The timestamps from {where} have dtype {arr.dtype}; expected datetimes or integer "
        f"bar numbers{mistake}. {_HINT}"
    )


def get_timestamps(X: Any, groups: Any = None) -> np.ndarray:
    """Return the timestamp of every row of ``X``.

    The source is, in order of precedence:

    1. ``groups`` when given (one timestamp or bar number per row);
    2. the ``timestamp`` level of ``X.index`` (a panel's MultiIndex, or an index named
       ``timestamp``);
    3. ``X.index`` when it is a :class:`pandas.DatetimeIndex`;
    4. otherwise consecutive rows are consecutive bars: ``0, 1, ..., n - 1``, with a
       :class:`~intelligent_training.exceptions.DataWarning` (a panel passed without
       its index, e.g. ``fit(X.values, y.values)``, loses its timestamps).

    Parameters
    ----------
    X : array-like of shape (n_samples, ...) or None
        The data. May be ``None`` when ``groups`` is given.
    groups : array-like of shape (n_samples,), default=None
        Explicit timestamps (datetimes) or integer bar numbers.

    Returns
    -------
    timestamps : ndarray of shape (n_samples,)
        ``datetime64`` (tz-naive UTC) or integer values, in the row order of ``X``.
        Not necessarily sorted.

    Raises
    ------
    SplitError
        If the timestamps are missing, of an unusable dtype, or their length differs from
        the number of rows of ``X``.

    Examples
    --------
    >>> import pandas as pd
    >>> from intelligent_training.model_selection import get_timestamps
    >>> index = pd.MultiIndex.from_product(
    ...     [pd.date_range("2024-01-01", periods=2, freq="D"), ["A", "B"]],
    ...     names=["timestamp", "symbol"],
    ... )
    >>> get_timestamps(pd.DataFrame({"f": range(4)}, index=index)).astype("datetime64[D]")
    array(['2024-01-01', '2024-01-01', '2024-01-02', '2024-01-02'],
          dtype='datetime64[D]')
    >>> get_timestamps([[1.0], [2.0], [3.0]], groups=[7, 8, 9])
    array([7, 8, 9])
    """
    keys, levels = _timestamp_keys(X, groups)
    if groups is None and not _has_time_index(X) and len(keys) > 1:
        warnings.warn(
            "X has no timestamps (no 'timestamp' index level, no DatetimeIndex, no groups): "
            "its rows are taken as consecutive bars, so rows of several symbols at one "
            "timestamp are not kept together and the purge counts rows; "
            f"{missing_timestamps_hint(X)}",
            DataWarning,
            stacklevel=2,
        )
    if levels is None:
        return keys
    if len(keys) and keys.min() < 0:
        raise SplitError(_MISSING_LEVEL)
    return levels[keys]


def missing_timestamps_hint(X: Any) -> str:
    """Say what ``X`` has instead of timestamps and how to give it a panel's index.

    Used by the messages of every place that needs the rows' timestamps and finds none.

    Examples
    --------
    >>> import pandas as pd
    >>> index = pd.MultiIndex.from_tuples([("2024-01-01", "A")], names=["date", "symbol"])
    >>> print(missing_timestamps_hint(pd.DataFrame({"f": [1.0]}, index=index)))
    X's index levels are ['date', 'symbol'], a panel's are ['timestamp', 'symbol']: rename them with X.index = X.index.set_names(['timestamp', 'symbol'])
    """
    index = getattr(X, "index", None)
    if not isinstance(index, pd.Index):
        return (
            f"X is a {type(X).__name__} without an index: pass the panel DataFrame with its "
            "('timestamp', 'symbol') index (not .values)"
        )
    names = [None if n is None else str(n) for n in index.names]
    if isinstance(index, pd.MultiIndex) and len(names) == 2:
        return (
            f"X's index levels are {names}, a panel's are ['timestamp', 'symbol']: rename "
            "them with X.index = X.index.set_names(['timestamp', 'symbol'])"
        )
    return (
        f"X's index levels are {names}, a panel's are ['timestamp', 'symbol']: index X by "
        "df.set_index(['timestamp', 'symbol']).sort_index()"
    )


def _has_time_index(X: Any) -> bool:
    """Whether ``X`` carries its own timestamps (see :func:`get_timestamps`)."""
    index = getattr(X, "index", None)
    return (
        (isinstance(index, pd.MultiIndex) and "timestamp" in index.names)
        or (isinstance(index, pd.Index) and index.name == "timestamp")
        or isinstance(index, pd.DatetimeIndex)
    )


def _timestamp_keys(X: Any, groups: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Timestamps of the rows of ``X`` as ``(keys, levels)``; see :func:`get_timestamps`.

    When the timestamps come from a MultiIndex level whose values are sorted and
    distinct, ``keys`` are the level's integer codes (no copy; ordered like the
    timestamps, ``-1`` for a missing value) and ``levels`` the level's values, so that
    ``levels[keys]`` are the timestamps. Otherwise ``keys`` are the timestamps themselves
    and ``levels`` is ``None``. Comparing the compact codes is much cheaper than
    materialising one timestamp per row.
    """
    if groups is not None:
        timestamps = _as_timestamp_array(groups, "groups")
        if X is not None and (n := _n_samples(X)) != len(timestamps):
            raise SplitError(
                f"groups has {len(timestamps)} entries but X has {n} rows; "
                "pass one timestamp per row of X."
            )
        return timestamps, None
    if X is None:
        raise SplitError("Cannot find timestamps: X is None and groups is None. Pass X or groups.")
    index = getattr(X, "index", None)
    where = "the 'timestamp' index level of X"
    if isinstance(index, pd.MultiIndex) and "timestamp" in index.names:
        level = index.names.index("timestamp")
        values = index.levels[level]
        if values.is_monotonic_increasing and values.is_unique:
            return np.asarray(index.codes[level]), _as_timestamp_array(values, where)
        return _as_timestamp_array(index.get_level_values(level), where), None
    if isinstance(index, pd.Index) and index.name == "timestamp":
        return _as_timestamp_array(index, where), None
    if isinstance(index, pd.DatetimeIndex):
        return _as_timestamp_array(index, "the DatetimeIndex of X"), None
    return np.arange(_n_samples(X), dtype=np.int64), None
