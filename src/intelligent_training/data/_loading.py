"""Read a data directory (one table per symbol) into a panel, or straight into ``(X, Y)``.

Memory: the loader reads every file twice, first only its time column (the row order
of the panel is decided from all timestamps), then the kept columns in record
batches, each converted right away (features to float32, targets to float64) and
written into its final place. So the process holds one copy of the features plus one
record batch at a time, never the Arrow tables of the whole directory; Arrow's freed
buffers are handed back to the system at the end. CSV files cannot be read column by
column: their numeric columns are converted as they are parsed and held until placed
(about two copies at the peak); convert large CSV data to parquet.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from intelligent_training.data._columns import DEFAULT_TARGET_PATTERNS, _compile
from intelligent_training.data._memory import release_memory
from intelligent_training.data._sources import (
    TIME_COLUMN_CANDIDATES,
    Unit,
    discover_tables,
    is_numeric_type,
    open_unit,
    select_symbols,
)
from intelligent_training.exceptions import DataError, DataWarning

__all__ = ["TIME_COLUMN_CANDIDATES", "discover_tables", "load_panel", "load_xy"]

logger = logging.getLogger(__name__)

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


@dataclass
class _Loaded:
    """The assembled data: the index and one 2-D block per kind (columns x rows)."""

    index: pd.MultiIndex
    features: list[str]
    X: np.ndarray  # (n_features, n_rows) float32
    targets: list[str]
    Y: np.ndarray  # (n_targets, n_rows) float64
    columns: list[str]  # every kept column in the order of the files


def _workers(n_units: int) -> int:
    return max(1, min(4, os.cpu_count() or 1, n_units // 2))


def _map(func, items: list) -> list:
    """``func`` over ``items``, a few at a time in threads (pyarrow releases the GIL)."""
    if _workers(len(items)) == 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=_workers(len(items))) as pool:
        return list(pool.map(func, items))


def _restrict(
    names: Sequence[str] | None, available: list[str], other: list[str], what: str
) -> list[str]:
    """``names`` checked against the ``available`` columns of their kind (None: all)."""
    if names is None:
        return available
    wanted = list(dict.fromkeys(str(n) for n in names))
    missing = [n for n in wanted if n not in available]
    if missing:
        wrong_kind = [n for n in missing if n in other]
        hint = (
            f" ({wrong_kind} exist but are not {what}: target names must match the target patterns)"
            if wrong_kind
            else ""
        )
        raise DataError(
            f"unknown {what} {missing} (not columns of the data){hint}; available {what}: "
            f"{', '.join(available[:30])}{' ...' if len(available) > 30 else ''}"
        )
    return wanted


def _columns(units: list[Unit], is_target) -> list[str]:
    """The numeric columns in order of appearance; non-numeric features are dropped."""
    order: dict[str, None] = {}
    dropped: dict[str, Path] = {}
    for unit in units:
        for name in unit.data_columns:
            if is_numeric_type(unit.schema.field(name).type):
                order.setdefault(name, None)
            elif is_target(name):
                raise DataError(
                    f"target column {name!r} in {unit.path} is not numeric "
                    f"({unit.schema.field(name).type}); encode labels as numbers (e.g. 0/1)."
                )
            else:
                dropped.setdefault(name, unit.path)
    if dropped:
        warnings.warn(
            "dropping non-numeric feature column(s) "
            + ", ".join(f"{c!r} (e.g. in {p})" for c, p in dropped.items())
            + "; encode them as numbers to use them as features.",
            DataWarning,
            stacklevel=4,
        )
    return [c for c in order if c not in dropped]


def _warn_partial(units: list[Unit], kept: list[str], columns: list[str]) -> None:
    """Warn about kept columns that some symbols lack (they are NaN there)."""
    present: dict[str, set[str]] = {s: set() for s in kept}
    for unit in units:
        present[unit.symbol].update(unit.data_columns)
    partial = {c: [s for s in kept if c not in present[s]] for c in columns}
    partial = {c: s for c, s in partial.items() if s}
    if partial:
        warnings.warn(
            "column(s) missing for some symbols are filled with NaN: "
            + "; ".join(f"{c!r} missing for {s[:5]}" for c, s in list(partial.items())[:5]),
            DataWarning,
            stacklevel=4,
        )


def _order(
    stamps: list[np.ndarray], symbol_of_unit: list[int], kept: list[str], origin, min_cs
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Panel order: ``(source row of every panel row, ts codes, ts levels, symbol codes)``.

    Source rows are the rows of the files concatenated in unit order.
    """
    timestamps = np.concatenate(stamps)
    counts = np.array([len(s) for s in stamps])
    stamps.clear()  # the caller's list: one copy of the timestamps at a time
    symbol_codes = np.repeat(np.asarray(symbol_of_unit, dtype=np.int32), counts)
    order = np.lexsort((symbol_codes, timestamps.view(np.int64)))
    timestamps, symbol_codes = timestamps[order], symbol_codes[order]
    same = (timestamps[1:] == timestamps[:-1]) & (symbol_codes[1:] == symbol_codes[:-1])
    if same.any():
        first = int(np.argmax(same))
        symbol = kept[symbol_codes[first]]
        raise DataError(
            f"{int(same.sum())} duplicate (timestamp, symbol) row(s), e.g. symbol {symbol!r} "
            f"at {pd.Timestamp(timestamps[first])} in {origin[symbol]}; keep one row per "
            "timestamp."
        )
    ts_codes, ts_levels = pd.factorize(timestamps)  # sorted input: levels come out sorted
    del timestamps
    keep = None
    if min_cs is not None:
        per_ts = np.bincount(ts_codes)
        keep = per_ts[ts_codes] >= int(min_cs)
        if not keep.any():
            raise DataError(
                f"min_cs={min_cs} drops every timestamp: at most {int(per_ts.max())} symbols "
                "share a timestamp. Lower min_cs or load more symbols."
            )
        n_dropped = int((per_ts < int(min_cs)).sum())
        if n_dropped:
            logger.info("min_cs=%d drops %d of %d timestamps", min_cs, n_dropped, len(per_ts))
    source = order if keep is None else order[keep]
    if keep is not None:
        ts_codes, symbol_codes = ts_codes[keep], symbol_codes[keep]
    del order
    return source, ts_codes, np.asarray(ts_levels), symbol_codes


