"""Where cells run: local threads, or a Dask cluster.

- **local** (default): joblib threads, ``workers`` cells at a time, results in
  completion order; every cell reads the one shared feature matrix.
- **Dask**: inside :func:`use_dask` (a client, a scheduler address, ``local:N``; what
  ``runtime.dask_scheduler`` / ``--dask-scheduler`` set up), or inside
  ``joblib.parallel_config(backend="dask")`` (its client), every cell is one task on
  the cluster (:mod:`._dask`: data scattered once, cache on the client, failures per
  cell).

Either way the cells, their seeds and their threads are the same, so are the results.
This module never imports Dask until a cluster is in use.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from numbers import Integral
from typing import TYPE_CHECKING, Any

from intelligent_training.evaluation._cells import Cell, CellResult, EvalData
from intelligent_training.evaluation._run import cached_cell, describe_error, execute

if TYPE_CHECKING:
    from intelligent_training.evaluation._dask import DaskRuntime

__all__ = ["active_runtime", "distributed_backend_active", "runner", "stream", "use_dask"]

Run = Callable[[str, Cell, EvalData], CellResult]

_ACTIVE: ContextVar[DaskRuntime | None] = ContextVar("intelligent_training_dask", default=None)
_JOBLIB_RUNTIMES: weakref.WeakKeyDictionary[Any, DaskRuntime] = weakref.WeakKeyDictionary()


def _check_cell(value: Any, key: str, cell: Cell, data: EvalData) -> str | None:
    """A stored cell is a :class:`CellResult` (see :func:`~intelligent_training.cache.memoize`)."""
    from intelligent_training.cache import instance_of

    return instance_of(value, CellResult)


def runner(memory: Any) -> Run:
    """The function a cell runs through: plain, or memoised by ``memory``."""
    if memory is None:
        return cached_cell
    from intelligent_training.cache import memoize

    return memoize(memory, cached_cell, ignore=["cell", "data"], check=_check_cell)


def _joblib_dask_client() -> Any:
    """The client of an active ``joblib.parallel_config(backend="dask")``, or None."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    if "Dask" not in type(backend).__name__:
        return None
    return getattr(backend, "client", None)


def distributed_backend_active() -> bool:
    """Whether cells run on a Dask cluster here (:func:`use_dask` or joblib's dask backend)."""
    return active_runtime() is not None


def active_runtime() -> DaskRuntime | None:
    """The Dask runtime cells use here: :func:`use_dask`'s, else one for the client of
    joblib's active dask backend, else ``None`` (local threads)."""
    runtime = _ACTIVE.get()
    if runtime is not None:
        return runtime
    client = _joblib_dask_client()
    if client is None:
        return None
    runtime = _JOBLIB_RUNTIMES.get(client)
    if runtime is None:
        from intelligent_training.evaluation._dask import DaskRuntime

        runtime = _JOBLIB_RUNTIMES[client] = DaskRuntime(client)
    return runtime


@contextlib.contextmanager
def use_dask(
    client: Any = None, *, threads_per_task: int | None = None, retries: int | None = None
) -> Iterator[DaskRuntime]:
    """Run every stage's cells on a Dask cluster inside the block.

    Parameters
    ----------
    client : distributed.Client, str or None
        A client; a scheduler address (``tcp://host:8786``); ``"local"`` / ``"local:N"``
        for a ``LocalCluster`` of one worker process per core / N worker processes
        (one thread each), started for the block and closed at its end; ``None`` for
        the current default client.
    threads_per_task : int, optional
        Threads of every cell (LightGBM / XGBoost / torch / BLAS). Default: the
        smallest worker's thread count, so a cell uses a whole worker; with several
        threads per cell a worker runs ``nthreads // threads`` cells at once.
    retries : int, optional
        Extra attempts of a task that raised (default 2). A task lost with its worker
        is rescheduled by Dask on its own.

    Yields
    ------
    DaskRuntime
        ``.client`` is the client in use.

    Raises
    ------
    MissingDependencyError
        Without ``dask.distributed``.
    ConfigError
        For bad settings, an unreachable scheduler, or no client at all.

    Examples
    --------
    >>> from intelligent_training.evaluation import use_dask
    >>> with use_dask("local:2"):  # doctest: +SKIP
    ...     ranker = TargetRanker(random_state=0).fit(X, Y)
    """
    from intelligent_training.exceptions import ConfigError, MissingDependencyError

    for name, value, low in (("threads_per_task", threads_per_task, 1), ("retries", retries, 0)):
        if value is not None and (
            not isinstance(value, Integral) or isinstance(value, bool) or value < low
        ):
            raise ConfigError(f"use_dask: {name} must be an int >= {low}, got {value!r}.")
    try:
        from intelligent_training.evaluation import _dask
    except ImportError as exc:
        raise MissingDependencyError(
            "running cells on Dask needs dask.distributed; install "
            "'intelligent-training[dask]' or remove the Dask setting"
        ) from exc
    with contextlib.ExitStack() as stack:
        if isinstance(client, str):
            client = stack.enter_context(_dask.connect(client))
        elif client is None:
            from distributed import get_client

            try:
                client = get_client()
            except ValueError as exc:
                raise ConfigError(
                    "use_dask(): no Dask client is running; pass a client, a scheduler "
                    "address or 'local:N'"
                ) from exc
        runtime = _dask.DaskRuntime(
            client,
            threads_per_task=threads_per_task,
            retries=_dask.DEFAULT_RETRIES if retries is None else int(retries),
        )
        token = _ACTIVE.set(runtime)
        try:
            yield runtime
        finally:
            _ACTIVE.reset(token)
            runtime.release()


