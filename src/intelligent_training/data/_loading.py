"""Read a data directory (one table per symbol) into a panel."""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from intelligent_training.data._columns import DEFAULT_TARGET_PATTERNS, _compile
from intelligent_training.exceptions import DataError, DataWarning

__all__ = ["TIME_COLUMN_CANDIDATES", "discover_tables", "load_panel"]

logger = logging.getLogger(__name__)

#: Column names tried, in this order (case-insensitive), when ``time_column`` is not given.
TIME_COLUMN_CANDIDATES: tuple[str, ...] = ("ts", "timestamp", "date", "datetime", "time")
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".parquet", "parquet"),
    (".csv.gz", "csv"),
    (".csv", "csv"),
)
_PANDAS_INDEX = "__index_level_0__"


def _table_symbol(name: str) -> str | None:
    for suffix, _ in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "_"))


def _scan(folder: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """Tables of ``folder`` (symbol -> files) and its ``interval=*`` sub-folders."""
    tables: dict[str, list[Path]] = {}
    intervals: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if _hidden(entry):
            continue
        if entry.is_dir() and entry.name.startswith("interval="):
            intervals.append(entry)
            continue
        if entry.is_dir() and entry.name.startswith("symbol="):
            symbol = entry.name[len("symbol=") :]
            files = [p for p in sorted(entry.iterdir()) if p.is_file() and not _hidden(p)]
            files = [p for p in files if _table_symbol(p.name) is not None]
            if not files:
                raise DataError(
                    f"folder {entry} holds no .parquet/.csv files; put the table of symbol "
                    f"{symbol!r} in it or remove the folder."
                )
        elif entry.is_file() and _table_symbol(entry.name) is not None:
            symbol = str(_table_symbol(entry.name))
            files = [entry]
        else:
            continue
        if symbol in tables:
            raise DataError(
                f"symbol {symbol!r} has two tables in {folder}: {tables[symbol][0].name} and "
                f"{files[0].name}; keep one of them."
            )
        tables[symbol] = files
    return tables, intervals


def discover_tables(data_dir: str | Path) -> tuple[Path, dict[str, list[Path]]]:
    """Find the per-symbol tables of a data directory.

    Layouts: ``<SYM>.parquet``, ``<SYM>.csv``, ``<SYM>.csv.gz`` and hive-style
    ``symbol=<SYM>/*.parquet``. A directory holding no tables but exactly one
    ``interval=*`` folder is descended into.

    Returns
    -------
    folder : pathlib.Path
        The folder the tables were found in.
    tables : dict of str to list of pathlib.Path
        Symbol -> its file(s), symbols sorted.
    """
    folder = Path(data_dir).expanduser()
    if not folder.exists():
        raise DataError(
            f"data directory {folder} does not exist; pass the folder holding one table per "
            "symbol (<SYM>.parquet, <SYM>.csv[.gz] or symbol=<SYM>/*.parquet)."
        )
    if not folder.is_dir():
        raise DataError(
            f"{folder} is a file, not a data directory; pass the folder that holds one table "
            "per symbol."
        )
    tables, intervals = _scan(folder)
    if not tables and len(intervals) == 1:
        logger.info("descending into %s", intervals[0])
        folder = intervals[0]
        tables, intervals = _scan(folder)
    if not tables and len(intervals) > 1:
        names = [p.name for p in intervals]
        raise DataError(
            f"data directory {folder} holds several interval folders {names}; pass the one "
            f"to load, e.g. {folder / names[0]}."
        )
    if not tables:
        found = sorted(p.name for p in folder.iterdir() if not _hidden(p))[:10]
        raise DataError(
            f"no tables in data directory {folder} (found: {found or 'nothing'}); expected one "
            "table per symbol named <SYM>.parquet, <SYM>.csv, <SYM>.csv.gz or "
            "symbol=<SYM>/*.parquet."
        )
    return folder, dict(sorted(tables.items()))


def _select_symbols(
    tables: dict[str, list[Path]], symbols: str | Iterable[str] | None, folder: Path
) -> dict[str, list[Path]]:
    if symbols is None:
        return tables
    wanted = symbols.split(",") if isinstance(symbols, str) else list(symbols)
    wanted = list(dict.fromkeys(str(s).strip() for s in wanted if str(s).strip()))
    if not wanted:
        raise DataError("symbols is empty; pass at least one symbol or None for all.")
    unknown = [s for s in wanted if s not in tables]
    if unknown:
        available = list(tables)
        raise DataError(
            f"unknown symbol(s) {unknown} in {folder}; available: {available[:8]}"
            f"{' ...' if len(available) > 8 else ''} ({len(available)} in all). Check the "
            "spelling or drop them from symbols."
        )
    return {s: tables[s] for s in sorted(wanted)}


def _read_file(path: Path) -> pa.Table:
    kind = "parquet" if path.name.endswith(".parquet") else "csv"
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.csv as pcsv

        return pcsv.read_csv(path)
    except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
        raise DataError(
            f"cannot read {path} as {kind}: {exc}. The file may be corrupt or truncated; "
            "fix or remove it."
        ) from None


def _read_symbol(files: Sequence[Path]) -> pa.Table:
    tables = [_read_file(p) for p in files]
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(
            f"the part files {[p.name for p in files]} in {files[0].parent} have "
            f"incompatible columns ({exc}); give them the same schema."
        ) from None


def _read_all(sources: list[list[Path]]) -> list[pa.Table]:
    """Read every symbol's table, a few files at a time (pyarrow releases the GIL)."""
    if len(sources) < 8:
        return [_read_symbol(files) for files in sources]
    from concurrent.futures import ThreadPoolExecutor

    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_read_symbol, sources))


