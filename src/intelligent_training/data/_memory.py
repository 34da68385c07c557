"""Hand freed memory back to the system between the steps of a large job."""

from __future__ import annotations

import sys

__all__ = ["release_memory"]


def release_memory() -> None:
    """Return freed heap memory to the system: Arrow's pool (when Arrow is in use) and
    glibc's arenas (on Linux with glibc; elsewhere nothing happens).

    Freed buffers below glibc's mmap threshold (which grows to 32 MiB once a large
    block has been freed) stay in the arena of the thread that allocated them; with
    one arena per worker thread, a stage's fold copies and model buffers would keep
    the process's resident size at its high-water mark through the next stage. Called
    after loading and after each stage of the pipeline; cheap (it only walks the
    arenas' free lists).
    """
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass
