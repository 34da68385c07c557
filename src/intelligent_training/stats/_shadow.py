"""Shadow features that keep each feature's autocorrelation, and the "beats its shadows" tally.

A feature is relevant when a model finds it more useful than a copy of it that cannot
carry information about the target. Boruta's copies are row shuffles; on time series a
shuffle is the wrong null: it destroys the feature's persistence, so a model that uses a
persistent feature to "remember" a persistent target (overlapping labels) can beat every
shuffled shadow with a feature that carries no information at all, and a model that
exploits smoothness sees the shuffled copies as obvious noise.

Here each shadow is the feature *circularly shifted in time within each symbol* by a
random offset: its own values, in its own order, so its distribution and autocorrelation
are kept (except at the one wrap-around point), but aligned with the target of a distant
time, so the link to the target is broken. The offset is drawn per (symbol, feature) from
``[min_shift, n_rows_of_symbol - min_shift]``, far from 0 (and from a full turn) in both
directions: with the default ``min_shift`` of a quarter of the series, a feature would need
an autocorrelation that survives hundreds of bars for the shadow to still follow the
original. A ``DataWarning`` says when a feature's estimated persistence reaches the shift.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError, DataWarning

__all__ = ["ShadowShifts", "shadow_features", "shadow_shifts", "shadow_wins"]

_DECORRELATED = 0.05  # an AR(1) autocorrelation below this counts as forgotten


def _symbol_layout(X: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows grouped by symbol in time order: ``order``, group ``starts`` and ``sizes``.

    ``order[starts[s]:starts[s] + sizes[s]]`` are the rows of symbol ``s`` in time order.
    Plain arrays (and frames without a ``symbol`` index level) are one series in row order.
    """
    index = getattr(X, "index", None)
    if isinstance(index, pd.MultiIndex) and "symbol" in index.names:
        symbols = pd.factorize(index.get_level_values("symbol"), sort=True)[0]
        if (symbols < 0).any():
            raise DataError("The 'symbol' index level of X has missing values.")
        if "timestamp" in index.names:
            times = pd.factorize(index.get_level_values("timestamp"), sort=True)[0]
        else:
            times = np.arange(n_rows)
        order = np.lexsort((times, symbols))
        sizes = np.bincount(symbols)
    else:
        order = np.arange(n_rows)
        sizes = np.array([n_rows])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return order, starts, sizes


def _lag1_autocorrelation(column: np.ndarray, same: np.ndarray) -> float:
    """Lag-1 autocorrelation of one column, pooled over symbols (rows in symbol/time
    order; ``same[i]`` says rows ``i`` and ``i + 1`` belong to the same symbol)."""
    x = column.astype(np.float64) - np.nanmean(column, dtype=np.float64)
    a, b = x[1:][same], x[:-1][same]
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.nansum(a * b) / np.sqrt(np.nansum(a * a) * np.nansum(b * b)))


@dataclass(frozen=True)
class ShadowShifts:
    """Where every shadow value of :func:`shadow_features` comes from.

    Attributes
    ----------
    order : ndarray of int
        The rows grouped by symbol, in time order within a symbol.
    starts, sizes : ndarray of int
        Where each symbol's rows start in ``order``, and how many there are.
    offsets : ndarray of int, shape (n_symbols, n_features)
        The circular shift of every (symbol, feature).
    shifts_min : ndarray of int
        The smallest shift allowed per symbol.

    Notes
    -----
    The shadow of feature ``j`` at the row ``order[starts[s] + k]`` is the feature's
    value at the row ``order[starts[s] + (k - offsets[s, j]) % sizes[s]]``.
    """

    order: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    offsets: np.ndarray
    shifts_min: np.ndarray


