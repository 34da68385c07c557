"""Plan cells: (target x family x fold | final) with their rows, seed, threads and bins.

:class:`CellPlanner` is what every stage uses to turn resolved targets into cells. It
attaches the fast path where it applies: a cross-validation cell of a family with a
native trainer (``FamilySpec.native_trainer``; not a final fit, not a joint multi-task
cell, none of the parameters the trainer does not reproduce) shares one
:class:`~intelligent_training.evaluation._fast.FoldBins` with every other cell of the
same family, fold group and binning parameters, whatever its stage or target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from intelligent_training.evaluation._cells import Cell, EvalData, Measure
from intelligent_training.evaluation._fast import (
    FoldBins,
    bin_params,
    native_params,
    native_trainer,
)
from intelligent_training.evaluation._targets import Fold, TargetSet, TargetSpec

__all__ = ["CellPlanner"]


class CellPlanner:
    """Builds the cells of one stage fit on one :class:`EvalData`.

    Parameters
    ----------
    stage : str
        ``"rank"``, ``"select"`` or ``"train"``.
    targets : TargetSet
        Resolved targets with their folds (and the fold bases).
    data : EvalData
        The data the cells will run on (its matrix is what the bins are built from).
    seed : int or None
        The stage's seed (every model's ``random_state``).
    threads : int
        Threads per cell (:func:`~intelligent_training.evaluation.cell_threads`).
    cpu_only : bool, default=False
    fast : bool, default=True
        Use the bin-once fast path where it applies.
    """

    def __init__(
        self,
        stage: str,
        targets: TargetSet,
        data: EvalData,
        *,
        seed: int | None,
        threads: int,
        cpu_only: bool = False,
        fast: bool = True,
    ) -> None:
        self.stage = stage
        self.targets = targets
        self.data = data
        self.seed = seed
        self.threads = threads
        self.cpu_only = cpu_only
        self.fast = fast
        self._bins: dict[tuple[Any, ...], FoldBins] = {}
        self._binnings: dict[tuple[Any, ...], dict[str, Any]] = {}

    def _fast_bins(
        self, spec: TargetSpec, family: str, params: Mapping[str, Any], fold: Fold
    ) -> FoldBins | None:
        if not self.fast or native_trainer(family, params) is None:
            return None
        base = self.targets.bases.get(fold.group)
        if base is None:
            return None
        binning = self._binning(spec, family, params, len(base))
        key = (family, fold.group, repr(sorted(binning.items())))
        if key not in self._bins:
            self._bins[key] = FoldBins(family, base, binning)
        bins = self._bins[key]
        bins.expect_cell()  # the base Dataset is freed once every cell has its rows
        return bins

    def _binning(
        self, spec: TargetSpec, family: str, params: Mapping[str, Any], n_rows: int
    ) -> dict[str, Any]:
        """The bin parameters of ``family`` with ``params`` (worked out once per stage)."""
        key = (family, spec.task, spec.n_classes, repr(sorted(params.items())))
        if key not in self._binnings:
            from intelligent_training.families import family_params

            # leaf sizes never decide the bins: resolve "auto" for the base rows
            native, _ = native_params(
                family,
                family_params(family, spec.task, params, n_rows=n_rows),
                spec.task,
                spec.n_classes,
                random_state=self.seed,
                n_threads=self.threads,
            )
            self._binnings[key] = bin_params(family, native)
        return self._binnings[key]

    def fold_cells(
        self,
        target: str,
        family: str,
        params: Mapping[str, Any],
        measure: Measure,
        *,
        usable: Callable[[Fold], bool] | None = None,
        fill_columns: tuple[int, ...] = (),
    ) -> list[Cell]:
        """One cell per (usable) fold of ``target`` for ``family``."""
        spec = self.targets[target]
        cells = []
        for fold in spec.folds:
            if usable is not None and not usable(fold):
                continue
            cells.append(
                Cell(
                    stage=self.stage,
                    target=target,
                    family=family,
                    fold=fold.index,
                    train=fold.train,
                    test=fold.test,
                    params=dict(params),
                    seed=self.seed,
                    label_horizon=spec.horizon_bars,
                    measure=measure,
                    threads=self.threads,
                    fill_columns=fill_columns,
                    cpu_only=self.cpu_only,
                    bins=self._fast_bins(spec, family, params, fold),
                )
            )
        return cells

    def cell(
        self,
        target: str,
        family: str,
        params: Mapping[str, Any],
        fold: int | None,
        train: np.ndarray,
        test: np.ndarray,
        measure: Measure,
        *,
        joint: tuple[str, ...] = (),
        label_horizon: int | None = None,
    ) -> Cell:
        """A cell on given rows, without the fast path (e.g. a joint multi-task fold)."""
        spec = self.targets[target]
        return Cell(
            stage=self.stage,
            target=target,
            family=family,
            fold=fold,
            train=train,
            test=test,
            params=dict(params),
            seed=self.seed,
            label_horizon=spec.horizon_bars if label_horizon is None else label_horizon,
            measure=measure,
            threads=self.threads,
            joint=joint,
            cpu_only=self.cpu_only,
        )

    def final_cell(
        self,
        target: str,
        family: str,
        params: Mapping[str, Any],
        rows: np.ndarray,
        *,
        joint: tuple[str, ...] = (),
        label_horizon: int | None = None,
        fill_columns: tuple[int, ...] = (),
    ) -> Cell:
        """The final fit of ``family`` on ``rows`` (a registry estimator, kept)."""
        spec = self.targets[target]
        return Cell(
            stage=self.stage,
            target=target,
            family=family,
            fold=None,
            train=rows,
            test=rows[:0],
            params=dict(params),
            seed=self.seed,
            label_horizon=spec.horizon_bars if label_horizon is None else label_horizon,
            measure=Measure(scores=False, keep_model=True),
            threads=self.threads,
            joint=joint,
            fill_columns=fill_columns,
            cpu_only=self.cpu_only,
        )
