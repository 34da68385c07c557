"""The evaluation layer: one target contract and one cell engine under every stage.

Stages (:class:`~intelligent_training.TargetRanker`, :class:`~intelligent_training.FeatureSelector`,
:class:`~intelligent_training.ModelTrainer`, the pipeline) never parse a horizon, build
folds, encode classes, seed, pick threads or run a parallel loop on their own:

1. :func:`resolve_targets` turns (target name, labels, ``horizons``,
   ``default_horizon``, ``cv``) into frozen :class:`TargetSpec` objects (task, classes,
   encoded labels, horizon, purged folds);
2. a :class:`CellPlanner` turns them into :class:`Cell` objects (target x family x
   fold | final, with rows, seed, threads, label horizon, a :class:`Measure` and, for
   a family with a native trainer, shared bin-once fold bins);
3. :func:`run_cells` runs them on one :class:`EvalData` (threads, or a Dask cluster
   inside :func:`use_dask`; cached per cell, failures captured) and yields
   ``(cell, CellResult)`` as they finish (:func:`record_cells` logs them).

See ``docs/architecture.md``.
"""

from intelligent_training.evaluation._backend import use_dask
from intelligent_training.evaluation._cells import (
    Cell,
    CellResult,
    EvalData,
    Measure,
    cell_rng,
    resolve_seed,
)
from intelligent_training.evaluation._executor import (
    CellLog,
    cell_key,
    cell_threads,
    core_budget,
    record_cells,
    resolve_memory,
    run_cells,
)
from intelligent_training.evaluation._fast import FoldBins
from intelligent_training.evaluation._labels import encode_target
from intelligent_training.evaluation._model import ModelView, aligned_scores, fit_cell
from intelligent_training.evaluation._plan import CellPlanner
from intelligent_training.evaluation._targets import (
    SAMPLE_WEIGHTS,
    Fold,
    TargetSet,
    TargetSpec,
    check_same_rows,
    resolve_cv,
    resolve_targets,
)

__all__ = [
    "SAMPLE_WEIGHTS",
    "Cell",
    "CellLog",
    "CellPlanner",
    "CellResult",
    "EvalData",
    "Fold",
    "FoldBins",
    "Measure",
    "ModelView",
    "TargetSet",
    "TargetSpec",
    "aligned_scores",
    "cell_key",
    "cell_rng",
    "cell_threads",
    "check_same_rows",
    "core_budget",
    "encode_target",
    "fit_cell",
    "record_cells",
    "resolve_cv",
    "resolve_memory",
    "resolve_seed",
    "resolve_targets",
    "run_cells",
    "use_dask",
]
