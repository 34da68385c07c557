"""Saving and loading fitted trainers.

Layout of a saved trainer directory::

    manifest.json        versions, parameters, features, targets, tasks, strategy,
                         metrics summary and the list of models (human-readable)
    cv_metrics.csv       the full cross-validation metrics table
    trainer.joblib       the trainer itself without its models (small)
    models/<k>_<target>__<family>/
        estimator.joblib the estimator with its native model parts taken out
        model.txt        a LightGBM booster (LightGBM's own text format)
        model.json       an XGBoost booster (XGBoost's own JSON format)
        <attr>.state_dict.pt + config.json
                         a torch module's weights (``state_dict``) and its configuration

Native parts are found by walking the estimator's attributes, dicts and lists (two
levels deep, so a wrapper around an ``LGBMRegressor`` or a stack of base models works
too): LightGBM and XGBoost boosters are
written in their libraries' formats and torch modules as ``state_dict`` files; the
remaining shell (parameters, classes, scalers, ...) is a joblib pickle. A model without
native parts is one joblib file. Loading re-attaches the parts; predictions are
identical.

``manifest.json`` (the ``io`` layer's one format: the same header as a run's) lists every
file with its SHA-256 (``artefacts``); loading checks each
file against it before reading it (a truncated LightGBM ``model.txt`` is an
:class:`~intelligent_training.exceptions.ArtefactError`, never a crash of the
interpreter) and refuses paths that lead outside the directory.

The directory is written next to its final place under a temporary name and renamed
at the end, so a failure never leaves a half-written trainer behind. Loading unpickles
joblib files, and a pickle can run code: checksums catch damage, not a malicious
author, so load only directories from a source you trust.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import ArtefactError, IntelligentTrainingError
from intelligent_training.io import (
    MANIFEST,
    check_header,
    confined,
    finish_manifest,
    header,
    listing,
    read_json,
    reading,
    require,
    verify_files,
)

logger = logging.getLogger(__name__)

__all__ = ["load_model", "load_trainer", "save_model", "save_trainer"]

STATE = "trainer.joblib"
METRICS = "cv_metrics.csv"
ESTIMATOR = "estimator.joblib"
_MAX_DEPTH = 2


# ----------------------------------------------------------------------------- helpers
def jsonable(value: Any) -> Any:
    """``value`` made JSON-serialisable (NaN -> null, durations and objects -> str)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timedelta | dt.timedelta | np.timedelta64):
        return str(pd.Timedelta(value))
    return repr(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60] or "x"


def _native_kind(value: Any) -> str | None:
    """Which native format ``value`` has, without importing any library."""
    lgb = sys.modules.get("lightgbm")
    if lgb is not None and isinstance(value, lgb.Booster):
        return "lightgbm"
    xgb = sys.modules.get("xgboost")
    if xgb is not None and isinstance(value, xgb.Booster):
        return "xgboost"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return "torch"
    return None


def _has_state(value: Any) -> bool:
    """Objects worth walking into: estimators and similar plain Python objects."""
    return hasattr(value, "__dict__") and (
        hasattr(value, "get_params") or hasattr(value, "fit") or hasattr(value, "predict")
    )


def _detach(obj: Any, depth: int = 0) -> tuple[Any, dict[str, tuple[str, Any]]]:
    """A shallow copy of ``obj`` whose native parts are ``None``, and those parts.

    The parts are keyed by their path of attributes, dict keys and list positions
    (``"_Booster"``, ``"model_._Booster"``, ``"base_estimators_.lightgbm._Booster"``).
    ``obj`` itself is never modified.
    """
    shell = copy.copy(obj)
    natives: dict[str, tuple[str, Any]] = {}
    for name, value in list(vars(obj).items()):
        replacement, parts = _detach_value(value, depth)
        if parts:
            setattr(shell, name, replacement)
            natives.update({_join(name, sub): part for sub, part in parts.items()})
    return shell, natives


def _join(head: str, tail: str) -> str:
    return f"{head}.{tail}" if tail else head


def _detach_value(value: Any, depth: int) -> tuple[Any, dict[str, tuple[str, Any]]]:
    """``value`` with its native parts taken out (a copy if any), and the parts."""
    kind = _native_kind(value)
    if kind is not None:
        return None, {"": (kind, value)}
    if depth >= _MAX_DEPTH:
        return value, {}
    items: list[tuple[Any, Any]]
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if isinstance(k, str) and "." not in k]
        container: Any = dict(value)
    elif isinstance(value, list):
        items = list(enumerate(value))
        container = list(value)
    elif _has_state(value):
        return _detach(value, depth + 1)
    else:
        return value, {}
    parts: dict[str, tuple[str, Any]] = {}
    for key, item in items:
        replacement, sub = _detach_value(item, depth + 1)
        if sub:
            container[key] = replacement
            parts.update({_join(str(key), path): part for path, part in sub.items()})
    return (container, parts) if parts else (value, {})


def _step(obj: Any, token: str) -> Any:
    if isinstance(obj, dict):
        return obj[token]
    if isinstance(obj, list):
        return obj[int(token)]
    return getattr(obj, token)


def _get_path(obj: Any, path: str) -> Any:
    for token in path.split("."):
        obj = _step(obj, token)
    return obj


def _set_path(obj: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for token in parents:
        obj = _step(obj, token)
    if isinstance(obj, dict):
        obj[last] = value
    elif isinstance(obj, list):
        obj[int(last)] = value
    else:
        setattr(obj, last, value)


# ----------------------------------------------------------------------------- one model
def _save_part(kind: str, part: Any, directory: Path, attr: str, single: bool) -> dict[str, Any]:
    stem = "model" if single else _slug(attr)
    if kind == "lightgbm":
        file = f"{stem}.txt"
        part.save_model(str(directory / file))
        return {"attr": attr, "format": "lightgbm-text", "file": file}
    if kind == "xgboost":
        file = f"{stem}.json"
        part.save_model(str(directory / file))
        return {"attr": attr, "format": "xgboost-json", "file": file}
    import torch

    stem = _slug(attr)
    file = f"{stem}.state_dict.pt"
    torch.save(part.state_dict(), directory / file)
    persistent = set(part.state_dict())
    extra = {k: v for k, v in part.named_buffers() if k not in persistent}
    extra_file = None
    if extra:
        extra_file = f"{stem}.buffers.pt"
        torch.save(extra, directory / extra_file)
    return {
        "attr": attr,
        "format": "torch-state_dict",
        "file": file,
        "buffers_file": extra_file,
        "module": f"{type(part).__module__}.{type(part).__qualname__}",
        "skeleton": copy.deepcopy(part).to("meta"),
    }


def save_model(model: Any, directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Write one fitted estimator to ``directory`` (created); return its manifest entry.

    Parameters
    ----------
    model : fitted estimator
    directory : path
        A new directory.

    Returns
    -------
    dict
        ``class``, ``format`` (``native`` or ``joblib``), ``parts`` (one entry per native
        part: attribute path, format, file) and ``params``.
    """
    import joblib

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=False)
    shell, natives = _detach(model)
    parts = []
    for attr, (kind, part) in natives.items():
        entry = _save_part(kind, part, directory, attr, single=len(natives) == 1)
        skeleton = entry.pop("skeleton", None)
        if skeleton is not None:
            # Keep the architecture (no weights) in the shell; weights are in the state_dict.
            _set_path(shell, attr, skeleton)
        parts.append(entry)
    joblib.dump(shell, directory / ESTIMATOR)
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    info = {
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "format": "native" if parts else "joblib",
        "parts": parts,
        "params": jsonable(params),
    }
    if any(p["format"] == "torch-state_dict" for p in parts):
        (directory / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True))
    return info


def _load_part(shell: Any, entry: dict[str, Any], directory: Path) -> None:
    fmt = entry["format"]
    path = confined(directory, entry["file"], what="model file")
    if fmt == "lightgbm-text":
        import lightgbm

        part: Any = lightgbm.Booster(model_file=str(path))
    elif fmt == "xgboost-json":
        import xgboost

        part = xgboost.Booster()
        part.load_model(str(path))
    elif fmt == "torch-state_dict":
        import torch

        part = _get_path(shell, entry["attr"]).to_empty(device="cpu")
        part.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        if entry.get("buffers_file"):
            extra = confined(directory, entry["buffers_file"], what="model file")
            buffers = torch.load(extra, map_location="cpu", weights_only=True)
            for name, tensor in buffers.items():
                _set_path(part, name, tensor)
    else:
        raise IntelligentTrainingError(
            f"Unknown model format {fmt!r} in {directory}; the directory was written by a "
            "newer version of intelligent-training. Upgrade to load it."
        )
    _set_path(shell, entry["attr"], part)


def load_model(directory: str | os.PathLike[str], info: dict[str, Any]) -> Any:
    """Load one estimator written by :func:`save_model` (``info`` is its entry)."""
    import joblib

    directory = Path(directory)
    shell = joblib.load(directory / ESTIMATOR)
    for entry in info.get("parts", []):
        _load_part(shell, entry, directory)
    return shell


# ----------------------------------------------------------------------------- trainer
def _manifest(trainer: Any, models: list[dict[str, Any]]) -> dict[str, Any]:
    metrics = trainer.cv_metrics_
    summary = metrics[metrics["fold"] == "mean"].to_dict(orient="records")
    features = getattr(trainer, "_feature_columns", None)
    return {
        **header("trainer"),
        "estimator": type(trainer).__name__,
        "params": jsonable(trainer.get_params(deep=False)),
        "strategy": trainer.strategy,
        "targets": list(trainer.targets_),
        "tasks": dict(trainer.tasks_),
        "horizons": jsonable(trainer.horizons_),
        "features": jsonable(features) if features is not None else None,
        "n_features_in": int(trainer.n_features_in_),
        "cascade_columns": jsonable(trainer.cascade_columns_),
        "families": list(trainer.families_),
        "models": models,
        "metrics_summary": jsonable(summary),
    }


def _check_destination(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise IntelligentTrainingError(
            f"Cannot save the trainer to {path}: it exists and is not a directory. Choose "
            "another path."
        )
    if path.is_dir() and any(path.iterdir()):
        try:
            check_header(read_json(path / MANIFEST), str(path / MANIFEST), "trainer")
        except ArtefactError:
            raise IntelligentTrainingError(
                f"Cannot save the trainer to {path}: the directory is not empty and does not "
                "hold a trainer saved by intelligent-training, so it will not be replaced. "
                "Choose an empty or new directory."
            ) from None


def save_trainer(trainer: Any, path: str | os.PathLike[str]) -> str:
    """Write ``trainer`` to directory ``path`` atomically (see the module docstring).

    An existing saved trainer at ``path`` is replaced; any other non-empty directory
    is refused.

    Returns
    -------
    str
        ``path``.
    """
    import joblib

    path = Path(path)
    _check_destination(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        entries: list[dict[str, Any]] = []
        written: dict[int, dict[str, Any]] = {}
        for k, ((target, family), model) in enumerate(trainer.models_.items()):
            if id(model) in written:  # a shared multi-task model is written once
                entries.append({**written[id(model)], "target": target, "family": family})
                continue
            rel = f"models/{k:03d}_{_slug(target)}__{_slug(family)}"
            info = save_model(model, tmp / rel)
            entry = {"target": target, "family": family, "path": rel, **info}
            written[id(model)] = entry
            entries.append(entry)
        shell = copy.copy(trainer)
        shell.models_ = {}
        joblib.dump(shell, tmp / STATE)
        trainer.cv_metrics_.to_csv(tmp / METRICS, index=False)
        finish_manifest(tmp, _manifest(trainer, entries))
        if path.exists():
            old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("Saved trainer with %d model(s) to %s", len(entries), path)
    return str(path)


def _model_files(entry: dict[str, Any], where: str) -> list[str]:
    """The files (relative to the trainer directory) one model entry is loaded from."""
    rel = require(entry, "path", str, where)
    files = [f"{rel}/{ESTIMATOR}"]
    for k, part in enumerate(require(entry, "parts", list, where)):
        files.append(f"{rel}/{require(part, 'file', str, f'{where} parts[{k}]')}")
        require(part, "attr", str, f"{where} parts[{k}]")
        require(part, "format", str, f"{where} parts[{k}]")
        if part.get("buffers_file"):
            files.append(f"{rel}/{require(part, 'buffers_file', str, f'{where} parts[{k}]')}")
    return files


def load_trainer(path: str | os.PathLike[str]) -> Any:
    """Load a trainer written by :func:`save_trainer`.

    Every file is checked against its SHA-256 in ``manifest.json`` before it is read,
    and every path must stay inside ``path``. ``trainer.joblib`` and the models'
    ``estimator.joblib`` are pickles: load only directories from a source you trust.

    Raises
    ------
    ArtefactError
        No or a damaged manifest, a file missing, modified or truncated, a path
        leading outside the directory.
    """
    import joblib

    from intelligent_training._version import __version__
    from intelligent_training.training._trainer import ModelTrainer

    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file() and not manifest_path.is_symlink():
        raise ArtefactError(
            f"{path} does not hold a saved trainer (no {MANIFEST}); pass the directory given "
            "to ModelTrainer.save."
        )
    where = str(manifest_path)
    manifest = read_json(manifest_path)
    version = check_header(manifest, where, "trainer")
    if manifest.get("version") != __version__:
        logger.warning(
            "%s was saved by intelligent-training %s; this is %s.",
            path,
            manifest.get("version"),
            __version__,
        )
    files_listed = listing(manifest, version)
    if not isinstance(files_listed, dict):
        raise ArtefactError(
            f"{where} lacks the key 'artefacts'; the file was truncated or modified"
        )
    entries = require(manifest, "models", list, where)
    files = [STATE]
    for k, entry in enumerate(entries):
        files += _model_files(entry, f"{where} models[{k}]")
        require(entry, "target", str, f"{where} models[{k}]")
        require(entry, "family", str, f"{where} models[{k}]")
    verify_files(path, files_listed, dict.fromkeys(files), where=where)
    with reading(path / STATE, what="pickle"):
        trainer = joblib.load(path / STATE)
    if not isinstance(trainer, ModelTrainer):
        raise ArtefactError(
            f"{path / STATE} holds a {type(trainer).__name__}, not a ModelTrainer (listed in "
            f"{where}); the directory was modified — restore it or save the trainer again"
        )
    loaded: dict[str, Any] = {}
    models: dict[tuple[str, str], Any] = {}
    for entry in entries:
        rel = entry["path"]
        if rel not in loaded:
            loaded[rel] = load_model(confined(path, rel, what="model path"), entry)
        models[(entry["target"], entry["family"])] = loaded[rel]
    trainer.models_ = models
    return trainer
