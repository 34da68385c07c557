"""Lookback windows over a panel, built per symbol without Python loops over rows.

A window for the row of symbol ``s`` at time ``t`` holds the rows
``t-L+1, ..., t`` *of the same symbol* (``L`` = lookback), oldest first, the row
itself last. Windows never cross symbols and never contain a later row.
"Earlier" means earlier by timestamp within the symbol (consecutive rows of that
symbol in time order, whatever the row order of ``X``); gaps in the timestamp grid
are not filled.

Rows without a full history (the first ``L-1`` rows of each symbol in the data
given) are **left-padded**: missing steps point at no row (index ``-1``), are fed
to the network as zeros, and a mask channel (1 = real row, 0 = padding) tells the
network which steps are real. The last step of a window is always real.

Without a ``(timestamp, symbol)`` MultiIndex the rows are one sequence in the
given order (a ``DatetimeIndex`` or a ``timestamp`` level alone orders them by time).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError


def row_time_keys(X: object, n_rows: int) -> np.ndarray:
    """Integer time order of each row: factorised timestamps, else the row position.

    Timestamps come from a ``timestamp`` index level or a ``DatetimeIndex``; rows of
    one timestamp share a key, so a cut on keys keeps a timestamp on one side.
    """
    index = X.index if isinstance(X, pd.DataFrame | pd.Series) else None
    times = None
    if isinstance(index, pd.MultiIndex) and "timestamp" in index.names:
        times = index.get_level_values("timestamp")
    elif isinstance(index, pd.DatetimeIndex):
        times = index
    if times is None:
        return np.arange(n_rows, dtype=np.int64)
    key = pd.factorize(times, sort=True)[0]
    if len(key) and key.min() < 0:
        raise DataError(
            "X has missing values in its timestamp index; drop or fill those rows first."
        )
    return np.asarray(key, dtype=np.int64)


def _sequence_keys(X: object, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Symbol codes and time keys (sortable) per row; one sequence when not a panel."""
    index = X.index if isinstance(X, pd.DataFrame | pd.Series) else None
    if isinstance(index, pd.MultiIndex) and "symbol" in index.names:
        symbols = pd.factorize(index.get_level_values("symbol"))[0]
        if "timestamp" in index.names:
            time_key = row_time_keys(X, n_rows)
            pairs = pd.MultiIndex.from_arrays([symbols, time_key])
            if pairs.has_duplicates:
                dup = index[pairs.duplicated()][0]
                raise DataError(
                    f"X has duplicate (timestamp, symbol) rows, e.g. {dup}; windows would be "
                    "ambiguous. Remove duplicates (see validate_panel)."
                )
        else:
            time_key = np.arange(n_rows)
        return np.asarray(symbols, dtype=np.int64), np.asarray(time_key, dtype=np.int64)
    return np.zeros(n_rows, dtype=np.int64), row_time_keys(X, n_rows)


