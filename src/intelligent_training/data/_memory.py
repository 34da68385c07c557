"""Hand freed memory back to the system between the steps of a large job."""

from __future__ import annotations

import gc
import sys

__all__ = ["MMAP_THRESHOLD", "release_memory", "return_freed_blocks"]


def release_memory() -> None:
    """Return freed heap memory to the system: unreachable objects in reference cycles
    (collected now rather than whenever the collector next runs), Arrow's pool (when
    Arrow is in use) and glibc's arenas (on Linux with glibc; elsewhere nothing happens).

    Freed buffers below glibc's mmap threshold (which grows to 32 MiB once a large
    block has been freed) stay in the arena of the thread that allocated them; with
    one arena per worker thread, a stage's fold copies and model buffers would keep
    the process's resident size at its high-water mark through the next stage. Called
    after loading and after each stage of the pipeline; cheap (it only walks the
    arenas' free lists).
    """
    gc.collect()  # objects in reference cycles (a stage's executor, its bins) go first
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass


#: Blocks of at least this many bytes are mapped on their own by glibc (see below).
MMAP_THRESHOLD = 256 * 2**10
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def return_freed_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Have glibc hand large freed blocks back to the system at once, for this process.

    glibc serves a block above its *mmap threshold* with a mapping of its own, unmapped
    when freed; smaller ones come from its arenas, which keep freed memory for reuse.
    The threshold starts at 128 KiB but rises (up to 32 MiB) each time such a block is
    freed, so after the first few, the stages' row copies, LightGBM's binning samples and
    training buffers (a few MiB each) stay resident once freed, until
    :func:`release_memory` trims them: a stage's peak then counts the freed memory of
    every thread's arena. A fixed threshold (``mallopt(M_MMAP_THRESHOLD)``) keeps the
    resident size near what is in use. Called once by the console script, which owns its
    process; elsewhere (not glibc) nothing happens.

    Returns
    -------
    bool
        Whether the setting was applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