def _find_time_column(table: pa.Table, path: Path, time_column: str | None) -> str:
    names = table.column_names
    if time_column is not None:
        if time_column in names:
            return time_column
        raise DataError(
            f"time column {time_column!r} not found in {path}; its columns are "
            f"{names[:12]}{' ...' if len(names) > 12 else ''}. Pass the right time_column."
        )
    lower = {name.lower(): name for name in names}
    for candidate in TIME_COLUMN_CANDIDATES:
        if candidate in lower:
            return lower[candidate]
    # A datetime index written by pandas is stored as a column (its name, or __index_level_0__).
    metadata = table.schema.pandas_metadata or {}
    index_columns = [c for c in metadata.get("index_columns", []) if isinstance(c, str)]
    for name in [*index_columns, _PANDAS_INDEX]:
        if name in names and pa.types.is_temporal(table.schema.field(name).type):
            return name
    raise DataError(
        f"no time column in {path}: expected one of {list(TIME_COLUMN_CANDIDATES)} or a "
        f"datetime index; its columns are {names[:12]}{' ...' if len(names) > 12 else ''}. "
        "Pass time_column= (CLI: --time-column)."
    )


def _to_datetime_ns(column: pa.ChunkedArray, name: str, path: Path) -> np.ndarray:
    """Time values as tz-naive UTC ``datetime64[ns]``."""
    typ = column.type
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
        raise DataError(
            f"time column {name!r} in {path} holds numbers ({typ}), not datetimes; store "
            "datetimes (or ISO strings), or pass the right time_column."
        )
    if column.null_count:
        raise DataError(
            f"time column {name!r} in {path} has {column.null_count} missing value(s); drop "
            "those rows."
        )
    if pa.types.is_timestamp(typ):
        # Arrow stores zoned timestamps as UTC: the raw integers are already what we want.
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[typ.unit]
        raw = column.cast(pa.int64()).to_numpy()
        return (raw * scale).view("datetime64[ns]")
    series = column.to_pandas(date_as_object=False)
    try:
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif not pd.api.types.is_datetime64_dtype(series.dtype):
            series = pd.to_datetime(series, utc=True).dt.tz_localize(None)
        values = series.to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(
            f"cannot read time column {name!r} in {path} as datetimes ({exc}); fix its "
            "values or pass the right time_column."
        ) from None
    missing = np.isnat(values)
    if missing.any():
        raise DataError(
            f"time column {name!r} in {path} has {int(missing.sum())} missing value(s); drop "
            "those rows."
        )
    return values


