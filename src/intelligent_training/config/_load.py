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
from intelligent_training.exceptions import EXCERPT_CHARS, ConfigError, excerpt

__all__ = [
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "PACKAGED_DEFAULTS",
    "dump_config",
    "load_config",
    "read_yaml",
]

#: Packaged default files, lowest priority first (after the code defaults).
PACKAGED_DEFAULTS = ("pipeline.yaml", "target_ranking.yaml", "multi_model.yaml")

_SECTIONS = set(PipelineConfig.model_fields)
#: Sub-sections merged key by key too (``--tune-trials`` keeps the file's search spaces).
_SUBSECTIONS = {"tuning"}

PathLike = str | os.PathLike[str]

#: The deepest nesting a configuration file may have (a real one has about 6 levels).
MAX_YAML_DEPTH = 32
#: The most values (scalars, lists and mappings) a file may hold once its aliases are
#: expanded: a few anchors that refer to each other (an "alias bomb") can describe
#: billions of values in a few hundred bytes.
MAX_YAML_NODES = 100_000


_TOO_DEEP = (
    f"it is nested deeper than {MAX_YAML_DEPTH} levels (a configuration needs about 6): "
    "check its brackets and indentation"
)


class _TooLarge(Exception):
    """A configuration beyond :data:`MAX_YAML_DEPTH` or :data:`MAX_YAML_NODES`."""


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose composer (PyYAML's only recursive part) refuses
    nesting deeper than :data:`MAX_YAML_DEPTH` as it goes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            raise _TooLarge(f"{_TOO_DEEP} (from line {mark.line + 1})")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_size(layer: Any, where: str) -> None:
    """Refuse a layer nested deeper than :data:`MAX_YAML_DEPTH` or holding more than
    :data:`MAX_YAML_NODES` values once shared parts (YAML aliases) are expanded.

    Each distinct container is visited once (its size and height memoised by identity),
    so an alias bomb costs what its file holds, not what it describes; a container
    inside itself (a recursive alias) is a cycle.
    """
    sizes: dict[int, tuple[int, int]] = {}
    open_: set[int] = set()

    def visit(value: Any, level: int) -> tuple[int, int]:
        if isinstance(value, Mapping):
            children = [part for pair in value.items() for part in pair]
        elif isinstance(value, list | tuple | set):
            children = list(value)
        else:
            return 1, 0
        key = id(value)
        if key in open_:
            raise _TooLarge("a value contains itself (a recursive alias)")
        if level > MAX_YAML_DEPTH:
            raise _TooLarge(_TOO_DEEP)
        if key not in sizes:
            open_.add(key)
            size, height = 1, 0
            for child in children:
                child_size, child_height = visit(child, level + 1)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_YAML_NODES:
                    break
            open_.discard(key)
            sizes[key] = (size, height)
        size, height = sizes[key]
        if level + height > MAX_YAML_DEPTH:
            raise _TooLarge(f"its aliases expand to more than {MAX_YAML_DEPTH} levels")
        if size > MAX_YAML_NODES:
            raise _TooLarge(
                f"it holds more than {MAX_YAML_NODES:,} values once its aliases are expanded "
                "(anchors that refer to each other); write the values out"
            )
        return size, height

    try:
        visit(layer, 1)
    except _TooLarge as exc:
        raise ConfigError(f"{where} is refused: {exc}") from None


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
        text = _read_text(Path(path), where)
    try:
        data = yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader (no Python objects)
    except _TooLarge as exc:
        raise ConfigError(f"{where} is refused: {exc}") from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"{where} is not valid YAML: {message}") from None
    if data is None:
        return {}
    _check_size(data, where)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where} must contain a mapping of sections ({', '.join(sorted(_SECTIONS))}), "
            f"got a {type(data).__name__}"
        )
    return data


def _read_text(file: Path, where: str) -> str:
    """The text of a configuration file (UTF-8); every failure names the file."""
    if not file.is_file():
        raise ConfigError(f"config file {where} does not exist; check the path")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {where} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on "
            f"line {line}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {where} ({exc.strerror or type(exc).__name__}); check "
            "the path and its permissions"
        ) from None


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """The valid keys at the level of ``loc`` (its parent section), for suggestions."""
    if len(loc) == 1:
        return sorted(_SECTIONS)
    field = PipelineConfig.model_fields.get(str(loc[0]))
    annotation = getattr(field, "annotation", None)
    if len(loc) == 2 and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sorted(annotation.model_fields)
    return []


#: At most this many problems are listed in one message (the count of the others follows).
_MAX_LISTED_ERRORS = 5


def _format_errors(exc: ValidationError, where: str) -> str:
    parts = []
    errors = exc.errors()
    for err in errors[:_MAX_LISTED_ERRORS]:
        key = ".".join(str(p) for p in err["loc"])
        if len(key) > EXCERPT_CHARS:
            key = key[: EXCERPT_CHARS - 4] + " ..."
        if err["type"] == "extra_forbidden":
            valid = _valid_keys(tuple(err["loc"]))
            close = difflib.get_close_matches(str(err["loc"][-1]), valid, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if valid and not close:
                hint = f" (valid keys: {', '.join(valid)})"
            parts.append(f"unknown key '{key}'{hint}")
        else:
            parts.append(
                f"invalid value for '{key}' ({err['msg']}; got {excerpt(err.get('input'))})"
            )
    if len(errors) > _MAX_LISTED_ERRORS:
        parts.append(f"and {len(errors) - _MAX_LISTED_ERRORS} more")
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
        _check_size(layer, where)  # before anything copies or walks it
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
