"""What runs on the Dask workers: packed rows, the scattered payloads and the cell task.

The client (:mod:`~intelligent_training.evaluation._dask`) scatters a
:class:`_Features` and a :class:`_Labels` once, submits :func:`_build_bins` once per
fold of the fast path, and one :func:`_run_remote` per cell, whose rows travel packed
by :func:`pack_rows`. :class:`ThreadSlots` declares the worker resource
:data:`RESOURCE` that keeps multi-thread cells from oversubscribing a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from intelligent_training.evaluation import _run
from intelligent_training.evaluation._cells import Cell, CellResult, EvalData

__all__ = ["RESOURCE", "ThreadSlots", "pack_rows", "unpack_rows"]

#: Worker resource that holds a worker's threads when a cell uses several.
RESOURCE = "intelligent-training-threads"


# ----------------------------------------------------------------------------- rows
def pack_rows(rows: np.ndarray) -> tuple[Any, ...]:
    """Row positions in a compact form: contiguous runs when sorted, else int32.

    A fold's rows are a few blocks of consecutive positions, so a cell of 100,000
    rows usually travels as a few dozen integers.
    """
    rows = np.asarray(rows)
    dtype = rows.dtype.str
    n = len(rows)
    if n > 1:
        step = np.diff(rows)
        if (step > 0).all():
            breaks = np.flatnonzero(step != 1) + 1
            starts = rows[np.r_[0, breaks]]
            ends = rows[np.r_[breaks - 1, n - 1]] + 1
            if 2 * len(starts) * 8 < n * 4:
                return ("runs", dtype, starts.astype(np.int64), (ends - starts).astype(np.int64))
    small = n == 0 or (rows.min() >= 0 and rows.max() < 2**31)
    return ("raw", dtype, rows.astype(np.int32) if small else rows)


def unpack_rows(packed: tuple[Any, ...]) -> np.ndarray:
    """The rows :func:`pack_rows` packed, with their original dtype."""
    kind, dtype = packed[0], np.dtype(packed[1])
    if kind == "raw":
        return np.asarray(packed[2]).astype(dtype)
    starts, lengths = packed[2], packed[3]
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    out = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)
    return out.astype(dtype)


# ----------------------------------------------------------------------- on workers
@dataclass(eq=False)
class _Features:
    """What every cell reads (scattered once): the matrix, its labels and index."""

    X: np.ndarray
    columns: list[Any]
    index: Any
    groups: np.ndarray | None
    n_groups: int
    fingerprint: str | None


class _Labels:
    """The run's targets (scattered once per run); assembles the worker's EvalData."""

    def __init__(self, targets: dict[str, Any]) -> None:
        self.targets = targets
        self._data: tuple[_Features, EvalData] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"targets": self.targets}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["targets"])  # type: ignore[misc]

    def assemble(self, features: _Features) -> EvalData:
        """The :class:`EvalData` of the run on this worker (built once, no copies)."""
        cached = self._data
        if cached is not None and cached[0] is features:
            return cached[1]
        data = EvalData(
            X=features.X,
            columns=features.columns,
            index=features.index,
            targets=self.targets,
            groups=features.groups,
            n_groups=features.n_groups,
            _fingerprint=features.fingerprint,
        )
        self._data = (features, data)
        return data


def _build_bins(family: str, base: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """A fold's :class:`FoldBins` on a worker (binned lazily, by its first cell there)."""
    from intelligent_training.evaluation._fast import FoldBins

    return FoldBins(family, unpack_rows(base), params)


def _run_remote(
    features: _Features,
    labels: _Labels,
    bins: Any,
    cell: Cell,
    train: tuple[Any, ...],
    test: tuple[Any, ...],
) -> CellResult:
    """One cell on a worker: rebuild its rows, limit BLAS to its threads, run it."""
    from threadpoolctl import threadpool_limits

    cell = replace(cell, train=unpack_rows(train), test=unpack_rows(test), bins=bins)
    # BLAS (linear families, torch on CPU) follows the cell's threads; the boosters and
    # torch get them as parameters. Every cell of a run asks for the same count.
    threadpool_limits(limits=cell.threads, user_api="blas")
    return _run.run_cell(cell, labels.assemble(features))


class ThreadSlots(WorkerPlugin):
    """Declares the worker's threads as the resource :data:`RESOURCE`."""

    name = RESOURCE

    async def setup(self, worker: Any) -> None:
        await worker.set_resources(**{RESOURCE: worker.state.nthreads})
