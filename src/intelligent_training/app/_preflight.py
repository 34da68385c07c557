"""Checks that need no work, run before any: settings, families, places to write.

A run that is going to fail on a typo must fail in a second, not after an hour of
ranking: an unknown or unusable family, a missing data directory, an unwritable
output or cache directory, an unknown symbol.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from intelligent_training.config import PipelineConfig
from intelligent_training.exceptions import (
    ConfigError,
    DataError,
    FamilyError,
    IntelligentTrainingError,
    is_disk_full,
)

__all__ = ["check_config", "check_symbols", "no_space", "writable_dir"]


def no_space(exc: BaseException, where: str | os.PathLike[str]) -> IntelligentTrainingError | None:
    """A clear error for a full disk (or quota, or file size limit), else None."""
    if isinstance(exc, OSError) and is_disk_full(exc):
        path = exc.filename or where
        return IntelligentTrainingError(
            f"no space left writing {path} ({os.strerror(exc.errno or 0)}); free space on "
            "that disk or choose another --output-dir (cache: cache.directory); nothing "
            "was published"
        )
    return None


def writable_dir(path: str | os.PathLike[str], what: str) -> Path:
    """Create ``path`` if needed and prove a file can be written there."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        full = no_space(exc, path)
        if full is not None:
            raise full from None
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot write to the {what} {path} ({reason}); choose a directory you can write to"
        ) from None
    return path


def _families(spec: Any) -> list[str]:
    if spec is None:
        return []
    return [str(name) for name in (spec if not isinstance(spec, dict) else spec.keys())]


def check_config(cfg: PipelineConfig) -> None:
    """Settings errors that need no data: the data directory, family names and usability."""
    if cfg.data.data_dir is None:
        raise ConfigError("no data directory: pass --data-dir (or data.data_dir in the config)")
    if not Path(cfg.data.data_dir).expanduser().is_dir():
        raise DataError(
            f"data directory {cfg.data.data_dir} does not exist or is not a directory; pass "
            "the folder holding one table per symbol (<SYM>.parquet, <SYM>.csv[.gz] or "
            "symbol=<SYM>/*.parquet)."
        )
    from intelligent_training.families import get_family, resolve_families

    stages = (
        ("target_ranking", cfg.target_ranking.families, cfg.target_ranking.enabled),
        ("feature_selection", cfg.feature_selection.families, cfg.feature_selection.enabled),
        ("training", cfg.training.families, True),
    )
    for section, spec, enabled in stages:
        if not enabled:
            continue
        for name in _families(spec):
            try:
                get_family(name)  # the registry's message: the closest name, the known ones
            except FamilyError as exc:
                raise ConfigError(f"{section}.families: {exc}") from exc
        resolve_families(spec)  # the registry's own checks of names and parameters
        usable = [n for n in _families(spec) if get_family(n).is_available()]
        if _families(spec) and not usable:
            hints = "; ".join(get_family(n).install_hint for n in _families(spec))
            raise ConfigError(
                f"none of the {section} families {_families(spec)} can run here: {hints}"
            )


def check_symbols(cfg: PipelineConfig) -> None:
    """Unknown symbols fail before any file is read."""
    from intelligent_training.data import discover_tables
    from intelligent_training.data._sources import select_symbols

    if cfg.data.symbols is None or cfg.data.data_dir is None:
        return
    folder, tables = discover_tables(cfg.data.data_dir)
    select_symbols(tables, cfg.data.symbols, folder)
