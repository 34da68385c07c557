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

Leftovers of dead runs (``runs/.incomplete-*``) are removed by the next run while it
holds the lock; after a switch, runs older than the previous one are removed. The
previous run is kept so that a reader that resolved ``current`` just before the
switch can finish.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from intelligent_training.exceptions import ArtefactError

__all__ = [
    "CURRENT",
    "LINKED",
    "RUNS",
    "clean_leftovers",
    "new_run_id",
    "publishing",
    "resolve_run",
]

logger = logging.getLogger(__name__)

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
#: Leftovers of the publication of earlier versions (``.<name>.partial-*`` siblings,
#: ``.<entry>.old-<pid>`` entries).
_LEGACY = re.compile(r"^\.(.+)\.(partial|old)-[A-Za-z0-9_]+$")


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the microsecond and 8 random hex digits."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{secrets.token_hex(4)}"


def resolve_run(output_dir: str | os.PathLike[str]) -> Path:
    """The directory holding the published results of ``output_dir``.

    ``runs/<id>`` that ``current`` points to (resolved once, so a concurrent
    publication cannot mix two runs under a reader), or ``output_dir`` itself for a
    flat directory (written by ``IntelligentPipeline.save`` of older versions).
    """
    output_dir = Path(output_dir)
    link = output_dir / CURRENT
    if link.is_symlink():
        target = os.readlink(link)
        run = (output_dir / target).resolve()
        runs = (output_dir / RUNS).resolve()
        if run.parent != runs or not _RUN_ID.match(run.name):
            raise ArtefactError(
                f"{link} points to {target!r}, not to a run under {runs}; the directory was "
                "modified — restore it or rerun"
            )
        if not run.is_dir():
            raise ArtefactError(f"{link} points to the missing run {run}; rerun to rewrite it")
        return run
    return output_dir


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


def _link_entries(output_dir: Path, run: Path) -> list[Path]:
    """Make each user-facing name of ``run`` a link through ``current``.

    Called before the switch: a link through ``current`` shows the old run until
    ``current`` moves. Entries of a flat layout (older versions) move out of the way.
    Returns the links of names ``run`` lacks, to remove after the switch.
    """
    stale = []
    for name in LINKED:
        entry = output_dir / name
        present = (run / name).exists()
        if entry.is_symlink() and os.readlink(entry) == f"{CURRENT}/{name}":
            if not present:
                stale.append(entry)
            continue
        if entry.is_symlink():
            entry.unlink()
        elif entry.exists():  # a flat layout of an older version
            legacy = output_dir / RUNS / f".legacy-{secrets.token_hex(4)}"
            legacy.mkdir(parents=True, exist_ok=True)
            os.replace(entry, legacy / name)
        if present:
            tmp = output_dir / f".{name}.link-{secrets.token_hex(4)}"
            os.symlink(f"{CURRENT}/{name}", tmp)
            os.replace(tmp, entry)
    return stale


def _switch(output_dir: Path, run: Path) -> None:
    """Point ``current`` at ``run`` with one atomic rename."""
    tmp = output_dir / f".{CURRENT}.link-{secrets.token_hex(4)}"
    os.symlink(f"{RUNS}/{run.name}", tmp)
    os.replace(tmp, output_dir / CURRENT)
    _fsync_dir(output_dir)


@contextlib.contextmanager
def publishing(output_dir: str | os.PathLike[str], run_id: str | None = None) -> Iterator[Path]:
    """Yield an empty run directory; publish it when the block ends without an error.

    The caller must hold the output directory's lock. On an error the incomplete run
    is removed and the published results stay as they were.

    Parameters
    ----------
    output_dir : path
    run_id : str, optional
        Default :func:`new_run_id`.

    Yields
    ------
    pathlib.Path
        ``runs/.incomplete-<id>``: write every file of the run there.
    """
    output_dir = Path(output_dir)
    run_id = run_id or new_run_id()
    runs = output_dir / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    staging = runs / f"{INCOMPLETE}{run_id}"
    staging.mkdir()
    try:
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
    _switch(output_dir, final)
    for link in stale:
        link.unlink(missing_ok=True)
    finished = sorted(p for p in runs.iterdir() if _RUN_ID.match(p.name) and p.name < run_id)
    for old in finished[:-1]:  # keep the run before this one for readers in flight
        shutil.rmtree(old, ignore_errors=True)
    logger.info("published run %s in %s", run_id, output_dir)


def clean_leftovers(output_dir: str | os.PathLike[str], keep_previous: int = 1) -> list[Path]:
    """Remove what dead runs left behind; call it while holding the lock.

    Removes ``runs/.incomplete-*``, ``runs/.legacy-*``, stray ``.*.link-*`` links,
    leftovers of earlier versions' publication (``.<output>.partial-*`` siblings,
    ``.<entry>.old-*`` entries), finished runs that were never published and runs
    older than the ``keep_previous`` runs before the published one.

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

    runs = output_dir / RUNS
    if output_dir.is_dir():
        for entry in output_dir.iterdir():
            if ".link-" in entry.name and entry.name.startswith("."):
                drop(entry)
            elif _LEGACY.match(entry.name):
                drop(entry)
    if output_dir.parent.is_dir():
        for entry in output_dir.parent.glob(f".{output_dir.name}.partial-*"):
            drop(entry)
    if runs.is_dir():
        current = resolve_run(output_dir) if (output_dir / CURRENT).is_symlink() else None
        finished = sorted(p for p in runs.iterdir() if _RUN_ID.match(p.name) and p.is_dir())
        older = [p for p in finished if current is not None and p.name < current.name]
        # complete but never published (the process died before the switch)
        unpublished = [p for p in finished if current is None or p.name > current.name]
        for entry in runs.iterdir():
            if entry.name.startswith((INCOMPLETE, ".legacy-")):
                drop(entry)
        for path in [*older[: max(0, len(older) - keep_previous)], *unpublished]:
            drop(path)
    if removed:
        logger.info("removed %d leftover(s) of earlier runs in %s", len(removed), output_dir)
    return removed