def _is_numeric_type(typ: pa.DataType) -> bool:
    return (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_boolean(typ)
        or pa.types.is_decimal(typ)
        or pa.types.is_null(typ)
    )


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
        ``float32``, targets ``float64``. NaN values are kept.

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
    started = time.perf_counter()
    if min_cs is not None and (isinstance(min_cs, bool) or int(min_cs) != min_cs or min_cs < 1):
        raise DataError(f"min_cs must be a positive integer or None, got {min_cs!r}.")
    folder, tables = discover_tables(data_dir)
    tables = _select_symbols(tables, symbols, folder)
    target_regexes = _compile(
        DEFAULT_TARGET_PATTERNS if target_patterns is None else target_patterns
    )

    def is_target(name: str) -> bool:
        return any(p.search(name) for p in target_regexes)

    parts: list[pa.Table] = []
    stamps: list[np.ndarray] = []
    kept: list[str] = []
    origin: dict[str, Path] = {}
    dropped: dict[str, Path] = {}
    for symbol, table in zip(tables, _read_all(list(tables.values()))):
        files = tables[symbol]
        where = files[0] if len(files) == 1 else files[0].parent
        origin[symbol] = where
        if table.num_rows == 0:
            warnings.warn(
                f"{where} is empty; symbol {symbol!r} skipped.", DataWarning, stacklevel=2
            )
            continue
        name = _find_time_column(table, where, time_column)
        stamps.append(_to_datetime_ns(table.column(name), name, where))
        drop = [name] + [
            c for c in table.column_names if c.lower() == "symbol" or c == _PANDAS_INDEX
        ]
        table = table.drop_columns(list(dict.fromkeys(drop)))
        for field in table.schema:
            if _is_numeric_type(field.type):
                continue
            if is_target(field.name):
                raise DataError(
                    f"target column {field.name!r} in {where} is not numeric ({field.type}); "
                    "encode labels as numbers (e.g. 0/1)."
                )
            dropped.setdefault(field.name, where)
        parts.append(table)
        kept.append(symbol)
    if not parts:
        raise DataError(f"every table in {folder} is empty; nothing to load.")
    if dropped:
        warnings.warn(
            "dropping non-numeric feature column(s) "
            + ", ".join(f"{c!r} (e.g. in {p})" for c, p in dropped.items())
            + "; encode them as numbers to use them as features.",
            DataWarning,
            stacklevel=2,
        )
        parts = [t.drop_columns([c for c in dropped if c in t.column_names]) for t in parts]

    all_columns = list(dict.fromkeys(c for t in parts for c in t.column_names))
    present = [set(t.column_names) for t in parts]
    partial = {c: [s for s, p in zip(kept, present) if c not in p] for c in all_columns}
    partial = {c: s for c, s in partial.items() if s}
    if partial:
        warnings.warn(
            "column(s) missing for some symbols are filled with NaN: "
            + "; ".join(f"{c!r} missing for {s[:5]}" for c, s in list(partial.items())[:5]),
            DataWarning,
            stacklevel=2,
        )
    try:
        combined = pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(
            f"the symbol tables in {folder} have incompatible column types ({exc}); give the "
            "same column the same type in every file."
        ) from None
    del parts

    timestamps = np.concatenate(stamps)
    counts = np.array([len(s) for s in stamps])
    symbol_codes = np.repeat(np.arange(len(kept), dtype=np.int32), counts)
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
            order, ts_codes, symbol_codes = order[keep], ts_codes[keep], symbol_codes[keep]
    index = pd.MultiIndex(
        levels=[pd.DatetimeIndex(ts_levels, name="timestamp"), pd.Index(kept, dtype=object)],  # type: ignore[list-item]
        codes=[ts_codes, symbol_codes],  # type: ignore[list-item]
        names=["timestamp", "symbol"],
        verify_integrity=False,
    ).remove_unused_levels()

    # Cast in arrow (nulls become NaN), gather rows into panel order, hand over to numpy.
    columns: dict[str, np.ndarray] = {}
    take = pa.array(order)
    for name in combined.column_names:
        dtype = pa.float64() if is_target(name) else pa.float32()
        column = combined.column(name).cast(dtype).take(take)
        columns[name] = column.to_numpy(zero_copy_only=False)
    del combined
    panel = pd.DataFrame(columns, index=index, copy=False)
    for column, values in columns.items():
        bad = np.isinf(values)
        if bad.any():
            bad_symbols = sorted({kept[k] for k in np.unique(symbol_codes[bad])})
            raise DataError(
                f"column {column!r} has {int(bad.sum())} infinite value(s) for symbol(s) "
                f"{bad_symbols[:5]} (e.g. in {origin[bad_symbols[0]]}); replace inf with NaN "
                "or a finite value."
            )
    logger.info(
        "loaded %d rows x %d columns for %d symbols from %s in %.2fs",
        panel.shape[0],
        panel.shape[1],
        len(kept),
        folder,
        time.perf_counter() - started,
    )
    return panel
