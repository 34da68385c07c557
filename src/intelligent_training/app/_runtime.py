"""What a run needs around the work: its log buffer and the Dask backend."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

from intelligent_training.exceptions import ConfigError, MissingDependencyError

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
def parallel_backend(scheduler: str | None) -> Iterator[None]:
    """Send joblib work to a Dask cluster when a scheduler address is configured."""
    if not scheduler:
        yield
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise MissingDependencyError(
            "runtime.dask_scheduler needs dask.distributed; install "
            "'intelligent-training[dask]' or remove the setting"
        ) from exc
    import joblib

    cluster = None
    try:
        if scheduler.startswith("local:"):  # a cluster of N local worker processes
            try:
                n_workers = int(scheduler.split(":", 1)[1])
            except ValueError:
                n_workers = 0
            if n_workers < 1:
                raise ConfigError(
                    f"runtime.dask_scheduler={scheduler!r}: 'local:N' needs a positive number "
                    "of workers, e.g. local:4"
                )
            cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, dashboard_address=None
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at runtime.dask_scheduler={scheduler!r} ({exc}); "
            "check the address or remove the setting"
        ) from exc
    logger.info("running joblib work on the Dask cluster at %s", scheduler)
    try:
        with joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
