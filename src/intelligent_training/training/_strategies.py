"""The training strategies: which cells are fitted on which rows.

A *unit* is one family for one target (``single_task`` and ``cascade``) or for several
targets at once (the ``multi_task`` family under the ``multi_task`` strategy). A unit is
a set of cells of the shared engine: one per purged fold (fit on the training rows,
score the test rows: the out-of-fold predictions and metrics; LightGBM and XGBoost on
the bin-once fast path) and the final fit on all usable rows (a registry estimator,
kept). All cells of a strategy run in one grid (:func:`~intelligent_training.evaluation.run_cells`),
cached per cell.

- ``single_task``: one unit per target x family.
- ``multi_task``: one joint unit for the ``multi_task`` family over every target
  (rows where any target is known; folds purged with the longest horizon, see
  :meth:`~intelligent_training.evaluation.TargetSet.joint_folds`), plus one unit per
  target for each other family.
- ``cascade``: targets in the given order, one wave each; target ``k``'s units see, as
  extra columns, the ensemble out-of-fold predictions of targets ``1..k-1`` (during
  the folds and for the final fit; at predict time the earlier targets' final models'
  predictions). Rows never in a test fold of an earlier target have NaN there: tree,
  torch and multi-task families take the NaN as it is, the others get the mean of the
  training rows' values (the fill used by the final model is stored).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation import (
    Cell,
    CellPlanner,
    CellResult,
    EvalData,
    Measure,
    TargetSet,
    TargetSpec,
    cell_threads,
    run_cells,
)
from intelligent_training.model_selection import backtest_paths
from intelligent_training.training._ensemble import ensemble_scores

__all__ = [
    "STRATEGIES",
    "Context",
    "StrategyOutput",
    "UnitResult",
    "add_extra_columns",
    "cascade_columns",
    "fill_extra",
    "path_mean",
    "recent_rows",
    "run_strategy",
]

STRATEGIES = ("single_task", "multi_task", "cascade")

REGRESSION_METRICS = ("r2", "ic_mean", "ic_std", "icir", "ic_tstat", "dir_acc")
CLASSIFICATION_METRICS = ("auc", "logloss", "logloss_baseline", "accuracy")
_SCORES = Measure(scores=True)


@dataclass
class UnitResult:
    """What a unit produced."""

    family: str
    targets: list[str]
    model: Any = None
    oof: dict[str, np.ndarray] = field(default_factory=dict)  # target -> (n_paths, n_rows, k)
    records: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False
    n_final: int = 0
    fill_values: dict[str, float] = field(default_factory=dict)


@dataclass
class Context:
    """Everything a strategy needs; built and validated by the trainer."""

    data: EvalData
    targets: TargetSet  # in the given (ranked) order, with their folds
    families: dict[str, tuple[bool, tuple[str, ...], dict[str, Any]]]  # joint?, tasks, params
    seed: int | None
    threads: int | None
    n_jobs: int | None
    max_rows_train: int | None
    cpu_only: bool = False
    memory: Any = None
    verbose: bool | int | None = None
    #: (target, family) -> parameters found by the model search (else the family's)
    unit_params: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


@dataclass
class StrategyOutput:
    """The units' results and the cascade columns each target's models saw."""

    results: list[UnitResult]
    extra_columns: dict[str, list[str]]


# --------------------------------------------------------------------------- helpers
def path_mean(oof: np.ndarray) -> np.ndarray:
    """A unit's out-of-fold scores ``(n_paths, n_rows, k)`` as one ``(n_rows, k)`` array:
    the mean over the backtest paths that predicted each row."""
    if oof.shape[0] == 1:
        return oof[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows no path predicted
        return np.nanmean(oof, axis=0)  # type: ignore[no-any-return]


def recent_rows(rows: np.ndarray, timestamps: np.ndarray, max_rows: int | None) -> np.ndarray:
    """The most recent whole timestamps of ``rows`` that fit in ``max_rows`` rows."""
    if max_rows is None or len(rows) <= max_rows:
        return rows
    ordered = np.sort(timestamps)
    cutoff = ordered[-max_rows]
    keep = timestamps > cutoff if (timestamps >= cutoff).sum() > max_rows else timestamps >= cutoff
    if not keep.any():
        keep = timestamps == ordered[-1]
    return rows[keep]


def cascade_columns(target: Any) -> list[str]:
    """Names of the extra columns that carry ``target``'s predictions in a cascade.

    ``target`` has a ``name``, a ``task`` and ``classes`` (a :class:`TargetSpec`).
    """
    base = f"__cascade__{target.name}"
    if target.task == "multiclass":
        assert target.classes is not None
        return [f"{base}__{c}" for c in target.classes]
    return [base]


def add_extra_columns(X: Any, extra: Mapping[str, np.ndarray]) -> Any:
    """Return ``X`` with the ``extra`` columns appended (never modifies ``X``)."""
    if not extra:
        return X
    if isinstance(X, pd.DataFrame):
        added = pd.DataFrame(dict(extra), index=X.index)
        return pd.concat([X, added], axis=1)
    return np.column_stack([np.asarray(X, dtype=np.float64), *extra.values()])


def fill_extra(X: Any, columns: Sequence[str], fill: Mapping[str, float]) -> Any:
    """Replace NaN in the extra (cascade) columns of ``X`` by ``fill``."""
    if not columns:
        return X
    if isinstance(X, pd.DataFrame):
        return X.fillna(value={c: fill[c] for c in columns})
    X = np.array(X, dtype=np.float64, copy=True)
    block = X[:, -len(columns) :]
    for j, name in enumerate(columns):
        col = block[:, j]
        col[np.isnan(col)] = fill[name]
    return X


def _fold_metrics(
    spec: TargetSpec, scores: np.ndarray, rows: np.ndarray, timestamps: np.ndarray
) -> dict[str, float]:
    from intelligent_training.metrics import (
        classification_metrics,
        regression_metrics,
        skill_score,
    )

    y_true = spec.labels[rows]
    if spec.task == "regression":
        metrics = regression_metrics(
            y_true, scores[:, 0], timestamps=timestamps[rows], horizon_bars=spec.horizon_bars
        )
        keys: tuple[str, ...] = REGRESSION_METRICS
    else:
        score = scores[:, 0] if spec.task == "binary" else scores
        metrics = classification_metrics(y_true, score, classes=list(range(spec.n_classes)))
        keys = CLASSIFICATION_METRICS
    out = {key: float(metrics.get(key, np.nan)) for key in keys}
    out["skill"] = float(skill_score(spec.task, metrics))
    return out


# --------------------------------------------------------------------------- planning
def _skipped(family: str, target: str, reason: str) -> UnitResult:
    return UnitResult(family=family, targets=[target], error=reason, skipped=True)


def _final_rows(ctx: Context, labelled: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(labelled)
    return recent_rows(rows, ctx.targets.timestamps[rows], ctx.max_rows_train)


def _unit_cells(
    ctx: Context,
    planner: CellPlanner,
    family: str,
    target: str,
    fill_columns: tuple[int, ...] = (),
) -> list[Cell] | UnitResult:
    _, tasks, params = ctx.families[family]
    params = ctx.unit_params.get((target, family), params)
    spec = ctx.targets[target]
    if spec.task not in tasks:
        return _skipped(
            family,
            target,
            f"family {family!r} does not support task {spec.task!r} (it supports "
            f"{', '.join(tasks)})",
        )
    cells = planner.fold_cells(
        target,
        family,
        params,
        _SCORES,
        usable=lambda fold: bool(len(fold.train) and len(fold.test)),
        fill_columns=fill_columns,
    )
    final = _final_rows(ctx, spec.labelled)
    cells.append(planner.final_cell(target, family, params, final, fill_columns=fill_columns))
    return cells


def _joint_cells(ctx: Context, planner: CellPlanner, names: list[str]) -> list[Cell]:
    _, _, params = ctx.families["multi_task"]
    _, bars, folds = ctx.targets.joint_folds(names)
    joint = tuple(names)
    cells = [
        planner.cell(
            names[0],
            "multi_task",
            params,
            fold.index,
            fold.train,
            fold.test,
            _SCORES,
            joint=joint,
            label_horizon=bars,
        )
        for fold in folds
        if len(fold.train) and len(fold.test)
    ]
    labelled = np.logical_or.reduce([ctx.targets[n].labelled for n in names])
    cells.append(
        planner.final_cell(
            names[0],
            "multi_task",
            params,
            _final_rows(ctx, labelled),
            joint=joint,
            label_horizon=bars,
        )
    )
    return cells


# --------------------------------------------------------------------------- running
def _run(
    ctx: Context,
    data: EvalData,
    planned: list[list[Cell] | UnitResult],
    desc: str,
) -> list[UnitResult]:
    """Run the planned units' cells in one grid and assemble one result per unit."""
    cells = [c for unit in planned if not isinstance(unit, UnitResult) for c in unit]
    # Largest first (the final fits, then the latest folds): the workers finish together
    # instead of one core fitting a final model alone at the end (results do not depend
    # on the order; ``_assemble`` sorts each unit's cells).
    cells.sort(key=lambda cell: -len(cell.train))
    done = [unit for unit in planned if isinstance(unit, UnitResult)]
    pairs = run_cells(
        cells, data, n_jobs=ctx.n_jobs, memory=ctx.memory, verbose=ctx.verbose, desc=desc
    )
    units: dict[tuple[tuple[str, ...], str], list[tuple[Cell, CellResult]]] = {}
    metrics: dict[int, list[dict[str, Any]]] = {}
    for cell, result in pairs:
        units.setdefault((cell.joint or (cell.target,), cell.family), []).append((cell, result))
        # each fold's metrics while the other cells still run (not all at the end)
        metrics[id(cell)] = _cell_metrics(ctx, cell, result)
    assembled = [
        _assemble(ctx, data, names, family, units[(names, family)], metrics)
        for names, family in _unit_order(planned)
    ]
    return done + assembled


