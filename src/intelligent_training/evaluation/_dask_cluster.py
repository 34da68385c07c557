"""Connecting to a Dask cluster: a scheduler address, or a ``local`` one started here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from distributed import Client

from intelligent_training.exceptions import ConfigError

__all__ = ["WORKER_ENV", "connect", "local_workers"]

#: Environment of the workers of a ``local`` cluster: one BLAS / OpenMP thread unless a
#: cell asks for more (LightGBM, XGBoost and torch take the cell's threads as a parameter).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def local_workers(address: str) -> int | None:
    """The worker count of ``local`` / ``local:N`` (``None`` for a scheduler address).

    Raises
    ------
    ConfigError
        For ``local:`` followed by anything but a positive integer.
    """
    if address == "local":
        from joblib import cpu_count

        return max(1, int(cpu_count()))
    if not address.startswith("local:"):
        return None
    text = address.split(":", 1)[1]
    n = int(text) if text.strip().isdigit() else 0
    if n < 1:
        raise ConfigError(
            f"runtime.dask_scheduler={address!r}: 'local:N' needs a positive number of "
            "workers, e.g. local:4 (or 'local' for one per core)"
        )
    return n


@contextlib.contextmanager
def connect(address: str) -> Iterator[Client]:
    """A client of the scheduler at ``address``, for the block.

    ``local`` / ``local:N`` starts a ``LocalCluster`` of N worker processes (one per
    core for ``local``) with one thread each and :data:`WORKER_ENV`; it is closed at
    the end of the block, also on errors.

    Raises
    ------
    ConfigError
        For a bad ``local:N`` or a scheduler that cannot be reached.
    """
    import logging

    from distributed import LocalCluster

    n_workers = local_workers(address)
    cluster = None
    try:
        if n_workers is not None:
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
                env=dict(WORKER_ENV),
            )
            client = Client(cluster, set_as_default=False)
        else:
            client = Client(address, timeout="10s", set_as_default=False)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ConfigError(
            f"cannot reach the Dask scheduler at runtime.dask_scheduler={address!r} ({exc}); "
            "check the address or remove the setting"
        ) from exc
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
