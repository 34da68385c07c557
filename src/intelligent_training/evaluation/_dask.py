"""Cells on a Dask cluster: data scattered once, one task per cell, cache on the client.

How a run of :func:`~intelligent_training.evaluation.run_cells` uses a cluster
(see ``docs/scaling.md``):

- **Data**: the feature matrix (with the column labels, the panel index and the symbol
  groups) is scattered to every worker **once** (``broadcast=True``) and kept while
  the next run has the same features (same fingerprint), so every stage and every call
  on the same matrix reuses it. The labels of the run's targets are scattered once and
  kept while later calls need the same targets (or fewer: the ranker's fold waves). A task carries only its cell: parameters, measure and its rows, run-length
  encoded (a fold's rows are a few contiguous blocks).
- **Bins**: the LightGBM / XGBoost fold bins of the fast path are a small task of
  their own (positions and parameters only); every cell of that fold depends on it,
  so each worker builds a fold's bins at most once and a lost one is rebuilt by Dask.
- **Threads**: every cell runs with ``threads_per_task`` threads (default: the
  workers' thread count), passed to LightGBM / XGBoost / torch and BLAS. With more
  than one thread per task, a worker resource (``intelligent-training-threads`` =
  the worker's threads, declared by a worker plugin) keeps ``nthreads // threads``
  cells at once on a worker: never oversubscribed.
- **Cache**: stays on the client. Every cell goes through the same memoised function
  as a local run (so both share one cache): a hit never leaves the client, a miss is
  submitted and its result stored as soon as it is back; a killed run resumes from the
  finished cells.
- **Failures**: an exception inside a cell is a ``CellResult.error`` (as locally); a
  task lost with its worker is rescheduled by Dask (``allowed-failures``) and
  retried on errors (``retries``); one that still fails becomes the cell's error.
  Nothing is dropped.
"""

from __future__ import annotations

import pickle
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from distributed import Client, Future

from intelligent_training.evaluation import _run
from intelligent_training.evaluation._cells import Cell, CellResult, EvalData
from intelligent_training.evaluation._dask_cluster import WORKER_ENV, connect, local_workers
from intelligent_training.evaluation._dask_tasks import (
    RESOURCE,
    ThreadSlots,
    _build_bins,
    _Features,
    _Labels,
    _run_remote,
    pack_rows,
    unpack_rows,
)
from intelligent_training.exceptions import ConfigError

__all__ = [
    "DEFAULT_RETRIES",
    "RESOURCE",
    "WORKER_ENV",
    "DaskRuntime",
    "ThreadSlots",
    "connect",
    "local_workers",
    "pack_rows",
    "stream",
    "unpack_rows",
]

#: Extra attempts of a task that raised (a lost worker is handled by the scheduler).
DEFAULT_RETRIES = 2
_MAX_IN_FLIGHT = 256  # client threads waiting on cells
_QUEUED_PER_SLOT = 2  # cells in flight per cell slot of the cluster (one running, one queued)
_WORKER_WAIT_S = 60.0  # how long a run waits for the cluster's first worker


