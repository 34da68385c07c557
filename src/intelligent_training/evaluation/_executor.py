"""The executor: run cells, yield their results as they finish.

:func:`run_cells` is the core API of every stage: it takes planned cells and one
:class:`~intelligent_training.evaluation.EvalData`, and yields ``(cell, result)`` pairs
in the order the cells *finish*, so a caller can summarise a target as soon as its last
cell is back (and, later, stop hopeless targets early). Every cell

- is memoised through ``memory`` (anything with ``joblib.Memory``'s ``.cache``) under a
  key that fingerprints the data, the target's labels, the family, its parameters, the
  seed, the label horizon, the rows, the fast-path bins and the measure, so a killed
  run resumes cell by cell and a result never depends on what was cached;
- runs on the backend of :mod:`._backend`: joblib threads by default (the heavy work
  in LightGBM, XGBoost, torch and BLAS releases the GIL, and threads share one copy of
  the features), or one task per cell on a Dask cluster inside
  :func:`~intelligent_training.evaluation.use_dask` or
  ``joblib.parallel_config(backend="dask")`` (see ``docs/scaling.md``);
- fails alone: an exception becomes ``result.error`` and a warning naming the cell.

**Thread budget** (one rule, :func:`cell_threads`): ``n_jobs`` is the number of cores
(``None``: 1, or the active ``joblib.parallel_config``; ``-1``: all). Cells run
``n_jobs`` at a time with one thread each; only when there are fewer cells than cores
does each cell get several threads (never more than ``n_jobs`` in all). A stage may fix
the threads per cell (``ModelTrainer(threads=...)``); then ``n_jobs // threads`` cells
run at once. On a Dask cluster the cluster is the budget: every cell gets
``threads_per_task`` threads (default: a worker's thread count), whatever ``n_jobs``.

Inside :func:`record_cells`, every cell run is logged (stage, target, family, fold,
the process that ran it, time, cache use, error) with the bytes sent to a cluster.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from intelligent_training._progress import progress
from intelligent_training.data._memory import trim_freed
from intelligent_training.evaluation._backend import active_runtime, stream
from intelligent_training.evaluation._cells import Cell, CellResult, EvalData

__all__ = [
    "CellLog",
    "cell_key",
    "cell_threads",
    "core_budget",
    "record_cells",
    "resolve_memory",
    "run_cells",
]

logger = logging.getLogger(__name__)


def _transfer_counters() -> dict[str, int]:
    return dict.fromkeys(
        ("scatter_bytes", "scatters", "label_bytes", "task_bytes", "tasks", "result_bytes"), 0
    )


@dataclass
class CellLog:
    """What :func:`record_cells` collects.

    Attributes
    ----------
    cells : list of dict
        One record per cell run: ``stage``, ``target``, ``family``, ``fold``,
        ``threads``, ``n_train``, ``n_test``, ``pid`` (the process that computed the
        result), ``seconds``, ``cached``, ``error``.
    transfers : dict
        Bytes sent to a Dask cluster: ``scatter_bytes`` and ``scatters`` (the
        features, times the workers they went to, and those copies),
        ``label_bytes`` (the targets' labels, times the workers), ``task_bytes`` and
        ``tasks`` (the cells), and ``result_bytes`` (what came back).
    """

    cells: list[dict[str, Any]] = field(default_factory=list)
    transfers: dict[str, int] = field(default_factory=_transfer_counters)


_LOG: ContextVar[CellLog | None] = ContextVar("intelligent_training_cell_log", default=None)


@contextlib.contextmanager
def record_cells() -> Iterator[CellLog]:
    """Log every cell run inside the block (see :class:`CellLog`).

    Examples
    --------
    >>> from intelligent_training.evaluation import record_cells
    >>> with record_cells() as log:  # doctest: +SKIP
    ...     TargetRanker(random_state=0).fit(X, Y)
    >>> {row["pid"] for row in log.cells}  # doctest: +SKIP
    """
    log = CellLog()
    token = _LOG.set(log)
    try:
        yield log
    finally:
        _LOG.reset(token)


def resolve_memory(memory: Any, owner: str) -> Any:
    """A stage's ``memory``: ``None``, a path (a ``DiskCacheMemory``) or anything with
    ``.cache`` (``joblib.Memory``, ``DiskCacheMemory``).

    Raises
    ------
    ConfigError
        For anything else.
    """
    import os

    from intelligent_training.exceptions import ConfigError

    if memory is None:
        return None
    if isinstance(memory, str | os.PathLike):
        from intelligent_training.cache import DiskCacheMemory

        return DiskCacheMemory(os.fspath(memory))
    if not hasattr(memory, "cache"):
        raise ConfigError(
            f"{owner}: memory must be None, a path or an object with .cache() "
            f"(joblib.Memory, DiskCacheMemory); got {type(memory).__name__}."
        )
    return memory


def core_budget(n_jobs: int | None) -> int:
    """Cores a stage may use: ``n_jobs`` as joblib reads it (``None`` -> 1, ``-1`` -> all)."""
    from joblib import effective_n_jobs

    return max(1, int(effective_n_jobs(n_jobs)))


def cell_threads(n_jobs: int | None, n_cells: int, threads: int | None = None) -> int:
    """Threads each of ``n_cells`` cells gets under the budget ``n_jobs`` (see module doc)."""
    runtime = active_runtime()
    if runtime is not None:
        return runtime.cell_threads(threads)
    if threads is not None:
        return max(1, int(threads))
    budget = core_budget(n_jobs)
    return max(1, budget // max(1, min(budget, n_cells)))


def cell_key(cell: Cell, data: EvalData) -> str:
    """The cache key of a cell: everything its result depends on."""
    from intelligent_training.cache import fingerprint

    spec = data.targets[cell.target]
    labels = [fingerprint(data.targets[t].labels) for t in (cell.joint or (cell.target,))]
    weights = None if spec.weights is None else fingerprint(spec.weights)
    bins = None
    if cell.bins is not None:
        bins = (cell.bins.family, fingerprint(cell.bins.base_rows), sorted(cell.bins.params))
    return fingerprint(
        data.fingerprint(),
        labels,
        spec.task,
        None if spec.classes is None else [str(c) for c in spec.classes],
        cell.family,
        sorted((str(k), repr(v)) for k, v in cell.params.items()),
        cell.seed,
        cell.label_horizon,
        cell.train,
        cell.test,
        repr(cell.measure),
        list(cell.fill_columns),
        bins,
        cell.cpu_only,
        data.n_groups if cell.measure.by_group else 1,
        *(() if weights is None else (weights,)),  # unweighted cells keep their old keys
    )


def run_cells(
    cells: Sequence[Cell],
    data: EvalData,
    *,
    n_jobs: int | None = None,
    memory: Any = None,
    verbose: bool | int | None = None,
    desc: str = "cells",
) -> Iterator[tuple[Cell, CellResult]]:
    """Run ``cells`` on ``data``; yield ``(cell, result)`` as each finishes.

    Parameters
    ----------
    cells : sequence of Cell
        Planned cells (their ``threads`` already set by :func:`cell_threads`).
    data : EvalData
    n_jobs : int or None
        The core budget (see the module docstring; not used on a Dask cluster).
    memory : joblib.Memory-like or None
        Per-cell cache.
    verbose : bool, int or None
        Progress bar (``None``: when stderr is a terminal).
    desc : str
        Label of the progress bar.

    Yields
    ------
    (Cell, CellResult)
        In completion order; results do not depend on that order.
    """
    cells = list(cells)
    if not cells:
        return
    keys = [cell_key(c, data) if memory is not None else "" for c in cells]
    threads = max(c.threads for c in cells)
    workers = max(1, min(len(cells), core_budget(n_jobs) // threads))
    log = _LOG.get()
    results = stream(memory, cells, keys, data, workers=workers, runtime=active_runtime(), log=log)
    from threadpoolctl import threadpool_limits

    # BLAS (linear families, torch on CPU) gets the cells' thread count, like the boosters.
    with threadpool_limits(limits=threads, user_api="blas"):
        # no bar (stderr is not a terminal): a count of the finished cells every 30 s
        lines = progress(
            results, total=len(cells), desc=desc, verbose=verbose, unit="cell", interval=30.0
        )
        for cell, result in lines:
            trim_freed()  # a finished cell's freed buffers, once the arenas hold many
            if result.error is not None:
                logger.warning("%s failed: %s", cell.name, result.error)
            if log is not None:
                log.cells.append(_record(cell, result))
            yield cell, result


def _record(cell: Cell, result: CellResult) -> dict[str, Any]:
    return {
        "stage": cell.stage,
        "target": cell.target,
        "family": cell.family,
        "fold": cell.fold,
        "threads": cell.threads,
        "n_train": len(cell.train),
        "n_test": len(cell.test),
        "pid": result.pid,
        "seconds": result.seconds,
        "cached": result.cached,
        "error": result.error,
    }
