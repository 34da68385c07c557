"""Files that cannot lie: unique names, SHA-256 checksums, confined paths, atomic writes.

Every saved artefact (an output directory, a saved trainer) lists its files with their
SHA-256 in a manifest; loaders check a file's checksum before they parse or unpickle
it, and refuse a path from a manifest that leads outside the directory. A manifest
that is not what the writer wrote gives an :class:`~intelligent_training.exceptions.
ArtefactError` naming the file and the key, never a raw ``KeyError`` or
``JSONDecodeError``.

Checksums catch truncated, corrupted and mixed-up files, not a malicious author: the
joblib files are pickles, which can run code when loaded. Load only artefacts from a
source you trust.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from intelligent_training.exceptions import (
    NO_SPACE_ERRNOS,
    ArtefactError,
    ConfigError,
    IntelligentTrainingError,
    is_disk_full,
)

__all__ = [
    "atomic_write",
    "checksum_listing",
    "confined",
    "dump_json",
    "file_stem",
    "no_space",
    "open_regular",
    "read_json",
    "reading",
    "require",
    "sha256_file",
    "unique_stems",
    "verify_files",
    "writable_dir",
]

#: Names that are used as they are: lower case letters, digits and ``_.=+-``.
_PLAIN = re.compile(r"^[a-z0-9_][a-z0-9._=+-]{0,99}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")
#: Stems the layout uses for its own files (``pipeline.joblib``, ``cv_metrics.csv``, ...),
#: and names Windows reserves.
_RESERVED = {
    "pipeline",
    "cv_metrics",
    "feature_importances",
    "warnings",
    "run",
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}
_CHUNK = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def no_space(
    exc: BaseException, where: str | os.PathLike[str], *, hint: str = "choose another place"
) -> IntelligentTrainingError | None:
    """A clear error for a full disk (or quota, or file size limit), else ``None``.

    Parameters
    ----------
    exc : BaseException
        What a write raised.
    where : path
        Named when ``exc`` names no file.
    hint : str
        What else the user can do besides freeing space (``"choose another
        --output-dir"``).
    """
    if not isinstance(exc, OSError) or not is_disk_full(exc):
        return None
    path = exc.filename or where
    reason = os.strerror(exc.errno) if exc.errno in NO_SPACE_ERRNOS else str(exc)
    return IntelligentTrainingError(
        f"no space left writing {path} ({reason}): the disk is full (or a quota or file size "
        f"limit was reached); free space on that disk or {hint}; nothing was published"
    )


def writable_dir(path: str | os.PathLike[str], what: str) -> Path:
    """Create ``path`` if needed and prove a file can be written there."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        full = no_space(exc, path, hint=f"choose another {what}")
        if full is not None:
            raise full from None
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot write to the {what} {path} ({reason}); choose a directory you can write to"
        ) from None
    return path


def open_regular(
    path: str | os.PathLike[str], flags: int = os.O_RDONLY, mode: int = 0o644, *, what: str
) -> int:
    """Open ``path`` without following a symbolic link; refuse anything but a plain file.

    A symbolic link, a directory, a FIFO or a file with other hard links is an
    :class:`ArtefactError` naming ``path`` (``what`` says which file it is): a control
    file that leads elsewhere could make a write truncate a file outside.

    Returns
    -------
    int
        The open file descriptor.
    """
    path = Path(path)
    refuse = (
        f"{what} {path} is not a plain file written by intelligent-training "
        "({}); remove it (or choose another directory) and run again"
    )
    if path.is_symlink():
        raise ArtefactError(refuse.format(f"a symbolic link to {os.readlink(path)!r}"))
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC | _NONBLOCK, mode)
    except IsADirectoryError:
        raise ArtefactError(refuse.format("a directory")) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since the check
            raise ArtefactError(refuse.format("a symbolic link")) from None
        raise
    info = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = "a directory"
    elif not stat.S_ISREG(info.st_mode):
        problem = "not a regular file"
    elif info.st_nlink > 1:
        problem = f"a file with {info.st_nlink} hard links"
    if problem is not None:
        os.close(fd)
        raise ArtefactError(refuse.format(problem))
    if _NONBLOCK:
        os.set_blocking(fd, True)
    return fd


def atomic_write(
    path: str | os.PathLike[str], data: str | bytes | Callable[[IO[bytes]], Any]
) -> tuple[str, int]:
    """Write ``path`` whole or not at all; return its ``(SHA-256, size)``.

    The content goes into a new sibling ``.<name>.partial-<hex>`` (created with
    ``O_EXCL`` and ``O_NOFOLLOW``: never an existing file or a link), is flushed to disk
    and renamed over ``path``. On any error the partial file is removed and ``path``
    is as it was.

    Parameters
    ----------
    path : path
    data : str, bytes or callable
        Text (UTF-8), bytes, or a function writing into the open binary file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{secrets.token_hex(4)}")
    umask = os.umask(0)
    os.umask(umask)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    fd = os.open(tmp, flags, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        digest, size = sha256_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest, size


@contextlib.contextmanager
def reading(path: str | os.PathLike[str], *, what: str = "file") -> Iterator[None]:
    """Turn any failure to parse ``path`` inside the block into an :class:`ArtefactError`.

    The message names the file and the parser's complaint in one line, so a damaged
    file of an output directory is never a traceback.
    """
    try:
        yield
    except IntelligentTrainingError:
        raise
    except FileNotFoundError:
        raise ArtefactError(f"{what} {path} is missing; rerun to rewrite it") from None
    except (Exception, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ArtefactError(
            f"cannot read {what} {path} ({type(exc).__name__}: {reason}); the file is damaged "
            "or was modified: restore it or rerun to rewrite the outputs"
        ) from None


def file_stem(name: object) -> str:
    """The file (or folder) name of a target's artefacts.

    A name made only of lower-case letters, digits and ``_.=+-`` (and not reserved)
    is used as it is (``fwd_ret_5m``); any other name becomes a readable slug plus
    ``~`` and 8 hex digits of its SHA-256 (``fwd_ret_5m_a~3f2a9c1d`` for
    ``"fwd_ret_5m a"``). A plain name never contains ``~``, so a plain name and a
    hashed one never meet, and names differing only in case (the same file on macOS
    and Windows) get different hashes.

    Examples
    --------
    >>> file_stem("fwd_ret_5m")
    'fwd_ret_5m'
    >>> file_stem("fwd_ret_5m a") != file_stem("fwd_ret_5m_a")
    True
    """
    text = str(name)
    if _PLAIN.match(text) and text.strip(".") == text and text.split(".")[0] not in _RESERVED:
        return text
    slug = _UNSAFE.sub("_", text).strip(".")[:60] or "_"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}~{digest}"


def unique_stems(names: Iterable[object]) -> dict[str, str]:
    """``{name: file_stem(name)}``, checked unique (case-insensitively) across ``names``."""
    stems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name in names:
        key = str(name)
        stem = file_stem(key)
        other = seen.setdefault(stem.casefold(), key)
        if other != key:
            raise ArtefactError(
                f"targets {other!r} and {key!r} would share the file name {stem!r}; rename "
                "one of them"
            )
        stems[key] = stem
    return stems


def sha256_file(path: str | os.PathLike[str], *, fsync: bool = False) -> tuple[str, int]:
    """``(hex SHA-256, size in bytes)`` of a file (optionally flushed to disk)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        if fsync:
            os.fsync(handle.fileno())
    return digest.hexdigest(), size


def checksum_listing(
    root: str | os.PathLike[str], *, exclude: Iterable[str] = (), fsync: bool = False
) -> dict[str, dict[str, Any]]:
    """``{relative posix path: {"sha256", "bytes"}}`` of every file under ``root``."""
    root = Path(root)
    skipped = set(exclude)
    listing: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if rel in skipped:
            continue
        digest, size = sha256_file(path, fsync=fsync)
        listing[rel] = {"sha256": digest, "bytes": size}
    return listing


def confined(root: str | os.PathLike[str], rel: object, *, what: str = "path") -> Path:
    """``root / rel`` when it stays inside ``root`` (symbolic links resolved), else an error."""
    base = Path(os.path.realpath(root))
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise ArtefactError(f"{what} {rel!r} in {base} is not a relative file path")
    candidate = Path(rel)
    if candidate.is_absolute() or candidate.drive or ".." in candidate.parts:
        raise ArtefactError(
            f"{what} {rel!r} leads outside {base}; the manifest was modified — load only "
            "output directories you trust"
        )
    resolved = Path(os.path.realpath(base / candidate))
    if resolved != base and base not in resolved.parents:
        raise ArtefactError(
            f"{what} {rel!r} resolves to {resolved}, outside {base}; the directory was "
            "modified — load only output directories you trust"
        )
    return resolved


def read_json(path: str | os.PathLike[str], *, what: str = "manifest") -> dict[str, Any]:
    """A JSON object from ``path``; a missing or damaged file is an :class:`ArtefactError`.

    ``path`` must be a plain file (a symbolic link is refused, see :func:`open_regular`).
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ArtefactError(f"{what} {path} not found")
    fd = open_regular(path, what=what)
    try:
        with os.fdopen(fd, "rb") as handle:
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtefactError(f"cannot read {what} {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtefactError(
            f"{what} {path} is not valid JSON ({exc}); the file was truncated or modified"
        ) from None
    except RecursionError:
        raise ArtefactError(
            f"{what} {path} is nested too deeply to be a manifest of intelligent-training; "
            "the file was modified"
        ) from None
    if not isinstance(data, dict):
        raise ArtefactError(f"{what} {path} must hold a JSON object, got {type(data).__name__}")
    return data


def require(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``mapping[key]`` checked to be a ``kind``; anything else names ``where`` and ``key``."""
    if not isinstance(mapping, dict) or key not in mapping:
        raise ArtefactError(f"{where} lacks the key {key!r}; the file was truncated or modified")
    value = mapping[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ArtefactError(
            f"{where}: {key!r} must be {names}, got {type(value).__name__}; the file was modified"
        )
    return value


def verify_files(
    root: str | os.PathLike[str], listing: Any, rels: Iterable[str], *, where: str
) -> None:
    """Check that each of ``rels`` is listed in ``listing`` and has its recorded SHA-256."""
    if not isinstance(listing, dict):
        raise ArtefactError(f"{where} has no artefact checksums; it was modified")
    for rel in rels:
        entry = listing.get(rel)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ArtefactError(
                f"{rel} is not listed with a checksum in {where}; refusing to load an "
                "unverified file"
            )
        path = confined(root, rel, what="artefact")
        if not path.is_file():
            raise ArtefactError(f"artefact {path} is missing (listed in {where})")
        digest, size = sha256_file(path)
        if digest != entry["sha256"]:
            raise ArtefactError(
                f"artefact {path} does not match its SHA-256 in {where} ({size} bytes, "
                f"expected {entry.get('bytes', '?')}); it was truncated or modified. Restore "
                "it or rerun to rewrite the outputs"
            )


def _strict(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (strict JSON, readable everywhere)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def dump_json(path: str | os.PathLike[str], data: Any) -> tuple[str, int]:
    """Write ``data`` as indented, strict JSON (NaN and inf become null), atomically."""
    text = json.dumps(_strict(data), indent=2, allow_nan=False, default=str)
    return atomic_write(path, text + "\n")
