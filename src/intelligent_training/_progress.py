"""Progress of long loops (targets x families x folds): a tqdm bar on a terminal, log
lines elsewhere.

On a terminal, :func:`progress` draws a bar. When the bar is off (stderr is a file or a
pipe, e.g. a job's log), :class:`ProgressLog` writes one ``INFO`` line per finished
item instead, with the time it took, the time since the loop began and an estimate of
the rest (the mean time per finished item times the items left)::

    INFO: selection: target fwd_ret_15m done (2/3) in 12.1 s; 25.0 s elapsed, about 12 s left
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger("intelligent_training")

__all__ = ["ProgressLog", "format_seconds", "progress", "progress_enabled"]


def progress_enabled(verbose: bool | int | None = None) -> bool:
    """Whether progress bars should be drawn.

    ``verbose=None`` means: on when stderr is a terminal and the
    ``INTELLIGENT_TRAINING_PROGRESS`` environment variable is not ``0``.
    """
    env = os.environ.get("INTELLIGENT_TRAINING_PROGRESS")
    if env is not None:
        return env not in ("0", "false", "False", "")
    if verbose is None:
        return sys.stderr.isatty()
    return bool(verbose)


def format_seconds(seconds: float) -> str:
    """``8.2 s``, ``75 s``, ``4 min 10 s``, ``1 h 02 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 100:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressLog:
    """One log line per finished item of a loop of ``total`` items.

    Parameters
    ----------
    desc : str
        What the loop does (``"selection"``, ``"ranking"``).
    total : int
        Items in the loop.
    unit : str, default "target"
        What an item is, in the line.
    enabled : bool, default True
        Write the lines (off where a progress bar is drawn instead).
    interval : float, default 0
        A count of the finished items at most every ``interval`` seconds, and at the
        last item of a loop that has logged one (a loop shorter than ``interval`` logs
        nothing): for loops of many short items, such as a stage's cells.
    """

    def __init__(
        self,
        desc: str,
        total: int,
        *,
        unit: str = "target",
        enabled: bool = True,
        interval: float = 0.0,
    ):
        self.desc = desc
        self.total = int(total)
        self.unit = unit
        self.enabled = enabled
        self.interval = float(interval)
        self.n_done = 0
        self.start = self._last = self._logged = time.perf_counter()

    def done(self, label: object = None) -> None:
        """Count one finished item (named ``label``) and log its line."""
        now = time.perf_counter()
        self.n_done += 1
        took, self._last = now - self._last, now
        if not self.enabled:
            return
        if now - self._logged < self.interval and (
            self.n_done < self.total or self._logged == self.start
        ):
            return  # the last item of a loop shorter than one interval: no count either
        self._logged = now
        if self.interval:  # a line for several items: no single item's time
            elapsed = now - self.start
            left = max(0, self.total - self.n_done)
            logger.info(
                "%s: %d/%d %ss done; %s elapsed, %s",
                self.desc,
                self.n_done,
                self.total,
                self.unit,
                format_seconds(elapsed),
                f"about {format_seconds(elapsed / self.n_done * left)} left"
                if left
                else "finished",
            )
            return
        elapsed = now - self.start
        left = max(0, self.total - self.n_done)
        rest = f"about {format_seconds(elapsed / self.n_done * left)} left" if left else "finished"
        name = f" {label}" if label is not None else ""
        logger.info(
            "%s: %s%s done (%d/%d) in %s; %s elapsed, %s",
            self.desc,
            self.unit,
            name,
            self.n_done,
            self.total,
            format_seconds(took),
            format_seconds(elapsed),
            rest,
        )


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    verbose: bool | int | None = None,
    label: Callable[[T], object] | None = None,
    unit: str = "target",
    interval: float | None = None,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar when progress is enabled.

    When the bar is off, :class:`ProgressLog` logs instead: with ``label`` (the name of
    an item, e.g. ``str``) a line per item, when the loop asks for the next one (the
    loop's body has finished it; an item left by ``break`` is not logged); with
    ``interval`` and ``total``, a count at most every ``interval`` seconds. Neither:
    nothing.
    """
    if not progress_enabled(verbose):
        if label is None and (interval is None or total is None):
            yield from iterable
            return
        if total is None:
            iterable = list(iterable)
            total = len(iterable)
        log = ProgressLog(desc, total, unit=unit, interval=interval or 0.0)
        for item in iterable:
            yield item
            log.done(None if label is None else label(item))
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)
