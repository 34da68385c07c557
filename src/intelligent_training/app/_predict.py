"""Score a data directory with a finished run, and the predictions file it is written to.

:func:`predict_data_dir` is what ``intelligent-train predict`` runs: it resolves the
published run once, loads its pipeline (``IntelligentPipeline.load``, every file checked
against the manifest), reads the new data with the loader and the data settings the run
was trained with (its ``resolved_config.yaml``: time column, target patterns, the
feature list when the run was given one), checks the new data's columns against the
training features and returns ``IntelligentPipeline.predict_all`` of it, with what the
file's metadata records.

:func:`write_predictions` writes that frame atomically (a temporary file in the same
directory, flushed, then renamed over the destination: a failure leaves nothing, or the
previous file, never a partial one):

- ``.parquet``: the columns ``<target>__<family>``, the index ``(timestamp, symbol)``,
  and the metadata as JSON under the key ``intelligent_training`` of the Parquet schema
  metadata;
- ``.csv`` / ``.csv.gz``: the same table, after a first line
  ``# intelligent-training: <the metadata as JSON>`` (``pd.read_csv(path, skiprows=1)``
  reads the table).

:func:`read_predictions` reads either back into the frame ``predict_all`` returned
(columns ``(target, family)``), the metadata in ``frame.attrs["intelligent_training"]``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import secrets
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import ConfigError, DataError
from intelligent_training.pipeline._profile import DRIFT_THRESHOLD

__all__ = [
    "FORMATS",
    "METADATA_KEY",
    "predict_data_dir",
    "predictions_format",
    "read_predictions",
    "write_predictions",
]

#: The key of the metadata in the Parquet schema metadata and ``DataFrame.attrs``.
METADATA_KEY = "intelligent_training"
#: File name endings of the predictions file and their format.
FORMATS = {".parquet": "parquet", ".csv": "csv", ".csv.gz": "csv.gz"}
_CSV_PREFIX = "# intelligent-training: "
_SEPARATOR = "__"
_FORMAT_VERSION = 1


def predictions_format(path: str | os.PathLike[str]) -> str:
    """``parquet``, ``csv`` or ``csv.gz`` from the file name; anything else is a ConfigError."""
    name = Path(path).name.lower()
    for ending, kind in sorted(FORMATS.items(), key=lambda item: -len(item[0])):
        if name.endswith(ending) and len(name) > len(ending):
            return kind
    raise ConfigError(
        f"cannot tell the format of {str(path)!r}: name the predictions file *.parquet, "
        "*.csv or *.csv.gz"
    )


# ------------------------------------------------------------------ the run
def _training_data_settings(run: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` section of the run's ``resolved_config.yaml`` (verified), or ``{}``."""
    import yaml

    from intelligent_training.io import verify_files

    rel = "resolved_config.yaml"
    listing = manifest.get("artefacts")
    if not isinstance(listing, dict) or rel not in listing:
        return {}  # written by IntelligentPipeline.save: no configuration
    verify_files(run, listing, [rel], where=str(run / "manifest.json"))
    try:
        config = yaml.safe_load((run / rel).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        from intelligent_training.exceptions import ArtefactError

        raise ArtefactError(f"cannot read {run / rel}: {exc}") from None
    data = config.get("data") if isinstance(config, dict) else None
    return data if isinstance(data, dict) else {}


def _raw_types(data_dir: Any, symbols: Any, names: list[str]) -> dict[str, str]:
    """``name -> "type (in file)"`` of the ``names`` the new data's files hold non-numeric."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from intelligent_training.data._sources import discover_tables, is_numeric_type, select_symbols

    folder, tables = discover_tables(data_dir)
    tables = select_symbols(tables, symbols, folder)
    found: dict[str, str] = {}
    for paths in tables.values():
        for path in paths:
            try:
                if path.name.endswith(".parquet"):
                    schema = pq.read_schema(path)
                else:
                    schema = pcsv.read_csv(path).schema
            except Exception:  # policy: unreadable files were reported by the loader
                continue
            for name in names:
                if name in found or name not in schema.names:
                    continue
                typ = schema.field(name).type
                if not is_numeric_type(typ):
                    found[name] = f"{typ} (in {path})"
    return found


def _load_new(
    pipe: Any,
    data_dir: Any,
    symbols: Any,
    time_column: str | None,
    settings: dict[str, Any],
) -> pd.DataFrame:
    """The new data's feature columns, loaded as the run loaded its training data."""
    from intelligent_training.data import is_target, load_panel

    patterns = settings.get("target_patterns")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = load_panel(
            data_dir,
            symbols,
            time_column=time_column or settings.get("time_column"),
            target_patterns=patterns,
        )

    def ignore(name: str) -> bool:
        return is_target(name, patterns) or pipe._is_target(name)

    expected = [str(f) for f in pipe.feature_names_in_]
    read = settings.get("features")  # the run read only these columns
    keep = [
        str(c) for c in panel.columns if not ignore(str(c)) and (read is None or str(c) in expected)
    ]
    columns: dict[str, Any] = {c: panel[c].dtype for c in keep}
    absent = [f for f in expected if f not in columns]
    if absent:  # the loader drops non-numeric columns: say which ones were re-typed
        columns.update(_raw_types(data_dir, symbols, absent))
    pipe._profile().check_columns(columns, ignore=ignore, where=f"the new data {data_dir}")
    for warning in caught:  # the data is usable: its loader's warnings are worth reading
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return panel[keep]


def _column_records(pipe: Any, every: pd.DataFrame) -> list[dict[str, Any]]:
    outputs = {
        "regression": "prediction",
        "binary": "probability of the positive (larger) class",
        "multiclass": "class label",
    }
    owner = {
        t: trainer for trainer in pipe.trainers_.values() for t in getattr(trainer, "targets_", [])
    }
    records = []
    pairs: list[tuple[str, str]] = list(every.columns)  # type: ignore[arg-type]
    for target, family in pairs:
        trainer = owner.get(target)
        task = (getattr(trainer, "tasks_", None) or {}).get(target)
        record: dict[str, Any] = {
            "name": f"{target}{_SEPARATOR}{family}",
            "target": target,
            "family": family,
            "task": task,
            "output": outputs.get(str(task), "prediction"),
        }
        model = (getattr(trainer, "models_", None) or {}).get((target, family))
        if model is not None:
            kind = type(model)
            record["model"] = f"{kind.__module__}.{kind.__qualname__}"
        records.append(record)
    return records


def predict_data_dir(
    output_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    *,
    symbols: Any = None,
    start: Any = None,
    time_column: str | None = None,
    drift_threshold: float | None = DRIFT_THRESHOLD,
) -> pd.DataFrame:
    """Score the data directory ``data_dir`` with the run published in ``output_dir``.

    Parameters
    ----------
    output_dir : path
        Output directory of an ``intelligent-train`` run or ``IntelligentPipeline.save``.
    data_dir : path
        New data, in the layout of the training data (docs/data.md); target columns,
        when present, are ignored.
    symbols : str or list of str, optional
        Only these symbols (default: all of ``data_dir``).
    start : timestamp, optional
        Score the rows at or after ``start``; earlier rows are history for the
        sequence families (see ``IntelligentPipeline.predict_all``).
    time_column : str, optional
        Time column of the new data (default: the run's, else auto-detected).
    drift_threshold : float or None, default 0.25
        PSI above which a feature's drift is warned about (``None``: no check).

    Returns
    -------
    DataFrame
        ``IntelligentPipeline.load(output_dir).predict_all`` of the new data's rows:
        index ``(timestamp, symbol)``, columns ``(target, family)`` with every trained
        family and ``"ensemble"``; ``attrs["intelligent_training"]`` holds the metadata
        (run id, library versions the models were trained with, each column's target,
        family, task and model class, the history rows, the drift of each feature).

    Raises
    ------
    ArtefactError
        The output directory holds no verified run.
    DataError
        The new data cannot be read, does not match the training features (missing,
        extra or non-numeric columns, all named), or has too little history.
    """
    from intelligent_training.cache._memory import dependency_versions
    from intelligent_training.io import read_json, resolve_run
    from intelligent_training.pipeline import IntelligentPipeline

    run = resolve_run(output_dir)  # once: a publication meanwhile cannot mix two runs
    pipe = IntelligentPipeline.load(run)
    manifest = read_json(run / "manifest.json")
    settings = _training_data_settings(run, manifest)
    X = _load_new(pipe, data_dir, symbols, time_column, settings)
    _, every, drift = pipe._score(X, start, drift_threshold, where=f"the new data {data_dir}")
    every.attrs[METADATA_KEY] = {
        "format": "intelligent-training predictions",
        "format_version": _FORMAT_VERSION,
        "run_id": manifest.get("run_id") or run.name,
        "run_created_utc": manifest.get("created_utc"),
        "output_dir": str(Path(output_dir).resolve()),
        "trained_with": manifest.get("versions"),
        "predicted_with": {"intelligent-training": _library_version(), **dependency_versions()},
        "data_dir": str(Path(data_dir).resolve()),
        "symbols": sorted(map(str, X.index.get_level_values("symbol").unique())),
        "start": None if start is None else str(pd.Timestamp(start)),
        "history_rows": pipe.history_rows_,
        "n_rows": len(every),
        "columns": _column_records(pipe, every),
        "drift": None
        if drift is None
        else {
            "metric": "population stability index on the training deciles",
            "threshold": drift_threshold,
            "features": {
                str(f): {k: _number(v) for k, v in row.items()} for f, row in drift.iterrows()
            },
            "drifted": [str(f) for f in drift.index[drift["drifted"]]],
        },
    }
    return every


def _library_version() -> str:
    from intelligent_training._version import __version__

    return __version__


def _number(value: Any) -> Any:
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    value = float(value)
    return value if np.isfinite(value) else None


# ----------------------------------------------------------------- the file
def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    flat = frame.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        flat.columns = [f"{t}{_SEPARATOR}{f}" for t, f in frame.columns]
    else:
        flat.columns = [str(c) for c in frame.columns]
    flat.attrs = {}
    return flat


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # e.g. Windows, or no directory fsync
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_predictions(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``frame`` (from :func:`predict_data_dir` or ``predict_all``) atomically.

    Parameters
    ----------
    frame : DataFrame
        Predictions, columns ``(target, family)`` (or flat names).
    path : path
        ``*.parquet``, ``*.csv`` or ``*.csv.gz``; an existing file is replaced.
    metadata : dict, optional
        Stored with the table (default: ``frame.attrs["intelligent_training"]``).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    kind = predictions_format(path)
    meta = metadata if metadata is not None else frame.attrs.get(METADATA_KEY, {})
    text = json.dumps(meta, sort_keys=True, default=str, allow_nan=False)
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: the directory {path.parent} does not exist")
    flat = _flat(frame)
    tmp = path.parent / f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        if kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(flat, preserve_index=True)
            schema_meta = dict(table.schema.metadata or {})
            schema_meta[METADATA_KEY.encode()] = text.encode()
            pq.write_table(table.replace_schema_metadata(schema_meta), tmp)
        else:
            opener = gzip.open if kind == "csv.gz" else open
            with opener(tmp, "wt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
                handle.write(_CSV_PREFIX + text + "\n")
                flat.to_csv(handle)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def read_predictions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a predictions file back: the frame, its metadata in ``attrs``.

    Returns
    -------
    DataFrame
        Index ``(timestamp, symbol)``, columns ``(target, family)`` as listed in the
        metadata; ``attrs["intelligent_training"]`` is the metadata.
    """
    path = Path(path)
    kind = predictions_format(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(METADATA_KEY.encode())
        meta = json.loads(raw) if raw else {}
        frame = table.to_pandas()
    else:
        opener = gzip.open if kind == "csv.gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
            first = handle.readline()
            body = handle.read()
        if not first.startswith(_CSV_PREFIX):
            raise DataError(f"{path} is not a predictions file (no '{_CSV_PREFIX.strip()}' line)")
        meta = json.loads(first[len(_CSV_PREFIX) :])
        frame = pd.read_csv(
            io.StringIO(body),
            index_col=[0, 1],
            parse_dates=[0],
            dtype={"symbol": str},
            float_precision="round_trip",
        )
    records = meta.get("columns") or []
    names = {r["name"]: (r["target"], r["family"]) for r in records if isinstance(r, dict)}
    if names and set(names) == set(frame.columns):
        frame = frame[list(names)]
        frame.columns = pd.MultiIndex.from_tuples(list(names.values()), names=["target", "family"])
    frame.attrs[METADATA_KEY] = meta
    return frame
