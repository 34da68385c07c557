"""What a run needs around the work: its log buffer and the Dask backend."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

__all__ = ["collect_logs", "parallel_backend"]

logger = logging.getLogger(__name__)


class _LogBuffer(logging.Handler):
    """Collect the run's log records for ``training_results/logs/run.log``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.StringIO()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging must never break the run
            self.handleError(record)


@contextlib.contextmanager
def collect_logs() -> Iterator[io.StringIO]:
    """Collect the package's log records (INFO and up) and warnings during the block."""
    buffer = _LogBuffer()
    package_logger = logging.getLogger("intelligent_training")
    package_logger.addHandler(buffer)
    logging.getLogger("py.warnings").addHandler(buffer)
    old_level = package_logger.level
    if package_logger.getEffectiveLevel() > logging.INFO:
        package_logger.setLevel(logging.INFO)
    try:
        yield buffer.stream
    finally:
        package_logger.removeHandler(buffer)
        logging.getLogger("py.warnings").removeHandler(buffer)
        package_logger.setLevel(old_level)


@contextlib.contextmanager
def parallel_backend(scheduler: str | None, threads_per_task: int | None = None) -> Iterator[None]:
    """Run every stage's cells on a Dask cluster when a scheduler is configured.

    ``scheduler`` is ``runtime.dask_scheduler``: a scheduler address, or ``local`` /
    ``local:N`` for a ``LocalCluster`` started for the run and closed at its end (also
    on errors); ``threads_per_task`` is ``runtime.threads_per_task``. See
    :func:`intelligent_training.evaluation.use_dask`.
    """
    if not scheduler:
        yield
        return
    from intelligent_training.evaluation import use_dask

    with use_dask(scheduler, threads_per_task=threads_per_task) as runtime:
        logger.info(
            "running the cells on the Dask cluster at %s (%d workers)",
            scheduler,
            len(runtime.worker_threads()),
        )
        yield
