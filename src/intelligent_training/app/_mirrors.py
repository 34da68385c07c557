"""Human-readable mirrors of the cached results (the seed's ``cache/`` files).

::

    <cache>/target_rankings.json                the rankings of the latest run
    <cache>/feature_selections/<stem>.json      each selected target's features

They mirror what the latest run took from (or put into) the diskcache store, which
stays the source of truth: nothing ever reads them back. Each file is written to a
temporary name and renamed, never world-writable.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from intelligent_training.cache import private_files
from intelligent_training.io import dump_json, file_stem

__all__ = ["write_mirrors"]


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        dump_json(tmp, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_mirrors(location: str | os.PathLike[str], pipe: Any, about: dict[str, Any]) -> None:
    """Write the mirrors of a fitted (or ranking-only) pipeline into the cache directory.

    Parameters
    ----------
    location : path
        The cache directory.
    pipe : IntelligentPipeline
    about : dict
        Run facts written into every file (job key, data fingerprint, versions, ...).
    """
    from intelligent_training.pipeline._outputs import rankings_frame, selection_table

    root = Path(location)
    stamp = {
        **about,
        "written_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "note": "a readable mirror of the cache; the diskcache store is the source of truth",
    }
    with private_files():
        (root / "feature_selections").mkdir(parents=True, exist_ok=True)
        rankings = rankings_frame(pipe)
        _atomic_json(
            root / "target_rankings.json",
            {
                **stamp,
                "selected_targets": list(getattr(pipe, "selected_targets_", None) or []),
                "failed_targets": dict(getattr(pipe, "failed_targets_", None) or {}),
                "rankings": json.loads(
                    rankings.reset_index().to_json(orient="records", date_format="iso")
                ),
            },
        )
        for target, features in (getattr(pipe, "selected_features_", None) or {}).items():
            table = selection_table(pipe, target)
            _atomic_json(
                root / "feature_selections" / f"{file_stem(target)}.json",
                {
                    **stamp,
                    "target": target,
                    "selected_features": list(features),
                    "importances": json.loads(
                        table.reset_index().to_json(orient="records", date_format="iso")
                    ),
                },
            )