def shadow_shifts(
    X: Any,
    n_rows: int,
    n_features: int,
    *,
    random_state: int | np.random.Generator | None = None,
    min_shift: int | None = None,
) -> ShadowShifts:
    """The symbol layout and the random shifts of :func:`shadow_features` (same draws).

    ``X`` only gives the row layout: its ``symbol`` / ``timestamp`` index levels (a
    DataFrame, even without columns), else the rows are one series in row order.

    Raises
    ------
    DataError
        When a symbol has too few rows for the shifts.
    """
    order, starts, sizes = _symbol_layout(X, n_rows)
    shifts_min = np.full(len(sizes), 0, dtype=np.int64)
    for s, size in enumerate(sizes):
        low = int(math.ceil(size / 4)) if min_shift is None else int(min_shift)
        if low < 1 or 2 * low > size:
            raise DataError(
                f"shadow_features: symbol {s} has {size} rows, too few for shifts of at least "
                f"{low} rows in both directions; need {2 * max(low, 1)} rows or a smaller "
                "min_shift."
            )
        shifts_min[s] = low
    rng = np.random.default_rng(random_state)
    # One offset per (symbol, feature), uniform on [min_shift, size - min_shift].
    span = (sizes - 2 * shifts_min + 1)[:, None]
    offsets = shifts_min[:, None] + np.floor(rng.random((len(sizes), n_features)) * span)
    return ShadowShifts(order, starts, sizes, offsets.astype(np.int64), shifts_min)


def shadow_features(
    X: Any,
    *,
    random_state: int | np.random.Generator | None = None,
    min_shift: int | None = None,
    prefix: str = "shadow_",
) -> Any:
    """Circularly time-shifted copies of every feature, per symbol.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        A panel (a ``symbol`` index level; rows in any order, ragged symbols allowed,
        time order from the ``timestamp`` level) or a single series (rows in time order).
    random_state : int, Generator or None
        Seed of the offsets.
    min_shift : int, optional
        Smallest shift in rows of a symbol, in both directions; default a quarter of the
        symbol's rows. Each symbol needs at least ``2 * min_shift`` rows.
    prefix : str, default="shadow_"
        Prefix of the shadow column names (DataFrame input).

    Returns
    -------
    DataFrame or ndarray
        Same shape, index and row order as ``X``; columns ``prefix + name``. ``X`` is not
        modified.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[3.0], [1.0], [4.0], [1.0], [5.0], [9.0], [2.0], [6.0]])
    >>> shadow_features(X, random_state=0, min_shift=2).ravel().tolist()  # shifted by 3
    [1.0, 5.0, 9.0, 2.0, 6.0, 3.0, 1.0, 4.0]
    """
    is_frame = isinstance(X, pd.DataFrame)
    # Float32 input stays float32: the shadows are the input's own values, moved (one
    # output matrix and a few columns of scratch, not several float64 copies of X).
    dtype = np.float32 if _all_float32(X) else np.float64
    values = X.to_numpy(dtype=dtype, copy=False) if is_frame else np.asarray(X, dtype=dtype)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise DataError(f"shadow_features: X must be 2-D, got shape {values.shape}.")
    n_rows, n_features = values.shape
    shifts = shadow_shifts(X, n_rows, n_features, random_state=random_state, min_shift=min_shift)
    order, starts, sizes = shifts.order, shifts.starts, shifts.sizes
    offsets, shifts_min = shifts.offsets, shifts.shifts_min

    symbol_of_sorted = np.repeat(np.arange(len(sizes)), sizes)
    position = np.arange(n_rows) - starts[symbol_of_sorted]  # position within its symbol
    same = symbol_of_sorted[1:] == symbol_of_sorted[:-1]
    sizes_of_row = sizes[symbol_of_sorted]
    starts_of_row = starts[symbol_of_sorted]
    phi = np.empty(n_features)
    out = np.empty((n_rows, n_features), dtype=values.dtype)
    for j in range(n_features):  # a column at a time: O(n_rows) scratch
        sorted_column = values[order, j]
        phi[j] = _lag1_autocorrelation(sorted_column, same)
        source = starts_of_row + (position - offsets[symbol_of_sorted, j]) % sizes_of_row
        out[order, j] = sorted_column[source]
    with np.errstate(invalid="ignore", divide="ignore"):
        memory = np.where(
            (phi > 0) & (phi < 1), np.log(_DECORRELATED) / np.log(np.clip(phi, 1e-12, None)), 0.0
        )
    memory = np.where(phi >= 1, np.inf, memory)
    if (memory > shifts_min.min()).any():
        worst = int(np.nanargmax(memory))
        name = X.columns[worst] if is_frame else worst
        warnings.warn(
            f"shadow_features: feature {name!r} stays autocorrelated for about "
            f"{memory[worst]:.0f} rows (lag-1 autocorrelation {phi[worst]:.3f}), more than the "
            f"smallest shift ({shifts_min.min()} rows): its shadow may still follow it. Use "
            "longer series or difference the feature.",
            DataWarning,
            stacklevel=2,
        )
    if not is_frame:
        return out.astype(np.float64, copy=False)  # float64 as documented (exact)
    frame = pd.DataFrame(out, index=X.index, columns=[f"{prefix}{name}" for name in X.columns])
    # Keep float32 features float32 (the panel contract); anything else becomes float64.
    dtypes = {new: X[old].dtype for new, old in zip(frame.columns, X.columns)}
    if dtype == np.float32:
        return frame
    return frame.astype({c: d for c, d in dtypes.items() if d == np.float32})