def _release_memory() -> None:
    """Hand freed memory back to the system (:func:`~._memory.release_memory`).

    The loader frees many small buffers; glibc keeps them in its arenas (about 15% of
    the features' size here) unless asked to trim.
    """
    release_memory()


@contextlib.contextmanager
def _system_allocator() -> Iterator[None]:
    """Arrow allocates through the system allocator (``malloc``) inside the block.

    The loader reads each file's columns into a short-lived Arrow buffer and frees it.
    glibc reuses those freed blocks for the next file; Arrow's own pools (jemalloc,
    mimalloc) keep more of them mapped, and the peak of loading 2,000,000 rows x 50
    features grew by about 60 MiB (2.09x instead of 1.93x the features' float32 size,
    ``benchmarks/bench_memory.py --stages load``). The process's default pool is
    restored on exit.
    """
    previous = pa.default_memory_pool()
    try:
        system = pa.system_memory_pool()
    except (AttributeError, NotImplementedError):  # pragma: no cover - an Arrow without it
        yield
        return
    pa.set_memory_pool(system)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _group_size(n_source_rows: int, n_features: int, itemsize: int) -> int:
    """Columns per read: the source-order buffer stays under 1/8 of the features."""
    budget = max(16 * 2**20, n_source_rows * n_features * 4 // 8)
    return max(1, budget // max(1, n_source_rows * itemsize))


def _place(
    units: list[Unit],
    starts: np.ndarray,
    source: np.ndarray,
    names: list[str],
    out: np.ndarray,
    dtype_of,
    group: int,
) -> None:
    """Read ``names`` a group at a time and gather them into panel order in ``out``.

    Each group is read from every file into a buffer in file order (contiguous
    writes), then gathered row by row into ``out`` (``out[j] = buffer[source]``).
    """
    n_source = int(starts[-1])
    pool = pa.default_memory_pool()
    for first in range(0, len(names), group):
        chunk = names[first : first + group]
        buffer = np.empty((len(chunk), n_source), dtype=out.dtype)

        def read(k: int, chunk: list[str] = chunk, buffer: np.ndarray = buffer) -> None:
            unit = units[k]
            lo, hi = int(starts[k]), int(starts[k + 1])
            values = unit.read_columns(chunk, dtype_of)
            for g, name in enumerate(chunk):
                column = values.pop(name, None)
                if column is None:  # a column this file lacks: NaN on its rows
                    buffer[g, lo:hi] = np.nan
                    continue
                bad = np.isinf(column)
                if bad.any():
                    raise DataError(
                        f"column {name!r} has {int(bad.sum())} infinite value(s) for "
                        f"symbol(s) [{unit.symbol!r}] (e.g. in {unit.path}); replace inf "
                        "with NaN or a finite value."
                    )
                buffer[g, lo:hi] = column
            pool.release_unused()  # Arrow keeps freed buffers for reuse: hand them back

        _map(read, list(range(len(units))))
        for g in range(len(chunk)):
            np.take(buffer[g], source, out=out[first + g])
        del buffer


@_system_allocator()  # Arrow on the system allocator while the files are read
def _load(
    data_dir: str | Path,
    symbols: str | Iterable[str] | None,
    time_column: str | None,
    min_cs: int | None,
    target_patterns: str | Sequence[str] | None,
    features: Sequence[str] | None,
    targets: Sequence[str] | None,
) -> _Loaded:
    started = time.perf_counter()
    if min_cs is not None and (isinstance(min_cs, bool) or int(min_cs) != min_cs or min_cs < 1):
        raise DataError(f"min_cs must be a positive integer or None, got {min_cs!r}.")
    folder, tables = discover_tables(data_dir)
    tables = select_symbols(tables, symbols, folder)
    regexes = _compile(DEFAULT_TARGET_PATTERNS if target_patterns is None else target_patterns)

    def is_target(name: str) -> bool:
        return any(p.search(name) for p in regexes)

    def dtype_of(name: str) -> np.dtype:
        return _F64 if is_target(name) else _F32

    files = [(s, p) for s, paths in tables.items() for p in paths]
    opened = _map(lambda sp: open_unit(sp[0], sp[1], time_column, dtype_of), files)
    rows_of: dict[str, int] = {}
    for unit, _ in opened:
        rows_of[unit.symbol] = rows_of.get(unit.symbol, 0) + unit.n_rows
    origin = {s: (paths[0] if len(paths) == 1 else paths[0].parent) for s, paths in tables.items()}
    for symbol, n in rows_of.items():
        if n == 0:
            warnings.warn(
                f"{origin[symbol]} is empty; symbol {symbol!r} skipped.", DataWarning, stacklevel=3
            )
    kept = [s for s in tables if rows_of.get(s, 0) > 0]
    if not kept:
        raise DataError(f"every table in {folder} is empty; nothing to load.")
    opened = [(u, st) for u, st in opened if u.n_rows > 0]
    units = [u for u, _ in opened]

    columns = _columns(units, is_target)
    all_targets = [c for c in columns if is_target(c)]
    all_features = [c for c in columns if not is_target(c)]
    feature_names = _restrict(features, all_features, all_targets, "features")
    target_names = _restrict(targets, all_targets, all_features, "targets")
    _warn_partial(units, kept, [c for c in columns if c in {*feature_names, *target_names}])

    code = {s: k for k, s in enumerate(kept)}
    stamps = [st for _, st in opened]
    del opened
    source, ts_codes, ts_levels, symbol_codes = _order(
        stamps, [code[u.symbol] for u in units], kept, origin, min_cs
    )
    n_rows = len(source)
    index = pd.MultiIndex(
        levels=[pd.DatetimeIndex(ts_levels, name="timestamp"), pd.Index(kept, name="symbol")],  # type: ignore[list-item]
        codes=[ts_codes, symbol_codes],  # type: ignore[list-item]
        names=["timestamp", "symbol"],
        verify_integrity=False,
    ).remove_unused_levels()
    del ts_codes, symbol_codes  # the index keeps them in the smallest integer type
    starts = np.concatenate([[0], np.cumsum([u.n_rows for u in units])])
    n_source = int(starts[-1])
    X = np.empty((len(feature_names), n_rows), dtype=np.float32)
    Y = np.empty((len(target_names), n_rows), dtype=np.float64)
    for names, out in ((feature_names, X), (target_names, Y)):
        group = _group_size(n_source, len(feature_names), out.itemsize)
        _place(units, starts, source, names, out, dtype_of, group)
    del source
    for unit in units:
        unit.values.clear()
    _release_memory()

    wanted = set(feature_names) | set(target_names)
    logger.info(
        "loaded %d rows x %d columns for %d symbols from %s in %.2fs",
        n_rows,
        len(wanted),
        len(kept),
        folder,
        time.perf_counter() - started,
    )
    return _Loaded(index, feature_names, X, target_names, Y, [c for c in columns if c in wanted])


def load_xy(
    data_dir: str | Path,
    symbols: str | Iterable[str] | None = None,
    *,
    time_column: str | None = None,
    min_cs: int | None = None,
    target_patterns: str | Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load a data directory straight into features ``X`` and candidate targets ``Y``.

    The same data and checks as ``split_features_targets(load_panel(...))`` without the
    intermediate panel: only the requested columns are read, features go straight
    into one float32 block, and the process never holds a second copy of them.

    Parameters
    ----------
    data_dir, symbols, time_column, min_cs, target_patterns
        As in :func:`load_panel`.
    features : sequence of str, optional
        Feature columns to read (default: every numeric non-target column).
    targets : sequence of str, optional
        Target columns to read (default: every column matching the target patterns).

    Returns
    -------
    X : pandas.DataFrame
        Features, float32, one block, panel index.
    Y : pandas.DataFrame
        Targets, float64, same index.

    Raises
    ------
    DataError
        Everything :func:`load_panel` raises; a name in ``features`` / ``targets``
        that is not a column of that kind; no feature or no target column.
    """
    loaded = _load(data_dir, symbols, time_column, min_cs, target_patterns, features, targets)
    if not loaded.targets:
        raise DataError(
            f"no target columns in {data_dir}; target names must match one of "
            f"{list(DEFAULT_TARGET_PATTERNS) if target_patterns is None else target_patterns}. "
            "Rename the label columns (e.g. 'fwd_ret_15m') or pass target_patterns."
        )
    if not loaded.features:
        raise DataError(
            f"no numeric feature columns in {data_dir} (targets: {loaded.targets[:10]}); add "
            "feature columns whose names do not match a target pattern."
        )
    X = pd.DataFrame(loaded.X.T, index=loaded.index, columns=loaded.features, copy=False)
    Y = pd.DataFrame(loaded.Y.T, index=loaded.index, columns=loaded.targets, copy=False)
    return X, Y


def load_panel(
    data_dir: str | Path,
    symbols: str | Iterable[str] | None = None,
    *,
    time_column: str | None = None,
    min_cs: int | None = None,
    target_patterns: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Load a data directory of per-symbol tables into a panel.

    Parameters
    ----------
    data_dir : str or pathlib.Path
        Folder with one table per symbol: ``<SYM>.parquet``, ``<SYM>.csv``,
        ``<SYM>.csv.gz`` or hive-style ``symbol=<SYM>/*.parquet``. A folder holding
        exactly one ``interval=*`` folder (and no tables) is descended into.
    symbols : str or iterable of str, optional
        Only these symbols (a string may be comma-separated). ``None``: all.
    time_column : str, optional
        Name of the time column; default: the first of ``ts``, ``timestamp``, ``date``,
        ``datetime``, ``time`` (case-insensitive), else a datetime index.
    min_cs : int, optional
        Drop timestamps with fewer than ``min_cs`` symbols (cross-section size).
    target_patterns : str or sequence of str, optional
        Regular expressions naming target columns (default
        :data:`DEFAULT_TARGET_PATTERNS`); they decide which columns are targets
        (float64) and which are features (float32).

    Returns
    -------
    pandas.DataFrame
        The panel: MultiIndex ``("timestamp", "symbol")`` (tz-naive UTC
        ``datetime64[ns]``, ``str``), sorted by timestamp then symbol; features
        ``float32``, targets ``float64``, columns in the order of the files. NaN
        values are kept. For large data prefer :func:`load_xy` (no panel, no copy
        in ``split_features_targets``).

    Raises
    ------
    DataError
        Missing directory, no tables, unknown symbol, unreadable file, no time column,
        duplicate ``(timestamp, symbol)`` rows, a non-numeric target, inf values, or
        nothing left after ``min_cs``. The message names the file, column or symbol.

    Warns
    -----
    DataWarning
        Non-numeric feature columns (dropped), columns missing for some symbols
        (filled with NaN), empty tables (skipped).
    """
    loaded = _load(data_dir, symbols, time_column, min_cs, target_patterns, None, None)
    arrays = {name: loaded.X[j] for j, name in enumerate(loaded.features)}
    arrays.update({name: loaded.Y[j] for j, name in enumerate(loaded.targets)})
    return pd.DataFrame(
        {name: arrays[name] for name in loaded.columns}, index=loaded.index, copy=False
    )
