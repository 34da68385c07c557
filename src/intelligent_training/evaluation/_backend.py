"""Where cells run: the seam between the executor and joblib / Dask.

- **local** (default): joblib threads, ``workers`` cells at a time, results in
  completion order; every cell reads the one shared feature matrix.
- **distributed**: when ``joblib.parallel_config(backend="dask")`` is active, one task
  per *fold group* (every cell sharing a fold's bins, or one (family, fold) of the
  other families); a task carries only the rows its cells need, with the cells' row
  positions remapped into them, and the bins are rebuilt on the worker. Same
  computations, same results.

A later backend (e.g. a Dask client with scattered data) plugs in here: it receives the
run function, the cells, their cache keys and the data, and yields ``(cell, result)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from intelligent_training.evaluation._cells import Cell, CellResult, EvalData
from intelligent_training.evaluation._run import cached_cell, execute

__all__ = ["distributed_backend_active", "runner", "stream"]

Run = Callable[[str, Cell, EvalData], CellResult]


def runner(memory: Any) -> Run:
    """The function a cell runs through: plain, or memoised by ``memory``."""
    if memory is None:
        return cached_cell
    return memory.cache(cached_cell, ignore=["cell", "data"])  # type: ignore[no-any-return]


def distributed_backend_active() -> bool:
    """Whether the caller selected a Dask joblib backend (``parallel_config("dask")``)."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return "Dask" in type(backend).__name__


def stream(
    memory: Any,
    cells: Sequence[Cell],
    keys: Sequence[str],
    data: EvalData,
    *,
    workers: int,
    distributed: bool,
) -> Iterator[tuple[Cell, CellResult]]:
    """Run every cell (see the module docstring); yield ``(cell, result)`` as they finish.

    ``memory`` (or ``None``) memoises each cell under its key in ``keys``.
    """
    if distributed:
        yield from _grouped(memory, cells, keys, data)
        return
    run = runner(memory)
    if workers <= 1 or len(cells) == 1:
        for cell, key in zip(cells, keys):
            yield cell, execute(run, key, cell, data)
        return
    from joblib import Parallel, delayed

    def task(i: int) -> tuple[int, CellResult]:
        return i, execute(run, keys[i], cells[i], data)

    parallel = Parallel(n_jobs=workers, backend="threading", return_as="generator_unordered")
    for i, result in parallel(delayed(task)(i) for i in range(len(cells))):
        yield cells[i], result


def _run_group(memory: Any, keys: list[str], cells: list[Cell], data: EvalData) -> list[CellResult]:
    """The cells of one group, one after the other, on a (remote) worker."""
    run = runner(memory)
    return [execute(run, key, cell, data) for key, cell in zip(keys, cells)]


def _group_of(cell: Cell) -> tuple[Any, ...]:
    if cell.bins is not None:
        return ("bins", id(cell.bins))
    return (cell.family, cell.fold)


def _needs_all_rows(cell: Cell) -> bool:
    from intelligent_training.evaluation._model import ARRAY_KINDS
    from intelligent_training.families import get_family

    return get_family(cell.family).kind not in ARRAY_KINDS  # panel index, sequence context


def _grouped(
    memory: Any, cells: Sequence[Cell], keys: Sequence[str], data: EvalData
) -> Iterator[tuple[Cell, CellResult]]:
    from joblib import Parallel, delayed

    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, cell in enumerate(cells):
        groups.setdefault(_group_of(cell), []).append(i)
    tasks = []
    for members in groups.values():
        first = cells[members[0]]
        if any(_needs_all_rows(cells[i]) for i in members):
            rows = np.arange(data.n_rows)
        else:
            parts = [cells[i].test for i in members] + [cells[i].train for i in members]
            if first.bins is not None:
                parts.append(first.bins.base_rows)
            rows = np.unique(np.concatenate(parts))
        bins = first.bins.remapped(rows) if first.bins is not None else None
        local = [
            replace(
                cells[i],
                train=np.searchsorted(rows, cells[i].train),
                test=np.searchsorted(rows, cells[i].test),
                bins=bins,
            )
            for i in members
        ]
        tasks.append((members, [keys[i] for i in members], local, data.take(rows)))
    outputs = Parallel(return_as="generator_unordered")(
        delayed(_indexed_group)(memory, k, local, sub, members) for members, k, local, sub in tasks
    )
    for members, results in outputs:
        for i, result in zip(members, results):
            yield cells[i], result


def _indexed_group(
    memory: Any, keys: list[str], cells: list[Cell], data: EvalData, members: list[int]
) -> tuple[list[int], list[CellResult]]:
    return members, _run_group(memory, keys, cells, data)
