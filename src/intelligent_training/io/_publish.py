"""Atomic publication of an output directory: old or new results, never a mix.

Layout::

    <output_dir>/
      .lock                       the run lock (see ``_lock``)
      runs/<run id>/              one complete set of results per run
      runs/.incomplete-<run id>/  a run being written (removed if it dies)
      current -> runs/<run id>    the published run: one symbolic link
      target_rankings -> current/target_rankings     the user-facing names, each a
      manifest.json -> current/manifest.json         link through ``current``
      ...
      cache/, demo_data/          not part of a run

A run writes everything into ``runs/.incomplete-<id>/``, flushes it to disk, renames
it to ``runs/<id>/`` and only then replaces ``current`` with ``os.replace`` of a new
link: a single atomic rename, so a reader (or a crash at any instant) sees the old
run or the new one in full. The user-facing names resolve through ``current``;
readers that open several files resolve ``current`` once (:func:`resolve_run`).

What this module removes, it provably made: a run directory holding the marker file
``.intelligent-training`` (written first into every run) or a manifest of ours; a
temporary link whose name and target are exactly what :func:`publishing` creates.
Nothing is removed by its name alone, and nothing outside the output directory. A
name of the layout (``current``, ``runs``, ``manifest.json``, ``report.html``, ...)
held by something this library did not write is refused before any work, never moved
or replaced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from intelligent_training.exceptions import ArtefactError
from intelligent_training.io._files import atomic_write, no_space
from intelligent_training.io._lock import OutputLock
from intelligent_training.io._manifest import LIBRARY, MARKER

__all__ = [
    "CURRENT",
    "LINKED",
    "RUNS",
    "check_ownership",
    "clean_leftovers",
    "new_run_id",
    "publish",
    "publishing",
    "resolve_run",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

RUNS = "runs"
CURRENT = "current"
INCOMPLETE = ".incomplete-"
#: The user-facing entries of a run, linked from the output directory through ``current``.
LINKED = (
    "target_rankings",
    "feature_selections",
    "training_results",
    "manifest.json",
    "resolved_config.yaml",
    "report.html",
    "report.json",
)
_RUN_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{8}$")
#: The temporary links :func:`publishing` makes (``.<name>.link-<8 hex>``).
_TEMP_LINK = re.compile(r"^\.(?P<name>.+)\.link-[0-9a-f]{8}$")


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the microsecond and 8 random hex digits."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{secrets.token_hex(4)}"


def _run_link(target: str) -> bool:
    """Whether ``target`` (a link's text) is what :func:`publishing` writes into ``current``."""
    head, _, name = target.partition("/")
    return head == RUNS and bool(_RUN_ID.match(name))


def resolve_run(output_dir: str | os.PathLike[str]) -> Path:
    """The directory holding the published results of ``output_dir``.

    ``runs/<id>`` that ``current`` points to (resolved once, so a concurrent
    publication cannot mix two runs under a reader), or ``output_dir`` itself for a
    flat directory (a copy of one run).
    """
    output_dir = Path(output_dir)
    link = output_dir / CURRENT
    if link.is_symlink():
        target = os.readlink(link)
        run = (output_dir / target).resolve()
        runs = (output_dir / RUNS).resolve()
        if not _run_link(target) or run.parent != runs or not _RUN_ID.match(run.name):
            raise ArtefactError(
                f"{link} points to {target!r}, not to a run under {runs}; the directory was "
                "modified — restore it or rerun"
            )
        if not run.is_dir():
            raise ArtefactError(f"{link} points to the missing run {run}; rerun to rewrite it")
        return run
    if link.exists():
        raise ArtefactError(
            f"{link} is not the link intelligent-training writes (a "
            f"{'directory' if link.is_dir() else 'file'}); move it away or choose another "
            "output directory"
        )
    return output_dir


def _ours(run: Path) -> bool:
    """Whether the directory ``run`` was provably written by :func:`publishing`."""
    if run.is_symlink() or not run.is_dir():
        return False
    marker = run / MARKER
    if marker.is_file() and not marker.is_symlink():
        return True
    manifest = run / "manifest.json"  # runs of versions before the marker
    if manifest.is_symlink() or not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("library") == LIBRARY


def check_ownership(output_dir: str | os.PathLike[str]) -> None:
    """Refuse an output directory whose layout names hold what this library did not write.

    ``current`` must be a link to ``runs/<id>``, each user-facing name a link
    through ``current``, ``runs`` a directory; anything else (a user's own
    ``manifest.json`` or ``report.html``, a ``runs`` file) would be replaced by a
    run, so it is an error naming the entry. Other entries are never touched.

    Raises
    ------
    ArtefactError
    """
    output_dir = Path(output_dir)

    def refuse(entry: Path, what: str) -> None:
        raise ArtefactError(
            f"output directory {output_dir} holds {entry.name!r} ({what}), which "
            "intelligent-training did not write, and a run would replace it; move it away "
            "or choose another output directory"
        )

    for name, expected in [(CURRENT, None), *((n, f"{CURRENT}/{n}") for n in LINKED)]:
        entry = output_dir / name
        if entry.is_symlink():
            target = os.readlink(entry)
            if not (_run_link(target) if expected is None else target == expected):
                refuse(entry, f"a link to {target!r}")
        elif entry.exists():
            refuse(entry, "a directory" if entry.is_dir() else "a file")
    runs = output_dir / RUNS
    if runs.is_symlink() or (runs.exists() and not runs.is_dir()):
        refuse(runs, "a link" if runs.is_symlink() else "a file")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems without directory fsync
        pass
    finally:
        os.close(fd)


def _link(output_dir: Path, name: str, target: str) -> None:
    """Make ``output_dir/name`` the link ``target`` with one atomic rename."""
    tmp = output_dir / f".{name}.link-{secrets.token_hex(4)}"
    os.symlink(target, tmp)
    os.replace(tmp, output_dir / name)


def _link_entries(output_dir: Path, run: Path) -> list[Path]:
    """Make each user-facing name of ``run`` a link through ``current``.

    Called before the switch: a link through ``current`` shows the old run until
    ``current`` moves. Returns the links of names ``run`` lacks, to remove after the
    switch.
    """
    stale = []
    for name in LINKED:
        entry = output_dir / name
        present = (run / name).exists()
        if entry.is_symlink():  # ours: check_ownership refused any other
            if not present:
                stale.append(entry)
            continue
        if present:
            _link(output_dir, name, f"{CURRENT}/{name}")
    return stale


@contextlib.contextmanager
def publishing(
    output_dir: str | os.PathLike[str],
    run_id: str | None = None,
    *,
    lock: OutputLock | None = None,
) -> Iterator[Path]:
    """Yield an empty run directory; publish it when the block ends without an error.

    The caller must hold the output directory's lock (pass it as ``lock`` to record
    the run directory in it). On an error the incomplete run is removed and the
    published results stay as they were.

    Parameters
    ----------
    output_dir : path
    run_id : str, optional
        Default :func:`new_run_id`.
    lock : OutputLock, optional
        The held lock.

    Yields
    ------
    pathlib.Path
        ``runs/.incomplete-<id>``: write every file of the run there.

    Raises
    ------
    ArtefactError
        The output directory holds entries of the layout's names that this library
        did not write (:func:`check_ownership`).
    """
    output_dir = Path(output_dir)
    check_ownership(output_dir)
    run_id = run_id or new_run_id()
    runs = output_dir / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    staging = runs / f"{INCOMPLETE}{run_id}"
    if lock is not None:  # first: a kill before the marker exists still leaves a proof
        lock.register(staging.name)
    staging.mkdir()
    try:
        atomic_write(staging / MARKER, f"{run_id}\n")
        yield staging
        for path in staging.rglob("*"):  # everything on disk before the switch
            if path.is_file() and not path.is_symlink():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        for path in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            _fsync_dir(path)
        final = runs / run_id
        os.replace(staging, final)
        _fsync_dir(runs)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stale = _link_entries(output_dir, final)
    _link(output_dir, CURRENT, f"{RUNS}/{run_id}")
    _fsync_dir(output_dir)
    for link in stale:
        link.unlink(missing_ok=True)
    finished = sorted(p for p in runs.iterdir() if _RUN_ID.match(p.name) and p.name < run_id)
    for old in [p for p in finished if _ours(p)][:-1]:  # keep the one before for readers
        shutil.rmtree(old, ignore_errors=True)
    logger.info("published run %s in %s", run_id, output_dir)


def clean_leftovers(
    output_dir: str | os.PathLike[str],
    keep_previous: int = 1,
    *,
    lock: OutputLock | None = None,
) -> list[Path]:
    """Remove what dead runs of this library left behind; call it while holding the lock.

    Removes ``runs/.incomplete-<id>`` directories holding the run marker (or named in
    the lock file by the dead holder), temporary links ``.<name>.link-<hex>`` whose
    name and target are the publication's own, finished runs that were never
    published and runs older than the ``keep_previous`` runs before the published
    one (each only when it holds the marker or a manifest of ours). Nothing else,
    whatever its name.

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    output_dir = Path(output_dir)
    removed: list[Path] = []

    def drop(path: Path) -> None:
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path)

    if output_dir.is_dir():
        for entry in output_dir.iterdir():
            match = _TEMP_LINK.match(entry.name)
            if match is None or not entry.is_symlink():
                continue
            name, target = match["name"], os.readlink(entry)
            if (name == CURRENT and _run_link(target)) or (
                name in LINKED and target == f"{CURRENT}/{name}"
            ):
                drop(entry)
    runs = output_dir / RUNS
    if runs.is_dir() and not runs.is_symlink():
        registered = (lock.previous if lock is not None else {}).get("staging")
        current = resolve_run(output_dir) if (output_dir / CURRENT).is_symlink() else None
        finished = sorted(
            p for p in runs.iterdir() if _RUN_ID.match(p.name) and p.is_dir() and _ours(p)
        )
        older = [p for p in finished if current is not None and p.name < current.name]
        # complete but never published (the process died before the switch)
        unpublished = [p for p in finished if current is None or p.name > current.name]
        for entry in runs.iterdir():
            dead = entry.name.startswith(INCOMPLETE) and _RUN_ID.match(
                entry.name[len(INCOMPLETE) :]
            )
            if dead and not entry.is_symlink() and (entry.name == registered or _ours(entry)):
                drop(entry)
        for path in [*older[: max(0, len(older) - keep_previous)], *unpublished]:
            drop(path)
    if removed:
        logger.info("removed %d leftover(s) of earlier runs in %s", len(removed), output_dir)
    return removed


def publish(
    output_dir: str | os.PathLike[str],
    write: Callable[[Path], T],
    *,
    lock: OutputLock | None = None,
    run_id: str | None = None,
    hint: str = "choose another output directory",
) -> T:
    """Lock, clean, write a run with ``write(run)`` and publish it; return what it returned.

    The one sequence of ``IntelligentPipeline.save`` and the console script.

    Parameters
    ----------
    output_dir : path
    write : callable
        Writes every file of the run into the directory it gets (the manifest last).
    lock : OutputLock, optional
        A lock the caller already holds (the console script holds it for the whole
        run); by default the lock is taken here and leftovers are cleaned first.
    run_id : str, optional
    hint : str
        The full-disk message's advice besides freeing space.

    Raises
    ------
    IntelligentTrainingError
        The disk filled up (the message names the path); nothing was published.
    """
    output_dir = Path(output_dir)
    with contextlib.ExitStack() as stack:
        if lock is None:
            lock = stack.enter_context(OutputLock(output_dir))
            clean_leftovers(output_dir, lock=lock)
        run: Path | None = None
        try:
            with publishing(output_dir, run_id, lock=lock) as run:
                result = write(run)
        except OSError as exc:
            full = no_space(exc, run or output_dir, hint=hint)
            if full is not None:
                raise full from None
            raise
    return result