def stream(
    memory: Any,
    cells: Sequence[Cell],
    keys: Sequence[str],
    data: EvalData,
    *,
    workers: int,
    runtime: DaskRuntime | None = None,
    log: Any = None,
) -> Iterator[tuple[Cell, CellResult]]:
    """Run every cell (see the module docstring); yield ``(cell, result)`` as they finish.

    ``memory`` (or ``None``) memoises each cell under its key in ``keys``; ``workers``
    is the number of local threads; ``runtime`` a Dask runtime (then ``workers`` is
    not used); ``log`` a :class:`~intelligent_training.evaluation.CellLog` that
    counts the bytes sent to the cluster.
    """
    run = runner(memory)
    if runtime is not None:
        from intelligent_training.evaluation import _dask

        yield from _dask.stream(runtime, run, cells, keys, data, log=log)
        return
    if workers <= 1 or len(cells) == 1:
        for cell, key in zip(cells, keys):
            yield cell, execute(run, key, cell, data)
        return
    yield from _threads(run, cells, keys, data, workers)


def _threads(
    run: Run, cells: Sequence[Cell], keys: Sequence[str], data: EvalData, workers: int
) -> Iterator[tuple[Cell, CellResult]]:
    """``workers`` threads take the cells in order, with one rule: a cell that runs
    exclusively (one at a time per process: ``_run.exclusive``, e.g. torch's) is taken
    as soon as no other such cell runs, and a thread never waits for one.

    The exclusive cells thus run one after another from the start, beside the others,
    instead of a thread waiting on their lock while other cells are left (and the
    chain of exclusive cells ending the grid alone). Results are the cells' own, so
    they do not depend on this order.
    """
    import queue
    import threading
    from collections import deque

    from intelligent_training.evaluation._run import exclusive

    solo = deque(i for i, cell in enumerate(cells) if exclusive(cell))
    free = deque(i for i, cell in enumerate(cells) if not exclusive(cell))
    guard = threading.Lock()
    state = {"solo_running": False, "stop": False}
    finished: queue.SimpleQueue[tuple[int, CellResult]] = queue.SimpleQueue()

    def take() -> tuple[int, bool] | None:
        with guard:
            if state["stop"]:
                return None
            if solo and not state["solo_running"]:
                state["solo_running"] = True
                return solo.popleft(), True
            if free:
                return free.popleft(), False
            # only exclusive cells are left and one runs: its thread goes on with them
            return None

    def work() -> None:
        while (taken := take()) is not None:
            i, is_solo = taken
            try:
                result = execute(run, keys[i], cells[i], data)
            except BaseException as exc:  # never leave the consumer waiting for it
                result = CellResult(error=describe_error(exc))
            finally:
                if is_solo:
                    with guard:
                        state["solo_running"] = False
            finished.put((i, result))

    pool = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in pool:
        thread.start()
    try:
        for _ in range(len(cells)):
            i, result = finished.get()
            yield cells[i], result
    finally:
        with guard:
            state["stop"] = True  # a consumer that left early: start no other cell
    for thread in pool:
        thread.join()
