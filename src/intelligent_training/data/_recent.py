"""The most recent rows of a panel, per symbol, keeping whole timestamps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError

__all__ = ["recent_rows"]


def recent_rows(index: pd.Index, max_per_symbol: int) -> np.ndarray:
    """Mask of the rows of the most recent timestamps, at most ``max_per_symbol`` per symbol.

    The cut is one timestamp for the whole panel, the latest one that leaves no
    symbol more than ``max_per_symbol`` rows at or after it; so every kept timestamp
    keeps all its symbols (cross-sections stay whole) and the newest data is kept.
    Symbols with fewer rows than that keep all their rows after the cut.

    Parameters
    ----------
    index : pandas.Index
        A panel index with ``timestamp`` and ``symbol`` levels (another index counts
        as one symbol whose rows are ordered by the index values).
    max_per_symbol : int
        At least 1.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product(
    ...     [pd.date_range("2024", periods=4, freq="D"), ["A", "B"]],
    ...     names=["timestamp", "symbol"])
    >>> recent_rows(idx, 2).astype(int).tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    n = int(max_per_symbol)
    if isinstance(max_per_symbol, bool) or n != max_per_symbol or n < 1:
        raise DataError(
            f"max_samples_per_symbol must be a positive integer, got {max_per_symbol!r}"
        )
    if isinstance(index, pd.MultiIndex) and {"timestamp", "symbol"} <= set(index.names):
        ts = np.asarray(index.codes[index.names.index("timestamp")], dtype=np.int64)
        level = index.levels[index.names.index("timestamp")]
        if not level.is_monotonic_increasing:  # codes must follow time
            ts = level.argsort().argsort()[ts]
        symbols = np.asarray(index.codes[index.names.index("symbol")], dtype=np.int64)
    else:
        ts = pd.factorize(np.asarray(index), sort=True)[0].astype(np.int64)
        symbols = np.zeros(len(index), dtype=np.int64)
    if len(ts) == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((ts, symbols))
    ts_sorted, sym_sorted = ts[order], symbols[order]
    ends = np.flatnonzero(np.r_[sym_sorted[1:] != sym_sorted[:-1], True]) + 1
    starts = np.r_[0, ends[:-1]]
    long = (ends - starts) > n
    if not long.any():
        return np.ones(len(ts), dtype=bool)
    cutoff = ts_sorted[ends[long] - n].max()
    return ts >= cutoff