def _cell_metrics(ctx: Context, cell: Cell, result: CellResult) -> list[dict[str, Any]]:
    """The metrics of a fold cell per target (``status``/``error`` on a degenerate fold)."""
    if cell.fold is None or result.scores is None:
        return []
    names = cell.joint or (cell.target,)
    out = []
    for j, name in enumerate(names):
        spec = ctx.targets[name]
        scores = result.scores[:, j : j + 1] if len(names) > 1 else result.scores
        record: dict[str, Any] = {"status": "ok", "error": None}
        try:
            record.update(_fold_metrics(spec, scores, cell.test, ctx.targets.timestamps))
        except Exception as exc:  # metrics on a degenerate fold (e.g. one class)
            record.update(status="failed", error=f"metrics: {type(exc).__name__}: {exc}")
        out.append(record)
    return out


def _unit_order(planned: list[list[Cell] | UnitResult]) -> list[tuple[tuple[str, ...], str]]:
    order = []
    for unit in planned:
        if isinstance(unit, UnitResult) or not unit:
            continue
        order.append((unit[0].joint or (unit[0].target,), unit[0].family))
    return order


def _assemble(
    ctx: Context,
    data: EvalData,
    names: tuple[str, ...],
    family: str,
    pairs: list[tuple[Cell, CellResult]],
    metrics: Mapping[int, list[dict[str, Any]]],
) -> UnitResult:
    specs = [ctx.targets[n] for n in names]
    unit = UnitResult(family=family, targets=list(names))
    paths = backtest_paths(ctx.targets.cv, groups=ctx.targets.timestamps)
    for spec in specs:
        unit.oof[spec.name] = np.full((paths.n_paths, data.n_rows, spec.n_scores), np.nan)
    final: tuple[Cell, CellResult] | None = None
    n_folds = n_failed = 0
    for cell, result in sorted(pairs, key=lambda cr: (cr[0].fold is None, cr[0].fold or 0)):
        if cell.fold is None:
            final = (cell, result)
            continue
        n_folds += 1
        base = {
            "family": family,
            "fold": cell.fold,
            "n_train": len(cell.train),
            "n_test": len(cell.test),
        }
        if result.scores is None:
            n_failed += 1
            for spec in specs:
                unit.records.append(
                    {**base, "target": spec.name, "status": "failed", "error": result.error}
                )
            continue
        for j, spec in enumerate(specs):
            scores = result.scores[:, j : j + 1] if len(specs) > 1 else result.scores
            # one prediction per row per backtest path (one path with walk-forward folds)
            unit.oof[spec.name][paths.of(cell.fold, cell.test), cell.test] = scores
            record = {**base, "target": spec.name, **metrics[id(cell)][j]}
            record["fit_seconds"] = result.seconds
            unit.records.append(record)
    if n_folds and n_failed == n_folds:
        unit.error = next(r["error"] for r in unit.records if r["status"] == "failed")
        return unit
    assert final is not None
    cell, result = final
    if result.error is not None:
        unit.error = f"final fit: {result.error}"
        return unit
    unit.model = result.model
    unit.n_final = len(cell.train)
    unit.fill_values = {data.columns[j]: v for j, v in result.fill_values.items()}
    return unit


