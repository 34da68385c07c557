"""Bin once, fit many: a family's native trainer shared across targets and stages.

The feature matrix of a cross-validation fold is the same for every target; only the
label (and, through the per-target purge and missing labels, a few rows) changes. A
family whose registry entry names a fast native trainer
(``FamilySpec.native_trainer``, a :class:`~intelligent_training.families._specs.NativeTrainer`)
bins the features **once per fold** from the fold's *base* rows (see
:class:`~intelligent_training.evaluation.TargetSet`: the unpurged training rows before
the test block) and trains every target's model on them. :class:`FoldBins` holds one
fold's bins for the trainer: built lazily and once, shared by the threads of a process,
freed when the last planned cell has taken its rows, rebuilt on a Dask worker from the
positions alone. The bins hold **positions** into the shared feature matrix, never a
copy of it.

How a library bins and trains (LightGBM Datasets and their subsets, XGBoost quantile
matrices with zero weights) is the family's own: ``families/_lightgbm_native.py``,
``families/_xgboost_native.py``. **Parameter precedence** (the rule of every stage):
packaged defaults < the stage's ``random_state`` / thread budget < the user's family
parameters, so ``{"xgboost": {"random_state": 0, "n_jobs": 2}}`` wins.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["FoldBins", "bin_params", "native_params", "native_trainer"]


def native_trainer(family: str, params: Mapping[str, Any] = ()) -> Any:
    """The family's fast native trainer for ``params``, or None (the registry path)."""
    from intelligent_training.families import get_family

    trainer = get_family(family).trainer()
    if trainer is None or any(k in params for k in trainer.unsupported):
        return None
    return trainer


def native_params(
    family: str,
    params: Mapping[str, Any],
    task: str,
    n_classes: int,
    *,
    random_state: int | None,
    n_threads: int,
) -> tuple[dict[str, Any], int]:
    """The native parameters and boosting rounds of ``family`` (its trainer's mapping)."""
    from intelligent_training.families import get_family

    trainer = get_family(family).trainer()
    return trainer.native_params(  # type: ignore[union-attr]
        params, task, n_classes, random_state=random_state, n_threads=n_threads
    )


def bin_params(family: str, native: Mapping[str, Any]) -> dict[str, Any]:
    """The native parameters that decide a fold's bins (cells with equal ones share bins)."""
    from intelligent_training.families import get_family

    return get_family(family).trainer().bin_params(native)  # type: ignore[union-attr]


class FoldBins:
    """The binned base rows of one fold, built lazily and once.

    Parameters
    ----------
    family : str
        A family with a native trainer.
    base_rows : ndarray of int
        Positions (into the shared feature matrix) of the fold's base rows; every
        cell's training rows are a subset of them.
    params : dict
        Native parameters that decide the bins (:func:`bin_params`).

    Notes
    -----
    Thread-safe: concurrent cells of the same fold wait for one construction. Picklable
    for distributed runs: only the family name, positions and parameters travel; the
    bins are rebuilt on arrival from the matrix the worker receives.
    """

    def __init__(self, family: str, base_rows: np.ndarray, params: Mapping[str, Any]) -> None:
        from intelligent_training.families import get_family

        self.family = family
        self.base_rows = np.asarray(base_rows)
        self.params = dict(params)
        self.trainer = get_family(family).trainer()
        self._lock = threading.Lock()
        self._base: Any = None
        self._free: list[Any] = []  # bases not in use by any thread
        self._base_taken = False
        #: cells planned on these bins that have not taken their rows yet
        #: (None: not counted, e.g. on a Dask worker; the base is then kept)
        self._pending: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"family": self.family, "base_rows": self.base_rows, "params": self.params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["family"], state["base_rows"], state["params"])  # type: ignore[misc]

    def expect_cell(self) -> None:
        """Count one more cell that will train on these bins (see :meth:`took_rows`)."""
        with self._lock:
            self._pending = 1 if self._pending is None else self._pending + 1

    def took_rows(self) -> None:
        """A counted cell has its own copy of its rows: after the last one, the base is
        freed (a cell that still comes, e.g. a retry, rebuilds the same bins)."""
        with self._lock:
            if self._pending is None:
                return
            self._pending -= 1
            if self._pending <= 0:
                self._base, self._pending = None, None

    def remapped(self, rows: np.ndarray) -> FoldBins:
        """The same bins over a matrix holding only ``rows`` (sorted) of the original."""
        return FoldBins(self.family, np.searchsorted(rows, self.base_rows), self.params)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions of ``rows`` (a subset of the base rows) within the base."""
        return np.searchsorted(self.base_rows, rows).astype(np.int32)

    def base(self, X: Any) -> Any:
        """The built base (the trainer's binned rows), built on first use."""
        with self._lock:
            if self._base is None:
                self._base = self.trainer.build(X, self.base_rows, self.params)
            return self._base

    def acquire(self, X: Any) -> Any:
        """A base that no other thread is using (a copy reusing the base's cuts when the
        base is taken); hand it back with :meth:`release`."""
        base = self.base(X)
        with self._lock:
            if self._free:
                return self._free.pop()
            if not self._base_taken:
                self._base_taken = True
                return base
        return self.trainer.build(X, self.base_rows, self.params, ref=base)

    def release(self, matrix: Any) -> None:
        """Give back a base taken with :meth:`acquire`."""
        with self._lock:
            self._free.append(matrix)

    def fit(
        self,
        X: Any,
        rows: np.ndarray,
        y: np.ndarray,
        native: Mapping[str, Any],
        num_boost_round: int,
        test_rows: np.ndarray | None = None,
        *,
        task: str,
        n_classes: int,
        weight: np.ndarray | None = None,
    ) -> Any:
        """Train on ``rows`` (positions into ``X``, a subset of the base rows), with the
        sample weights ``weight`` of those rows (None: unweighted).

        Returns
        -------
        NativeModel
            With ``test_scores`` the score matrix of ``test_rows`` where the trainer
            computed it while training (else None).
        """
        return self.trainer.train(
            self,
            X,
            self.positions(rows),
            y,
            native,
            num_boost_round,
            test_rows,
            task=task,
            n_classes=n_classes,
            weight=weight,
        )