# ------------------------------------------------------------------------ on the client
class DaskRuntime:
    """A Dask client as the executor sees it (see the module docstring).

    Parameters
    ----------
    client : distributed.Client
    threads_per_task : int or None
        Threads of every cell (``None``: the smallest worker's thread count).
    retries : int
        Extra attempts of a task that raised.
    """

    def __init__(
        self, client: Client, *, threads_per_task: int | None = None, retries: int = DEFAULT_RETRIES
    ) -> None:
        self.client = client
        self.threads_per_task = threads_per_task
        self.retries = retries
        self._lock = threading.Lock()
        self._features: tuple[str, Future] | None = None
        self._labels: tuple[Any, frozenset[str], Future] | None = None
        self._slots_declared = False

    def worker_threads(self) -> list[int]:
        """Thread count of every worker (waits up to a minute for the first one)."""
        nthreads = self.client.nthreads()
        if not nthreads:
            try:
                self.client.wait_for_workers(1, timeout=_WORKER_WAIT_S)
            except TimeoutError as exc:
                raise ConfigError(
                    f"the Dask cluster at {self.client.scheduler.address} has no workers "
                    f"(waited {_WORKER_WAIT_S:.0f} s); start workers or run without Dask"
                ) from exc
            nthreads = self.client.nthreads()
        return [int(n) for n in nthreads.values()]

    def cell_threads(self, threads: int | None = None) -> int:
        """Threads per cell on this cluster: ``threads_per_task``, else ``threads`` (a
        stage's own setting, e.g. ``ModelTrainer(threads=)``), else the smallest
        worker's threads; never more than the largest worker has."""
        counts = self.worker_threads()
        wanted = self.threads_per_task or threads or min(counts)
        return max(1, min(int(wanted), max(counts)))

    def slots(self, threads: int) -> int:
        """How many cells of ``threads`` threads the cluster runs at once."""
        return max(1, sum(max(1, n // threads) for n in self.worker_threads()))

    def resources(self, threads: int) -> dict[str, int] | None:
        """The task resources of a cell (declaring them on the workers once)."""
        if threads <= 1:
            return None
        with self._lock:
            if not self._slots_declared:
                self.client.register_plugin(ThreadSlots(), name=RESOURCE)
                self._slots_declared = True
        return {RESOURCE: threads}

    def features(self, data: EvalData, log: Any) -> Future:
        """The scattered features of ``data`` (scattered only when they changed)."""
        key = data.fingerprint()
        with self._lock:
            held = self._features
            if held is not None and held[0] == key and held[1].status == "finished":
                return held[1]
            payload = _Features(
                X=data.X,
                columns=data.columns,
                index=data.index,
                groups=data.groups,
                n_groups=data.n_groups,
                fingerprint=key,
            )
            future = self.client.scatter(payload, broadcast=True, hash=False)
            if log is not None:
                copies = len(self.worker_threads())
                log.transfers["scatter_bytes"] += _pickled_size(payload) * copies
                log.transfers["scatters"] += copies
            self._features = (key, future)
        if held is not None:
            held[1].release()
        return future

    def labels(self, data: EvalData, names: set[str], log: Any) -> Future:
        """The scattered targets ``names`` of ``data``: scattered once, reused by later
        calls on the same targets (e.g. the ranker's next fold wave, a subset)."""
        with self._lock:
            held = self._labels
            if (
                held is not None
                and held[0] is data.targets
                and names <= held[1]
                and held[2].status == "finished"
            ):
                return held[2]
            labels = _Labels({t: replace(data.targets[t], folds=()) for t in names})
            future = self.client.scatter(labels, broadcast=True, hash=False)
            if log is not None:
                copies = len(self.worker_threads())
                log.transfers["label_bytes"] += _pickled_size(labels) * copies
            self._labels = (data.targets, frozenset(names), future)
        if held is not None:
            held[2].release()
        return future

    def release(self) -> None:
        """Drop the scattered features and labels (the workers free them)."""
        with self._lock:
            held, self._features = self._features, None
            labels, self._labels = self._labels, None
        if held is not None:
            held[1].release()
        if labels is not None:
            labels[2].release()


def _pickled_size(obj: Any) -> int:
    """Bytes ``obj`` takes on the wire (pickle 5, arrays out of band as Dask sends them)."""
    buffers: list[pickle.PickleBuffer] = []
    size = len(pickle.dumps(obj, protocol=5, buffer_callback=buffers.append))
    return size + sum(b.raw().nbytes for b in buffers)


class _Session:
    """One :func:`stream` call: its labels, bins and in-flight tasks."""

    def __init__(self, runtime: DaskRuntime, cells: Sequence[Cell], data: EvalData, log: Any):
        self.runtime = runtime
        self.client = runtime.client
        self.log = log
        self.threads = max(c.threads for c in cells)
        self.resources = runtime.resources(self.threads)
        self.features = runtime.features(data, log)
        names = {t for c in cells for t in (c.target, *c.joint)}
        self.labels = runtime.labels(data, names, log)  # held by the runtime, not released here
        self._bins: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._running: set[Future] = set()
        self.closed = False

    def bins(self, cell: Cell) -> Future | None:
        if cell.bins is None:
            return None
        with self._lock:
            future = self._bins.get(id(cell.bins))
            if future is None:
                b = cell.bins
                future = self.client.submit(
                    _build_bins,
                    b.family,
                    pack_rows(b.base_rows),
                    b.params,
                    key=f"bins-{b.family}-{uuid.uuid4().hex}",
                    pure=False,
                    retries=self.runtime.retries,
                )
                self._bins[id(cell.bins)] = future
            return future

    def compute(self, cell: Cell, data: EvalData) -> CellResult:
        """Run ``cell`` on the cluster and wait for it (called by the memoiser on a miss)."""
        del data  # on the cluster
        if self.closed:
            raise RuntimeError("the run was stopped before this cell started")
        args = (
            replace(cell, train=cell.train[:0], test=cell.test[:0], bins=None),
            pack_rows(cell.train),
            pack_rows(cell.test),
        )
        future = self.client.submit(
            _run_remote,
            self.features,
            self.labels,
            self.bins(cell),
            *args,
            key=f"cell-{cell.stage}-{uuid.uuid4().hex}",
            pure=False,
            retries=self.runtime.retries,
            resources=self.resources,
        )
        with self._lock:
            self._running.add(future)
        try:
            result: CellResult = future.result()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # cancelled (BaseException) or lost: the cell's error
            if isinstance(exc, Exception):
                raise
            raise RuntimeError(f"the cluster cancelled this cell ({type(exc).__name__})") from exc
        finally:
            with self._lock:
                self._running.discard(future)
            future.release()
        if self.log is not None:
            with self._lock:
                self.log.transfers["task_bytes"] += _pickled_size(args)
                self.log.transfers["tasks"] += 1
                self.log.transfers["result_bytes"] += _pickled_size(result)
        return result

    def close(self) -> None:
        """Cancel what is still running and release the run's data on the cluster."""
        self.closed = True
        with self._lock:
            running = list(self._running)
            bins = list(self._bins.values())
        if running:
            self.client.cancel(running)
        for future in bins:
            future.release()


def stream(
    runtime: DaskRuntime,
    run: Any,
    cells: Sequence[Cell],
    keys: Sequence[str],
    data: EvalData,
    *,
    log: Any = None,
) -> Iterator[tuple[Cell, CellResult]]:
    """Run ``cells`` on the cluster; yield ``(cell, result)`` as they finish.

    ``run`` is the (memoised) cell function: called on the client for every cell,
    it answers cache hits there and sends only the misses to the cluster.
    """
    session = _Session(runtime, cells, data, log)
    in_flight = max(
        2, min(len(cells), _QUEUED_PER_SLOT * runtime.slots(session.threads), _MAX_IN_FLIGHT)
    )
    pool = ThreadPoolExecutor(in_flight, thread_name_prefix="intelligent-training-dask")
    try:
        pending = {
            pool.submit(_run.execute, run, keys[i], cells[i], data, session.compute): i
            for i in range(len(cells))
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield cells[pending.pop(future)], future.result()
    finally:
        session.close()
        pool.shutdown(wait=True, cancel_futures=True)