def _planner(ctx: Context, data: EvalData, n_cells: int) -> CellPlanner:
    return CellPlanner(
        "train",
        ctx.targets,
        data,
        seed=ctx.seed,
        threads=cell_threads(ctx.n_jobs, n_cells, threads=ctx.threads),
        cpu_only=ctx.cpu_only,
    )


def _n_cells(ctx: Context, n_targets: int, n_families: int) -> int:
    n_folds = max((len(s.folds) for s in ctx.targets.specs.values()), default=0)
    return n_targets * n_families * (n_folds + 1)


def _run_single_task(ctx: Context) -> StrategyOutput:
    planner = _planner(ctx, ctx.data, _n_cells(ctx, len(ctx.targets.specs), len(ctx.families)))
    planned = [_unit_cells(ctx, planner, fam, t) for t in ctx.targets.specs for fam in ctx.families]
    results = _run(ctx, ctx.data, planned, "training")
    return StrategyOutput(results, {t: [] for t in ctx.targets.specs})


def _run_multi_task(ctx: Context) -> StrategyOutput:
    others = [f for f in ctx.families if f != "multi_task"]
    planner = _planner(ctx, ctx.data, _n_cells(ctx, len(ctx.targets.specs), len(ctx.families)))
    planned: list[list[Cell] | UnitResult] = [
        _unit_cells(ctx, planner, fam, t) for fam in others for t in ctx.targets.specs
    ]
    _, tasks, _ = ctx.families["multi_task"]
    joint = [t for t, spec in ctx.targets.specs.items() if spec.task in tasks]
    for t, spec in ctx.targets.specs.items():
        if spec.task not in tasks:
            planned.append(
                _skipped("multi_task", t, f"the multi_task family does not support {spec.task!r}")
            )
    if joint:
        planned.append(_joint_cells(ctx, planner, joint))
    results = _run(ctx, ctx.data, planned, "training")
    return StrategyOutput(results, {t: [] for t in ctx.targets.specs})


