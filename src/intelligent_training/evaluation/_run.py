"""Run one cell: fit, measure on the test rows, capture any failure (never raised)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from intelligent_training.evaluation._cells import Cell, CellResult, EvalData, cell_rng
from intelligent_training.evaluation._importance import (
    explain_sample,
    native_importance,
    per_row_loss,
    permutation_importance,
    shap_importance,
)
from intelligent_training.evaluation._model import ModelView, fit_cell
from intelligent_training.exceptions import CacheError

__all__ = ["describe_error", "run_cell"]

logger = logging.getLogger(__name__)

_computed = threading.local()  # set when a memoised cell really ran in this thread


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _importances(
    cell: Cell,
    data: EvalData,
    view: ModelView,
    X_test: np.ndarray | None,
    y_test: np.ndarray,
    scores: np.ndarray | None,
) -> dict[str, np.ndarray]:
    from intelligent_training.families import get_family

    measure = cell.measure
    spec = data.targets[cell.target]
    task = spec.task
    if measure.by_group:
        groups, n_groups = data.group_codes(cell.test), data.n_groups
    else:
        groups, n_groups = np.zeros(len(cell.test), dtype=np.intp), 1
    rng = cell_rng(cell.seed, cell.target, cell.family, cell.fold)
    n_features = data.X.shape[1]
    # The explained rows: the same for every family of this (target, fold). A model that
    # reads the panel index (an input context, e.g. sequence windows) sees every row.
    rows = np.arange(len(cell.test))
    if view.stackable:
        draw = cell_rng(cell.seed, cell.target, "explain_rows", cell.fold)
        rows = explain_sample(len(cell.test), measure.explain_rows, draw)
    every = len(rows) == len(cell.test)
    out: dict[str, np.ndarray] = {}
    for method in measure.methods:
        if method == "native":
            values = native_importance(view, n_features)
            if values is None:
                logger.info("Family %r has no native importance; skipped.", cell.family)
                continue
            out[method] = np.repeat(values, n_groups, axis=0)
            continue
        assert X_test is not None  # copied by run_cell for the methods that read rows
        X_rows = X_test if every else X_test[rows]
        if method == "permutation":
            base = None if scores is None else (scores if every else scores[rows])
            out[method] = permutation_importance(
                view,
                X_rows,
                y_test[rows],
                task=task,
                groups=groups[rows],
                n_groups=n_groups,
                n_repeats=measure.n_repeats,
                rng=rng,
                base_scores=base,
            )
        elif method == "shap":
            out[method] = shap_importance(
                view,
                X_rows,
                task=task,
                explainer=get_family(cell.family).explainer("shap") or "agnostic",
                groups=groups[rows],
                n_groups=n_groups,
                rng=rng,
            )
    if not out:
        raise ValueError(
            f"none of the importance methods {list(measure.methods)} applies to this family"
        )
    return out


_RESOURCE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _exclusive(cell: Cell) -> Any:
    """The lock of the process-wide resource the cell's family must hold alone
    (``FamilySpec.exclusive``; e.g. torch's seeded generators and thread count: two
    torch cells in threads of one process would draw from each other's random streams),
    else a no-op. One such cell at a time per process keeps every result independent of
    ``n_jobs`` and of a Dask worker's threads."""
    from intelligent_training.families import get_family

    try:
        resource = get_family(cell.family).exclusive
    except Exception:  # an unknown family fails in fit_cell, with its message
        resource = None
    if resource is None:
        return contextlib.nullcontext()
    with _LOCKS_LOCK:
        return _RESOURCE_LOCKS.setdefault(resource, threading.Lock())


def exclusive(cell: Cell) -> bool:
    """Whether ``cell`` runs one at a time per process (see :func:`_exclusive`)."""
    return not isinstance(_exclusive(cell), contextlib.nullcontext)


def run_cell(cell: Cell, data: EvalData) -> CellResult:
    """Fit ``cell`` and compute its :class:`Measure` on its test rows.

    Returns
    -------
    CellResult
        With ``error`` set (and nothing else) when anything failed.
    """
    with _exclusive(cell):
        return _run_cell(cell, data)


def _run_cell(cell: Cell, data: EvalData) -> CellResult:
    start = time.perf_counter()
    cpu_start = time.thread_time()
    result = CellResult(n_train=len(cell.train), n_test=len(cell.test))
    try:
        view, fill = fit_cell(cell, data)
        result.fit_seconds = time.perf_counter() - start
        result.fill_values = fill
        measure = cell.measure
        if len(cell.test) and (measure.scores or measure.loss or measure.methods):
            spec = data.targets[cell.target]
            y_test = spec.labels[cell.test]
            # the test rows' features are copied only when something reads them (the fast
            # path keeps the test scores it computed while training)
            known = view.known_test_scores()
            reads_rows = any(method != "native" for method in measure.methods)
            X_test = data.X[cell.test] if known is None or reads_rows else None
            scores = None
            if measure.scores or measure.loss:
                if known is not None:
                    scores = known
                else:
                    assert X_test is not None
                    scores = view.scores(X_test)
                if measure.scores:
                    result.scores = scores
                if measure.loss and not cell.joint:
                    result.test_loss = float(per_row_loss(scores, y_test, spec.task).mean())
            if measure.methods:
                result.importances = _importances(cell, data, view, X_test, y_test, scores)
        if measure.keep_model:
            result.model = view.estimator
    except Exception as exc:  # a cell's failure is recorded, never fatal
        logger.debug("Traceback of %s:\n%s", cell.name, traceback.format_exc())
        result = CellResult(
            n_train=len(cell.train), n_test=len(cell.test), error=describe_error(exc)
        )
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.thread_time() - cpu_start
    result.pid = os.getpid()
    return result


class CellFailed(Exception):
    """Raised inside the cache wrapper so that a failed cell is never stored."""

    def __init__(self, result: CellResult) -> None:
        super().__init__(result.error)
        self.result = result


def cached_cell(key: str, cell: Cell, data: EvalData) -> CellResult:
    """:func:`run_cell` for a memoiser: ``key`` fingerprints everything the result
    depends on; ``cell`` and ``data`` are left out of the cache key (too large).

    Local and Dask runs memoise this same function, so they share one cache; on a
    cluster, :func:`execute`'s ``compute`` runs the cell there instead of here.
    """
    del key  # only part of the cache key
    _computed.flag = True
    compute = getattr(_computed, "compute", None)
    result = run_cell(cell, data) if compute is None else compute(cell, data)
    if result.error is not None:
        raise CellFailed(result)
    return result


def execute(
    run: Any,
    key: str,
    cell: Cell,
    data: EvalData,
    compute: Callable[[Cell, EvalData], CellResult] | None = None,
) -> CellResult:
    """Run one cell through ``run`` (plain or memoised); a failure comes back as a result.

    ``compute`` replaces :func:`run_cell` when the cell is not cached (a Dask run
    submits it to the cluster and waits).
    """
    start = time.perf_counter()
    _computed.flag = False
    _computed.compute = compute
    try:
        result: CellResult = run(key, cell, data)
    except CellFailed as failed:
        return failed.result
    except CacheError:
        raise  # the cache is unusable (damaged, disk full): every cell's problem, not this one's
    except Exception as exc:  # the memoiser failed (pickling), or the cluster did
        return CellResult(
            n_train=len(cell.train),
            n_test=len(cell.test),
            error=describe_error(exc),
            seconds=time.perf_counter() - start,
        )
    finally:
        _computed.compute = None
    result.cached = not _computed.flag  # served from the cache: the cell did not run
    return result
