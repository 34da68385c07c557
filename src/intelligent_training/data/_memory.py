"""Hand freed memory back to the system between the steps of a large job."""

from __future__ import annotations

import gc
import sys

__all__ = [
    "MMAP_THRESHOLD",
    "TRIM_ABOVE",
    "TRIM_THRESHOLD",
    "bound_freed_blocks",
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


#: Blocks of at least this many bytes are mapped on their own by glibc (see below).
MMAP_THRESHOLD = 4 * 2**20
#: Free memory at the top of an arena that glibc keeps for reuse (see below).
TRIM_THRESHOLD = 32 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


def bound_freed_blocks() -> bool:
    """Have glibc hand freed blocks of :data:`MMAP_THRESHOLD` and more back at once.

    glibc serves a block above its *mmap threshold* with a mapping of its own, unmapped
    when freed; smaller ones come from its arenas, which keep freed memory for reuse.
    By default the threshold rises (up to 32 MiB) each time such a block is freed, so a
    stage's row copies, LightGBM's binning samples and training buffers would stay in
    the worker threads' arenas once freed. A fixed threshold of 4 MiB returns those at
    once, while the many smaller buffers of model fits and explanations are reused from
    the arenas without page faults (a 256 KiB threshold, used before, made 58-83 M
    minor faults and over 100 s of system time on the peer workload); what the arenas
    hold freed is bounded by :func:`trim_freed` after each cell. Called once by the
    console script, which owns its process; elsewhere (not glibc) nothing happens.

    Returns
    -------
    bool
        Whether the settings were applied.
    """
    libc = _glibc()
    if libc is None:
        return False
    top = bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and top