def _with_columns(data: EvalData, extra: Mapping[str, np.ndarray]) -> EvalData:
    """``data`` with the cascade columns appended (a new float32 matrix)."""
    if not extra:
        return data
    values = np.column_stack([data.X, *(np.asarray(v, np.float32) for v in extra.values())])
    return EvalData(
        X=values.astype(np.float32, copy=False),
        columns=[*data.columns, *extra],
        index=data.index,
        targets=data.targets,
        groups=data.groups,
        n_groups=data.n_groups,
    )


def _run_cascade(ctx: Context) -> StrategyOutput:
    from intelligent_training.exceptions import FamilyError

    results: list[UnitResult] = []
    extra: dict[str, np.ndarray] = {}
    extra_columns: dict[str, list[str]] = {}
    p = ctx.data.X.shape[1]
    for target, spec in ctx.targets.specs.items():
        data = _with_columns(ctx.data, extra)
        extra_columns[target] = list(extra)
        fill = tuple(range(p, p + len(extra)))
        planner = _planner(ctx, data, _n_cells(ctx, 1, len(ctx.families)))
        planned = [_unit_cells(ctx, planner, fam, target, fill) for fam in ctx.families]
        wave = _run(ctx, data, planned, f"cascade {target}")
        results.extend(wave)
        oof = [path_mean(r.oof[target]) for r in wave if r.model is not None]
        if not oof:
            # The trainer reports every family's reason; stop here, later targets need it.
            raise FamilyError(_all_failed_message(target, wave))
        combined = ensemble_scores(oof)
        for j, column in enumerate(cascade_columns(spec)):
            extra[column] = combined[:, j]
    return StrategyOutput(results, extra_columns)


def _all_failed_message(target: str, results: Sequence[UnitResult]) -> str:
    reasons = "; ".join(f"{r.family}: {r.error}" for r in results if target in r.targets)
    return (
        f"Every model family failed for target {target!r} ({reasons}). Check the families' "
        "errors above, choose other families, or fix the data."
    )


def run_strategy(strategy: str, ctx: Context) -> StrategyOutput:
    """Run ``strategy`` (one of :data:`STRATEGIES`) over the context."""
    runners = {
        "single_task": _run_single_task,
        "multi_task": _run_multi_task,
        "cascade": _run_cascade,
    }
    return runners[strategy](ctx)
