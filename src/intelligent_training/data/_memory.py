"""Hand freed memory back to the system between the steps of a large job."""

from __future__ import annotations

import gc
import sys

__all__ = [
    "TRIM_ABOVE",
    "freed_bytes",
    "release_memory",
    "trim_freed",
]


_GLIBC: object = None  # ctypes.CDLL("libc.so.6") once looked up; False where there is none


def _glibc():  # type: ignore[no-untyped-def]
    """glibc through ctypes, or None (not Linux, or another C library such as musl)."""
    global _GLIBC
    if _GLIBC is None:
        _GLIBC = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                class MallInfo2(ctypes.Structure):
                    _fields_ = [
                        (name, ctypes.c_size_t)
                        for name in (
                            "arena",
                            "ordblks",
                            "smblks",
                            "hblks",
                            "hblkhd",
                            "usmblks",
                            "fsmblks",
                            "uordblks",
                            "fordblks",
                            "keepcost",
                        )  # fmt: skip
                    ]

                libc = ctypes.CDLL("libc.so.6")
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                if hasattr(libc, "mallinfo2"):  # glibc >= 2.33
                    libc.mallinfo2.restype = MallInfo2
                _GLIBC = libc
            except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
                pass
    return _GLIBC or None


#: Trim glibc's arenas once they hold more freed bytes than this (:func:`trim_freed`).
TRIM_ABOVE = 64 * 2**20


def freed_bytes() -> int | None:
    """Bytes that glibc's arenas hold freed (``mallinfo2().fordblks``, every arena), or
    ``None`` without glibc 2.33+. Cheap: well under a microsecond on a job's heap."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    return int(libc.mallinfo2().fordblks)


def trim_freed(limit: int = TRIM_ABOVE) -> bool:
    """Hand freed heap memory back to the system when the arenas hold more than ``limit``.

    Freed blocks below glibc's mmap threshold stay in the arena of the thread that freed
    them, for that thread's next allocations: reusing them costs nothing, but with one
    arena per worker thread a stage's freed row copies and model buffers add up across
    the arenas. Called as each cell finishes (:func:`~intelligent_training.evaluation.run_cells`),
    this bounds what the arenas hold freed to about ``limit`` at the cost of one
    ``mallinfo2`` call per cell; small jobs, whose arenas never hold that much, never
    trim, so their buffers are reused without page faults (which a fixed, low mmap
    threshold turns every large allocation into).

    Returns
    -------
    bool
        Whether the arenas were trimmed.
    """
    held = freed_bytes()
    if held is None or held <= limit:
        return False
    _glibc().malloc_trim(0)  # type: ignore[union-attr]
    return True


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
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
