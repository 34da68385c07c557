"""Packaged default hyperparameters of the model families, read from YAML.

The defaults of the non-torch families live in ``families/defaults.yaml``; those of
the torch families in ``families/torch/defaults.yaml`` (owned by the torch families).
Both files share one layout per family::

    <family>:
      params:  {...}            # every task
      by_task:                  # merged over ``params`` for one task
        regression: {...}
        binary: {...}

A torch entry without ``params``/``by_task`` keys is read as flat common parameters.
Both files may wrap the entries in a top-level ``families:`` mapping.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

from intelligent_training.exceptions import ConfigError

_PACKAGE = "intelligent_training.families"
_TORCH_PACKAGE = "intelligent_training.families.torch"
_SECTION_KEYS = frozenset({"params", "by_task"})


def _read_yaml(package: str, filename: str, *, required: bool) -> dict[str, Any]:
    try:
        text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        if required:
            raise ConfigError(
                f"The packaged defaults file {package}/{filename} is missing; "
                "reinstall intelligent-training."
            ) from None
        return {}
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{package}/{filename} must hold a mapping, got {type(data).__name__}.")
    return data


def _normalise_entry(name: str, entry: Any, source: str) -> dict[str, Any]:
    if entry is None:
        return {"params": {}, "by_task": {}}
    if not isinstance(entry, dict):
        raise ConfigError(f"{source}: the entry of family {name!r} must be a mapping.")
    if not (set(entry) & _SECTION_KEYS):
        return {"params": dict(entry), "by_task": {}}
    unknown = set(entry) - _SECTION_KEYS
    if unknown:
        raise ConfigError(
            f"{source}: family {name!r} has unknown key(s) {sorted(unknown)}; "
            "use 'params' and 'by_task'."
        )
    params = entry.get("params") or {}
    by_task = entry.get("by_task") or {}
    if not isinstance(params, dict) or not isinstance(by_task, dict):
        raise ConfigError(f"{source}: 'params' and 'by_task' of {name!r} must be mappings.")
    return {"params": dict(params), "by_task": {k: dict(v or {}) for k, v in by_task.items()}}


@functools.lru_cache(maxsize=1)
def _load_defaults() -> tuple[dict[str, dict[str, Any]], tuple[str, ...]]:
    base = _read_yaml(_PACKAGE, "defaults.yaml", required=True)
    table: dict[str, dict[str, Any]] = {}
    for name, entry in (base.get("families") or {}).items():
        table[name] = _normalise_entry(name, entry, "families/defaults.yaml")
    torch_data = _read_yaml(_TORCH_PACKAGE, "defaults.yaml", required=False)
    torch_entries = torch_data.get("families", torch_data)
    for name, entry in (torch_entries or {}).items():
        if name == "default_families":
            continue
        table[name] = _normalise_entry(name, entry, "families/torch/defaults.yaml")
    default_families = tuple(base.get("default_families") or ())
    return table, default_families


def default_params(name: str, task: str) -> dict[str, Any]:
    """Return a deep copy of the packaged default parameters of ``name`` for ``task``."""
    table, _ = _load_defaults()
    entry = table.get(name, {"params": {}, "by_task": {}})
    merged = copy.deepcopy(entry["params"])
    merged.update(copy.deepcopy(entry["by_task"].get(task, {})))
    return merged


def default_family_names() -> list[str]:
    """Return the ``default_families`` list of ``families/defaults.yaml``."""
    return list(_load_defaults()[1])
