"""Progress bars for long loops (targets x families x folds)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger("intelligent_training")


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


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    verbose: bool | int | None = None,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar when progress is enabled."""
    if not progress_enabled(verbose):
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)
