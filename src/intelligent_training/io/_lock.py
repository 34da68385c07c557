"""One run per output directory: an exclusive lock on ``<output_dir>/.lock``.

The lock is an advisory ``flock`` on the file, so the operating system releases it when
its process ends, however it ends (even ``SIGKILL``): a lock left by a dead process is
never in the way. The file holds the holder's pid, host, start time and command, for
the message a second run gets. The file itself stays (empty when free): removing it
would let two processes lock two different files of the same name.

The lock file is opened without following a symbolic link and must be a plain file
with one link (:func:`~intelligent_training.io._files.open_regular`): a ``.lock`` that
leads elsewhere is refused with a message, never truncated. The holder also records the
run directory it is writing (``staging``), so the next run knows which leftover was
provably made by a dead run.

Where ``fcntl`` is missing (Windows), the file is created exclusively instead and a
file naming a process that no longer runs on this host is taken over.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from intelligent_training.exceptions import OutputLockedError
from intelligent_training.io._files import open_regular, writable_dir

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "OutputLock", "pid_alive"]

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:  # pragma: no cover - e.g. Windows without the process
        return False
    return True


def _holder(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process (the lock file names none)"
    parts = [f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"]
    if holder.get("started_utc"):
        parts.append(f"since {holder['started_utc']}")
    if holder.get("command"):
        parts.append(f"running {' '.join(map(str, holder['command']))[:200]!r}")
    return ", ".join(parts)


class OutputLock:
    """Hold ``<output_dir>/.lock`` for the duration of a ``with`` block.

    Parameters
    ----------
    output_dir : path
        Created if missing (an unwritable place fails here, before any work).

    Raises
    ------
    OutputLockedError
        Another live process holds the directory; the message names its pid, host,
        start time and command.
    """

    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        self.output_dir = Path(output_dir)
        self.path = self.output_dir / LOCK_FILE
        self._fd: int | None = None
        #: What the lock file held when it was taken (a dead holder's pid, staging, ...).
        self.previous: dict[str, Any] = {}
        self._held: dict[str, Any] = {}

    def _info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": list(sys.argv),
        }

    def acquire(self) -> OutputLock:
        writable_dir(self.output_dir, "output directory")
        if fcntl is None:  # pragma: no cover - Windows
            return self._acquire_exclusive()
        fd = open_regular(self.path, os.O_RDWR | os.O_CREAT, what="lock file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 65536, 0).decode("utf-8", "replace")
            os.close(fd)
            raise OutputLockedError(
                f"output directory {self.output_dir} is in use by {_describe(_holder(text))}; "
                "wait for that run to finish or choose another --output-dir"
            ) from None
        previous = _holder(os.pread(fd, 65536, 0).decode("utf-8", "replace"))
        if previous.get("pid"):
            logger.info(
                "taking over the lock of %s, which ended without releasing it",
                _describe(previous),
            )
        self.previous = previous
        self._fd = fd
        self._held = self._info()
        self._write(self._held)
        return self

    def _write(self, info: dict[str, Any]) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode(), 0)

    def register(self, staging: str) -> None:
        """Record the run directory being written (``runs/<name>``) in the lock file.

        A run killed while writing leaves this name in the lock; the next holder finds
        it in :attr:`previous` and removes exactly that directory.
        """
        if self._fd is not None and fcntl is not None:
            self._write({**self._held, "staging": staging})

    def _acquire_exclusive(self) -> OutputLock:  # pragma: no cover - Windows
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _holder(self.path.read_text(encoding="utf-8", errors="replace"))
                same_host = holder.get("host") == socket.gethostname()
                if same_host and not pid_alive(int(holder.get("pid", 0) or 0)):
                    logger.info("taking over the stale lock of %s", _describe(holder))
                    self.path.unlink(missing_ok=True)
                    time.sleep(0.05)
                    continue
                raise OutputLockedError(
                    f"output directory {self.output_dir} is in use by {_describe(holder)}; "
                    "wait for that run to finish or choose another --output-dir"
                ) from None
            os.write(fd, json.dumps(self._info()).encode())
            self._fd = fd
            return self
        raise OutputLockedError(f"cannot take the lock {self.path}; try again")

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if fcntl is None:  # pragma: no cover - Windows
                os.close(fd)
                self.path.unlink(missing_ok=True)
                return
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            if fcntl is not None:
                os.close(fd)

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
