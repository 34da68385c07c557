"""Load, merge and validate the configuration layers into one :class:`PipelineConfig`."""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from intelligent_training.config._aliases import normalize_layer
from intelligent_training.config._models import (
    FeatureSelectionConfig,
    PipelineConfig,
    TargetRankingConfig,
)
from intelligent_training.exceptions import ConfigError

__all__ = ["PACKAGED_DEFAULTS", "dump_config", "load_config", "read_yaml"]

#: Packaged default files, lowest priority first (after the code defaults).
PACKAGED_DEFAULTS = ("pipeline.yaml", "target_ranking.yaml", "multi_model.yaml")

_SECTIONS = set(PipelineConfig.model_fields)
#: Sub-sections merged key by key too (``--tune-trials`` keeps the file's search spaces).
_SUBSECTIONS = {"tuning"}

PathLike = str | os.PathLike[str]


def read_yaml(path: PathLike | None = None, *, text: str | None = None, source: str = "") -> dict:
    """Read a YAML mapping from ``path`` (or ``text``); errors name the file.

    Parameters
    ----------
    path : path-like, optional
        The file to read.
    text : str, optional
        YAML text, used instead of ``path``.
    source : str, optional
        How to name ``text`` in error messages.

    Returns
    -------
    dict
        The mapping (an empty file gives ``{}``).
    """
    where = str(path) if path is not None else source or "<text>"
    if text is None:
        if path is None:
            raise ConfigError("read_yaml needs a path or text")
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"config file {where} does not exist; check the path")
        text = file.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}".replace("\n", " ")) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where} must contain a mapping of sections ({', '.join(sorted(_SECTIONS))}), "
            f"got a {type(data).__name__}"
        )
    return data


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """The valid keys at the level of ``loc`` (its parent section), for suggestions."""
    if len(loc) == 1:
        return sorted(_SECTIONS)
    field = PipelineConfig.model_fields.get(str(loc[0]))
    annotation = getattr(field, "annotation", None)
    if len(loc) == 2 and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sorted(annotation.model_fields)
    return []


def _format_errors(exc: ValidationError, where: str) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            valid = _valid_keys(tuple(err["loc"]))
            close = difflib.get_close_matches(str(err["loc"][-1]), valid, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if valid and not close:
                hint = f" (valid keys: {', '.join(valid)})"
            parts.append(f"unknown key '{key}'{hint}")
        else:
            parts.append(f"invalid value for '{key}' ({err['msg']}; got {err.get('input')!r})")
    return f"{'; '.join(parts)} in {where}; see docs/configuration.md for the valid keys"


def _validate_layer(layer: dict, where: str) -> None:
    """Check one layer on its own so that an error names the file it came from."""
    try:
        PipelineConfig.model_validate(layer)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, where)) from None


def _section_layer(data: dict, section_model: type[BaseModel], sections: set[str]) -> dict:
    """A section file holds either its sections by name or one section's keys bare.

    The seed's ``multi_model_feature_selection.yaml`` (top-level ``model_families`` and
    ``aggregation``) is the feature-selection keys bare.
    """
    if data and set(data) <= sections:
        return data
    name = {TargetRankingConfig: "target_ranking", FeatureSelectionConfig: "feature_selection"}[
        section_model
    ]
    return {name: data}


def _deep_merge(base: dict, top: Mapping[str, Any], sections: set[str] = _SECTIONS) -> dict:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict) and key in sections:
            out[key] = _deep_merge(out[key], value, _SUBSECTIONS)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _packaged_layers() -> list[tuple[dict, str]]:
    layers = []
    root = resources.files("intelligent_training.config") / "defaults"
    for name in PACKAGED_DEFAULTS:
        source = f"packaged defaults config/defaults/{name}"
        layers.append(
            (read_yaml(text=(root / name).read_text(encoding="utf-8"), source=source), source)
        )
    return layers


def _profile_layer(profile: str) -> tuple[dict, str]:
    root = resources.files("intelligent_training.config") / "defaults"
    file = root / f"profile_{profile}.yaml"
    if not file.is_file():
        raise ConfigError(f"unknown config profile {profile!r}")
    source = f"packaged profile config/defaults/profile_{profile}.yaml"
    return read_yaml(text=file.read_text(encoding="utf-8"), source=source), source


def load_config(
    config: PathLike | Mapping[str, Any] | None = None,
    *,
    target_ranking_config: PathLike | None = None,
    multi_model_config: PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    packaged_defaults: bool = True,
    profile: str | None = None,
) -> PipelineConfig:
    """Build the resolved configuration from its layers.

    Priority, highest first: ``overrides`` (the CLI flags) > ``config`` (the
    ``--config`` file) > ``target_ranking_config`` / ``multi_model_config`` >
    the packaged default YAML files > the code defaults of the pydantic models.
    Sections are merged key by key; a key's value is replaced as a whole. The seed
    design's keys (``top_n_targets``, ``model_families``, ``cv_folds``, ...) are
    accepted in every layer as aliases of ours (see ``config/_aliases.py`` and
    docs/configuration.md).

    Parameters
    ----------
    config : path-like or mapping, optional
        A YAML file (or an already parsed mapping) with any of the sections
        ``data``, ``target_ranking``, ``feature_selection``, ``training``,
        ``cache``, ``runtime``.
    target_ranking_config : path-like, optional
        A YAML file with the ``target_ranking`` section (bare or under its name).
    multi_model_config : path-like, optional
        A YAML file with ``feature_selection`` and/or ``training`` sections, or
        the ``feature_selection`` keys bare.
    overrides : mapping, optional
        Nested ``{section: {key: value}}`` values that win over everything.
    packaged_defaults : bool, default=True
        Whether to apply the packaged default YAML files.
    profile : str, optional
        A packaged profile applied right above the packaged defaults, e.g.
        ``"demo"`` (``config/defaults/profile_demo.yaml``, used by ``--demo``).

    Returns
    -------
    PipelineConfig

    Raises
    ------
    ConfigError
        A file is missing or not YAML, a key is unknown or a value has the wrong
        type; the message names the key and the file.

    Examples
    --------
    >>> cfg = load_config(overrides={"target_ranking": {"top_n": 3}})
    >>> cfg.target_ranking.top_n
    3
    """
    layers: list[tuple[dict, str]] = _packaged_layers() if packaged_defaults else []
    if profile is not None:
        layers.append(_profile_layer(profile))
    if target_ranking_config is not None:
        data = read_yaml(target_ranking_config)
        layers.append(
            (
                _section_layer(data, TargetRankingConfig, {"target_ranking"}),
                str(target_ranking_config),
            )
        )
    if multi_model_config is not None:
        data = read_yaml(multi_model_config)
        layers.append(
            (
                _section_layer(data, FeatureSelectionConfig, {"feature_selection", "training"}),
                str(multi_model_config),
            )
        )
    if config is not None:
        if isinstance(config, Mapping):
            layers.append((dict(config), "the config mapping"))
        else:
            layers.append((read_yaml(config), str(config)))
    if overrides:
        layers.append((dict(overrides), "the command-line options"))

    merged: dict = {}
    for layer, where in layers:
        layer = normalize_layer(layer, where)
        _validate_layer(layer, where)
        merged = _deep_merge(merged, layer)
    try:
        return PipelineConfig.model_validate(merged)
    except ValidationError as exc:  # pragma: no cover - every layer was valid on its own
        raise ConfigError(_format_errors(exc, "the merged configuration")) from None


def dump_config(config: PipelineConfig) -> str:
    """The configuration as YAML text (what ``resolved_config.yaml`` holds)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