def _all_float32(X: Any) -> bool:
    """Whether every column of ``X`` is float32."""
    if isinstance(X, pd.DataFrame):
        return X.shape[1] > 0 and all(d == np.float32 for d in X.dtypes)
    return getattr(X, "dtype", None) == np.float32


def shadow_wins(importances: Any, shadow_importances: Any, *, voting: Any = None) -> pd.DataFrame:
    """How often each feature beats the best shadow, over (fold x family) cells.

    Parameters
    ----------
    importances : DataFrame or array-like of shape (n_cells, n_features)
        Importance of every real feature in every cell (one cell = one family on one fold);
        NaN where a cell has no importance for a feature.
    shadow_importances : array-like of shape (n_cells, n_shadows)
        Importance of the shadows in the same cells.
    voting : array-like of bool, shape (n_cells,), optional
        Cells that vote. The selector passes ``fold_skill > 0``: a family that does not
        learn the target on a fold (skill <= 0) has importances that mean nothing and
        does not vote. Default: all cells.

    Returns
    -------
    DataFrame
        One row per feature (the columns of ``importances``, else ``0..n_features-1``):
        ``shadow_wins`` (cells where it beats the best shadow, strictly), ``n_votes``
        (voting cells with a finite importance for it and its shadows),
        ``shadow_win_share`` and ``relevant`` (a strict majority: ``wins > n_votes / 2``).

    Examples
    --------
    >>> import numpy as np
    >>> real = np.array([[0.5, 0.1], [0.4, 0.3], [0.6, 0.0]])
    >>> shadows = np.array([[0.2, 0.1], [0.25, 0.1], [0.3, 0.2]])
    >>> shadow_wins(real, shadows)[["shadow_wins", "n_votes", "relevant"]].to_numpy().tolist()
    [[3, 3, True], [1, 3, False]]
    """
    names = importances.columns if isinstance(importances, pd.DataFrame) else None
    real = np.asarray(importances, dtype=np.float64)
    shadow = np.asarray(shadow_importances, dtype=np.float64)
    if real.ndim != 2 or shadow.ndim != 2 or len(real) != len(shadow):
        raise DataError(
            "shadow_wins: importances and shadow_importances must be 2-D with one row per "
            f"(fold x family) cell; got shapes {real.shape} and {shadow.shape}."
        )
    if shadow.shape[1] == 0:
        raise DataError("shadow_wins: there are no shadow importances to compare with.")
    votes = np.ones(len(real), dtype=bool) if voting is None else np.asarray(voting, dtype=bool)
    if votes.shape != (len(real),):
        raise DataError(f"shadow_wins: voting must have one entry per cell ({len(real)}).")
    best_shadow = np.max(shadow, axis=1)  # NaN if any shadow is NaN: the cell cannot judge
    counted = votes[:, None] & np.isfinite(real) & np.isfinite(best_shadow)[:, None]
    with np.errstate(invalid="ignore"):
        wins = (counted & (real > best_shadow[:, None])).sum(axis=0)
    n_votes = counted.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_votes > 0, wins / np.maximum(n_votes, 1), np.nan)
    index = pd.Index(names if names is not None else range(real.shape[1]), name="feature")
    return pd.DataFrame(
        {
            "shadow_wins": wins.astype(np.int64),
            "n_votes": n_votes.astype(np.int64),
            "shadow_win_share": share,
            "relevant": (n_votes > 0) & (2 * wins > n_votes),
        },
        index=index,
    )