def sequence_keys(X: object, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Symbol code and time key of every row (the order windows follow).

    ``X`` is anything with the rows' index (a DataFrame or Series), or ``None`` for
    rows of one sequence in the given order.
    """
    return _sequence_keys(X, n_rows)


def context_rows(
    keys: tuple[np.ndarray, np.ndarray], rows: np.ndarray, lookback: int
) -> np.ndarray:
    """Rows outside ``rows`` that the lookback windows of ``rows`` reach back to.

    For every row in ``rows``, the ``lookback - 1`` rows of the same symbol just before
    it (by time); those not in ``rows`` themselves are the *context* a sequence model
    needs to see to give the first rows of a block full windows. Only features of the
    context are ever used (a model's ``predict`` never sees labels).

    Parameters
    ----------
    keys : (ndarray, ndarray)
        :func:`sequence_keys` of all rows.
    rows : ndarray of int
        Positions of the rows to predict.
    lookback : int
        Window length, the row itself included.

    Returns
    -------
    ndarray of int
        Sorted positions of the context rows (empty for ``lookback <= 1``).

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.MultiIndex.from_product(
    ...     [pd.date_range("2024-01-01", periods=4, freq="5min"), ["A", "B"]],
    ...     names=["timestamp", "symbol"])
    >>> X = pd.DataFrame({"f": range(8)}, index=idx)
    >>> context_rows(sequence_keys(X, 8), np.array([6, 7]), lookback=3)
    array([2, 3, 4, 5])
    """
    rows = np.asarray(rows, dtype=np.int64)
    if lookback <= 1 or rows.size == 0:
        return np.empty(0, dtype=np.int64)
    symbols, time_key = keys
    order = np.lexsort((time_key, symbols))  # by symbol, then time
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    lags = np.arange(1, int(lookback))
    earlier = rank[rows][:, None] - lags[None, :]
    valid = earlier >= 0
    source = order[np.clip(earlier, 0, None)]
    valid &= symbols[source] == symbols[rows][:, None]
    reached = np.unique(source[valid])
    return reached[~np.isin(reached, rows)]  # type: ignore[no-any-return]


def context_of(data: Any, rows: np.ndarray, estimator: Any) -> np.ndarray:
    """The sequence families' input-context hook (``FamilySpec.context``).

    The rows outside ``rows`` whose features ``estimator`` (a fitted sequence model with
    a ``lookback``) must see to give every row of ``rows`` a full window:
    :func:`context_rows` over the per-symbol keys of ``data`` (anything with ``index``,
    ``n_rows`` and ``memo(key, build)``; the keys are computed once per data).
    """
    index = data.index

    def keys() -> tuple[np.ndarray, np.ndarray]:
        frame = pd.DataFrame(index=index) if index is not None else None
        return sequence_keys(frame, data.n_rows)

    lookback = int(getattr(estimator, "lookback", 1))
    return context_rows(data.memo("sequence_keys", keys), rows, lookback)


def lookback_indices(X: object, lookback: int, n_rows: int | None = None) -> np.ndarray:
    """Row positions of every row's lookback window.

    Parameters
    ----------
    X : DataFrame or array-like
        The rows; a ``(timestamp, symbol)`` MultiIndex makes windows per symbol.
    lookback : int
        Window length ``L`` (``>= 1``), including the row itself.
    n_rows : int, optional
        Number of rows (taken from ``len(X)`` when omitted).

    Returns
    -------
    ndarray of shape (n_rows, lookback), int64
        ``out[i, k]`` is the position (in ``X``) of the row ``L-1-k`` steps before
        row ``i`` in the same symbol, or ``-1`` when that row does not exist
        (padding). ``out[i, -1] == i``.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.MultiIndex.from_product(
    ...     [pd.date_range("2024-01-01", periods=3, freq="5min"), ["A", "B"]],
    ...     names=["timestamp", "symbol"])
    >>> X = pd.DataFrame({"f": range(6)}, index=idx)
    >>> lookback_indices(X, 2)
    array([[-1,  0],
           [-1,  1],
           [ 0,  2],
           [ 1,  3],
           [ 2,  4],
           [ 3,  5]])
    """
    if n_rows is None:
        n_rows = len(X)  # type: ignore[arg-type]
    if int(lookback) != lookback or lookback < 1:
        raise DataError(f"lookback={lookback!r} must be a positive integer.")
    lookback = int(lookback)
    symbols, time_key = _sequence_keys(X, n_rows)
    order = np.lexsort((time_key, symbols))  # by symbol, then time
    sorted_symbols = symbols[order]
    positions = np.arange(n_rows)
    is_start = np.ones(n_rows, dtype=bool)
    is_start[1:] = sorted_symbols[1:] != sorted_symbols[:-1]
    group_start = np.maximum.accumulate(np.where(is_start, positions, 0))
    pos_in_group = positions - group_start
    lags = np.arange(lookback - 1, -1, -1)  # oldest step first
    src = positions[:, None] - lags[None, :]
    valid = pos_in_group[:, None] >= lags[None, :]
    window_sorted = np.where(valid, order[np.clip(src, 0, None)], -1)
    out = np.empty((n_rows, lookback), dtype=np.int64)
    out[order] = window_sorted
    return out


def gather_windows(features: Any, window_index: Any) -> Any:
    """Assemble windows ``(batch, L, F + 1)`` from a torch feature matrix.

    ``features`` is a ``(n_rows, F)`` tensor; ``window_index`` a ``(batch, L)`` long
    tensor from :func:`lookback_indices` (``-1`` = padding). Padded steps are zeros
    and the last channel is the mask (1 real, 0 padding).
    """
    import torch

    mask = window_index >= 0
    safe = window_index.clamp(min=0)
    windows = features[safe]
    maskf = mask.unsqueeze(-1).to(windows.dtype)
    return torch.cat([windows * maskf, maskf], dim=-1)
