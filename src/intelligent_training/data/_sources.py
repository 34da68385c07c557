"""The files of a data directory: discovery, schemas, time columns and column reads.

A *unit* is one file of one symbol (a hive folder ``symbol=<SYM>/`` may hold several
part files). The loader reads a parquet unit several times: first its schema and time
column, then the kept columns a group at a time (column projection: only those
columns are decoded). CSV files cannot be projected cheaply: they are parsed once
and their numeric columns kept as numpy arrays until assembled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from intelligent_training.data._parquet import read_table
from intelligent_training.exceptions import DataError

__all__ = [
    "TIME_COLUMN_CANDIDATES",
    "Unit",
    "discover_tables",
    "is_numeric_type",
    "open_unit",
    "select_symbols",
    "to_datetime_ns",
]

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


def select_symbols(
    tables: dict[str, list[Path]], symbols: str | Iterable[str] | None, folder: Path
) -> dict[str, list[Path]]:
    """The tables of the requested symbols (all when ``symbols`` is None); unknown ones fail."""
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


def _unreadable(path: Path, kind: str, exc: BaseException) -> DataError:
    if "checksum" in str(exc).lower():
        return DataError(
            f"{path} is corrupt: a page's checksum does not match its contents ({exc}); "
            "restore the file from its source or remove it."
        )
    return DataError(
        f"cannot read {path} as {kind}: {exc}. The file may be corrupt or truncated; "
        "fix or remove it."
    )


_READ_ERRORS = (pa.ArrowException, OSError, ValueError, EOFError)


def _find_time_column(schema: pa.Schema, path: Path, time_column: str | None) -> str:
    names = schema.names
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
    metadata = schema.pandas_metadata or {}
    index_columns = [c for c in metadata.get("index_columns", []) if isinstance(c, str)]
    for name in [*index_columns, _PANDAS_INDEX]:
        if name in names and pa.types.is_temporal(schema.field(name).type):
            return name
    raise DataError(
        f"no time column in {path}: expected one of {list(TIME_COLUMN_CANDIDATES)} or a "
        f"datetime index; its columns are {names[:12]}{' ...' if len(names) > 12 else ''}. "
        "Pass time_column= (CLI: --time-column)."
    )


def to_datetime_ns(column: pa.ChunkedArray | pa.Array, name: str, path: Path) -> np.ndarray:
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


def is_numeric_type(typ: pa.DataType) -> bool:
    return (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_boolean(typ)
        or pa.types.is_decimal(typ)
        or pa.types.is_null(typ)
    )


def _to_numpy(column: pa.ChunkedArray | pa.Array, dtype: np.dtype) -> np.ndarray:
    """A numeric Arrow column as a numpy array of ``dtype`` (nulls become NaN)."""
    arrow_type = pa.float32() if dtype == np.float32 else pa.float64()
    return np.asarray(column.cast(arrow_type).to_numpy(zero_copy_only=False), dtype=dtype)


@dataclass
class Unit:
    """One table file of one symbol: its schema, time column and (CSV) its values."""

    symbol: str
    path: Path
    kind: str
    schema: pa.Schema
    time_name: str
    n_rows: int
    #: CSV only: the numeric columns, already converted (parquet columns are read later).
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def data_columns(self) -> list[str]:
        """Every column except the time, symbol and pandas-index columns."""
        skip = {self.time_name, _PANDAS_INDEX}
        return [
            n for n in dict.fromkeys(self.schema.names) if n not in skip and n.lower() != "symbol"
        ]

    def read_columns(
        self, names: list[str], dtype_of: Callable[[str], np.dtype]
    ) -> dict[str, np.ndarray]:
        """The columns ``names`` this file has, as numpy arrays of their dtypes.

        CSV values were converted when the file was parsed and are handed over (and
        forgotten) here; parquet columns are read now, only these.
        """
        present = [n for n in names if n in self.schema.names]
        if self.kind == "csv":
            return {n: self.values.pop(n) for n in present if n in self.values}
        if not present:
            return {}
        try:
            table = read_table(self.path, columns=present)
        except _READ_ERRORS as exc:
            raise _unreadable(self.path, self.kind, exc) from None
        return {n: _to_numpy(table.column(n), dtype_of(n)) for n in present}


def open_unit(
    symbol: str, path: Path, time_column: str | None, dtype_of: Callable[[str], np.dtype]
) -> tuple[Unit, np.ndarray]:
    """The unit of ``path`` and its timestamps (``datetime64[ns]``).

    ``dtype_of(name)`` gives the numpy dtype a numeric column is kept as (CSV values
    are converted right away: the parsed table is not kept).
    """
    kind = "parquet" if path.name.endswith(".parquet") else "csv"
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            name = _find_time_column(schema, path, time_column)
            table = read_table(path, columns=[name])
            unit = Unit(symbol, path, kind, schema, name, table.num_rows)
            stamps = to_datetime_ns(table.column(name), name, path) if table.num_rows else None
            return unit, stamps if stamps is not None else np.empty(0, "datetime64[ns]")
        import pyarrow.csv as pcsv

        table = pcsv.read_csv(path)
    except DataError:
        raise
    except _READ_ERRORS as exc:
        raise _unreadable(path, kind, exc) from None
    name = _find_time_column(table.schema, path, time_column)
    unit = Unit(symbol, path, kind, table.schema, name, table.num_rows)
    stamps = to_datetime_ns(table.column(name), name, path) if table.num_rows else None
    for column in unit.data_columns:
        if is_numeric_type(table.schema.field(column).type):
            unit.values[column] = _to_numpy(table.column(column), dtype_of(column))
    del table
    return unit, stamps if stamps is not None else np.empty(0, "datetime64[ns]")
