"""The one manifest format of every saved artefact: a run and a saved trainer.

Both manifests start with the same header (:func:`header`): ``format_version``,
``kind`` (``"run"`` or ``"trainer"``), ``library``, ``version``, ``created_utc`` and
``versions`` (Python and the libraries of :data:`LIBRARIES`), and list their files
with SHA-256 and size under ``artefacts`` (:func:`finish_manifest`). Readers check the
header (:func:`check_header`) and a run's manifest against its schema
(:func:`read_run_manifest`) before they trust a key of it.

Format 3 is written; format 2 (intelligent-training 0.x before the ``io`` layer: a
trainer listed its files under ``files`` and its versions under ``dependencies``) is
still read.
"""

from __future__ import annotations

import functools
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from intelligent_training.exceptions import ArtefactError
from intelligent_training.io._files import checksum_listing, dump_json, read_json

__all__ = [
    "FORMAT_VERSION",
    "LIBRARIES",
    "check_header",
    "finish_manifest",
    "header",
    "listing",
    "read_run_manifest",
    "versions",
]

FORMAT_VERSION = 3
#: Formats this version reads (2: before the ``io`` layer, same checksums).
READABLE = (2, 3)
LIBRARY = "intelligent-training"
#: The libraries whose versions a manifest records and every cache key contains.
LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "torch",
    "shap",
    "ngboost",
)
MARKER = ".intelligent-training"


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str | None]:
    """Installed versions of :data:`LIBRARIES` (``None`` when missing), never importing them."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def header(kind: Literal["run", "trainer"]) -> dict[str, Any]:
    """The fields every manifest starts with."""
    from intelligent_training._version import __version__

    return {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "library": LIBRARY,
        "version": __version__,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {LIBRARY: __version__, "python": platform.python_version(), **versions()},
    }


def finish_manifest(
    root: str | os.PathLike[str], manifest: dict[str, Any], *, name: str = "manifest.json"
) -> dict[str, Any]:
    """List every file of ``root`` with its SHA-256 and write the manifest (last, atomically)."""
    root = Path(root)
    manifest = {**manifest, "artefacts": checksum_listing(root, exclude=[name])}
    dump_json(root / name, manifest)
    return manifest


def check_header(manifest: dict[str, Any], where: str, kind: str) -> int:
    """The format version of ``manifest`` after checking it can be read here.

    Raises
    ------
    ArtefactError
        An older format without checksums, a newer one, another library's manifest, a
        manifest of another kind (a trainer's where a run's is expected).
    """
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtefactError(f"{where}: format_version must be an int, got {version!r}")
    if version < min(READABLE):
        raise ArtefactError(
            f"{where} has format {version!r}, without artefact checksums (older version), so "
            "it cannot be verified; rerun or save it again with this version"
        )
    if version > FORMAT_VERSION:
        raise ArtefactError(
            f"{where} was written in format {version}, newer than this version of "
            f"intelligent-training reads ({FORMAT_VERSION}); upgrade it"
        )
    if manifest.get("library") != LIBRARY:
        raise ArtefactError(
            f"{where} is not a manifest of intelligent-training (library "
            f"{manifest.get('library')!r})"
        )
    found = manifest.get("kind", kind)  # format 2 has no kind
    if found != kind:
        raise ArtefactError(f"{where} is the manifest of a {found}, not of a {kind}")
    return version


def listing(manifest: dict[str, Any], version: int) -> Any:
    """The ``{path: {"sha256", "bytes"}}`` listing (a format-2 trainer's ``files``)."""
    if version == 2 and manifest.get("kind", "trainer") == "trainer" and "files" in manifest:
        return manifest["files"]
    return manifest.get("artefacts")


class _Schema(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Artefact(_Schema):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int | None = None


class _Trainer(_Schema):
    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal["trainer_dir", "joblib"]
    path: str


class _Paths(_Schema):
    pipeline: str
    trainers: dict[str, _Trainer]


class _RunManifest(_Schema):
    status: str = "ok"
    selected_targets: list[str] = []
    paths: _Paths
    artefacts: dict[str, _Artefact]


def _where(loc: tuple[Any, ...]) -> str:
    return "/".join(repr(part) for part in loc)


def read_run_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run that holds a fitted pipeline, checked against its schema.

    Raises
    ------
    ArtefactError
        Not JSON, nested too deeply, another format or kind, a run without a fitted
        pipeline (``status``), a key missing or of the wrong type: the message names the
        file and the key.
    """
    where = str(path)
    manifest = read_json(path)
    check_header(manifest, where, "run")
    if manifest.get("status", "ok") != "ok":
        raise ArtefactError(
            f"{Path(path).parent} holds no fitted pipeline (status {manifest.get('status')!r}: "
            f"{manifest.get('error', '')}); see its target_rankings/"
        )
    try:
        _RunManifest.model_validate(manifest)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "missing":
            raise ArtefactError(
                f"{where} lacks the key {_where(first['loc'])}; the file was truncated or modified"
            ) from None
        raise ArtefactError(
            f"{where}: {_where(first['loc'])}: {first['msg']}; the file was modified"
        ) from None
    return manifest
