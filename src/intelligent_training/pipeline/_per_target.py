"""Fit one stage clone per target, several targets at once when cores allow.

The selection and the single-task training fit one estimator per target. Each fit is a
grid of cells; on a small panel the Python work around the cells (planning, metrics,
aggregation) holds one core while the other waits, and a fit's last cells leave cores
idle. :func:`fit_per_target` runs the targets' fits on threads instead, their cells
sharing the stage's core budget (:func:`~intelligent_training.evaluation._backend.
shared_cores`): never more cells at once than ``n_jobs`` allows, no idle core while
another target has cells to run.

The results are the same as one target after another: every cell's seed, threads and
rows are fixed by its plan, not by what runs beside it, and the results are returned in
the targets' order.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from intelligent_training._progress import progress

__all__ = ["fit_per_target", "targets_at_once"]

T = TypeVar("T")


def targets_at_once(stage: Any, n_targets: int) -> int:
    """How many targets' fits of ``stage`` run at once (1: one after another).

    Several when the stage has a local core budget of at least 2 (``n_jobs``) and
    there are several targets; one on a Dask cluster (its scheduler spreads the cells)
    or when the stage fixes its threads per cell (``threads``: its own rule).
    """
    from intelligent_training.evaluation._backend import distributed_backend_active
    from intelligent_training.evaluation._executor import core_budget

    if n_targets < 2 or distributed_backend_active():
        return 1
    params = stage.get_params(deep=False) if hasattr(stage, "get_params") else {}
    if params.get("threads") is not None or "n_jobs" not in params:
        return 1
    return min(core_budget(params["n_jobs"]), n_targets)


def fit_per_target(
    targets: Sequence[str],
    fit_one: Callable[[str], T],
    *,
    at_once: int,
    n_cores: int,
    desc: str,
    verbose: bool | int | None,
) -> list[T]:
    """``[fit_one(t) for t in targets]``, ``at_once`` targets at a time.

    Parameters
    ----------
    targets : sequence of str
    fit_one : callable
        Fits one target; it handles its own per-target failures (an exception it
        raises stops the whole run, after the fits already started have finished).
    at_once : int
        Targets fitted at once (:func:`targets_at_once`); 1 runs them in order on
        this thread.
    n_cores : int
        Cells running at once over all the fits.
    desc : str
        Label of the progress bar (one step per finished target).
    verbose : bool, int or None
        Progress bar (``None``: when stderr is a terminal).

    Returns
    -------
    list
        ``fit_one``'s results, in the order of ``targets``.
    """
    if at_once <= 1 or len(targets) <= 1:
        return [
            fit_one(t) for t in progress(targets, total=len(targets), desc=desc, verbose=verbose)
        ]
    from threadpoolctl import threadpool_limits

    from intelligent_training.evaluation._backend import shared_cores

    results: dict[int, T] = {}
    # One BLAS setting for the whole block: the fits' own (equal) settings nest in it
    # instead of restoring each other's on exit.
    with shared_cores(n_cores), threadpool_limits(limits=1, user_api="blas"):
        finished = _run(targets, fit_one, at_once, results)
        for _ in progress(finished, total=len(targets), desc=desc, verbose=verbose):
            pass
    return [results[i] for i in range(len(targets))]


def _run(
    targets: Sequence[str], fit_one: Callable[[str], T], at_once: int, results: dict[int, T]
) -> Iterator[int]:
    """Submit the fits (each in a copy of this context); yield each index as it ends."""
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="target") as pool:
        pending: dict[Future[T], int] = {
            pool.submit(contextvars.copy_context().run, fit_one, target): i
            for i, target in enumerate(targets)
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    results[i] = future.result()
                    yield i
        finally:
            for future in pending:
                future.cancel()
