"""The training strategies: what is fitted on which rows, fold by fold.

A *unit* of work is one family fitted for one target (``single_task`` and
``cascade``) or for several targets at once (the ``multi_task`` family under the
``multi_task`` strategy). A unit runs the purged cross-validation folds (fit on the
training rows, score the test rows: the out-of-fold predictions and metrics) and then
the final fit on all usable rows. Units are independent, so :func:`execute` runs them
in parallel with joblib (threads by default; :func:`run_unit` is a module-level
function, so process or Dask backends can pickle it too).

Strategies differ only in how units are planned:

- ``single_task``: one unit per target x family.
- ``multi_task``: one joint unit for the ``multi_task`` family over every target
  (rows where all targets are known; folds purged with the longest horizon), plus
  one unit per target for each other family.
- ``cascade``: targets in the given order; target ``k``'s units see, as extra
  columns, the ensemble out-of-fold predictions of targets ``1..k-1`` (during the
  folds and for the final fit; at predict time the earlier targets' final models'
  predictions). Rows that were never in a test fold of an earlier target have NaN
  there: tree, torch and multi-task families take the NaN as it is, the others get the
  mean of the training rows' values (the fill used by the final model is stored).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.training._ensemble import estimator_scores

logger = logging.getLogger(__name__)

__all__ = [
    "NAN_TOLERANT_KINDS",
    "STRATEGIES",
    "Context",
    "Plan",
    "StrategyOutput",
    "TargetInfo",
    "UnitResult",
    "UnitSpec",
    "add_extra_columns",
    "cascade_columns",
    "fill_extra",
    "run_strategy",
    "run_unit",
]

STRATEGIES = ("single_task", "multi_task", "cascade")

#: Family kinds whose estimators accept NaN features (trees natively, torch imputes).
NAN_TOLERANT_KINDS = frozenset({"tree", "torch", "sequence", "multi_task"})

REGRESSION_METRICS = ("r2", "ic_mean", "ic_std", "icir", "ic_tstat", "dir_acc")
CLASSIFICATION_METRICS = ("auc", "logloss", "logloss_baseline", "accuracy")


@dataclass
class TargetInfo:
    """What the trainer knows about one target."""

    name: str
    task: str
    horizon: Any
    horizon_bars: int
    values: np.ndarray  # the target over all rows of X (NaN where unknown)
    classes: np.ndarray | None = None

    @property
    def n_scores(self) -> int:
        """Width of this target's score matrix."""
        if self.task == "multiclass":
            assert self.classes is not None
            return len(self.classes)
        return 1


@dataclass
class UnitSpec:
    """One unit of work: a family for one or more targets on given rows and folds."""

    family: str
    kind: str
    params: dict[str, Any]
    targets: list[TargetInfo]
    rows: np.ndarray  # rows of X usable by this unit (targets known)
    folds: list[tuple[np.ndarray, np.ndarray]]  # positions into X (absolute)
    final_rows: np.ndarray  # rows of X for the final fit
    extra_columns: list[str] = field(default_factory=list)
    joint: bool = False  # multi_task family over several targets


@dataclass
class UnitResult:
    """What a unit produced."""

    family: str
    targets: list[str]
    model: Any = None
    oof: dict[str, np.ndarray] = field(default_factory=dict)  # target -> (n_rows_X, k)
    records: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False
    n_final: int = 0
    fill_values: dict[str, float] = field(default_factory=dict)


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows of a DataFrame (``iloc``) or an array, by position."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    return X[rows]


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
    n_extra = len(columns)
    block = X[:, -n_extra:]
    for j, name in enumerate(columns):
        col = block[:, j]
        col[np.isnan(col)] = fill[name]
    return X


def _fill_values(X: Any, columns: Sequence[str]) -> dict[str, float]:
    """Mean of each extra column over the given rows (0.0 where all are NaN)."""
    out: dict[str, float] = {}
    if isinstance(X, pd.DataFrame):
        for name in columns:
            mean = X[name].mean()
            out[name] = 0.0 if pd.isna(mean) else float(mean)
        return out
    block = np.asarray(X, dtype=np.float64)[:, -len(columns) :] if columns else None
    for j, name in enumerate(columns):
        assert block is not None
        col = block[:, j]
        finite = col[np.isfinite(col)]
        out[name] = float(finite.mean()) if len(finite) else 0.0
    return out


def _target_y(targets: Sequence[TargetInfo], rows: np.ndarray, joint: bool, index: Any) -> Any:
    if joint:
        return pd.DataFrame({t.name: t.values[rows] for t in targets}, index=index)
    return targets[0].values[rows]


def _joint_scores(estimator: Any, X: Any, targets: Sequence[TargetInfo]) -> list[np.ndarray]:
    """Per-target score matrices of a multi_task estimator (one output column per target)."""
    if hasattr(estimator, "predict_scores"):
        raw = np.asarray(estimator.predict_scores(X), dtype=np.float64)
    else:
        raw = np.asarray(estimator.predict(X), dtype=np.float64)
    raw = raw.reshape(raw.shape[0], -1)
    return [raw[:, j : j + 1] for j in range(len(targets))]


def unit_scores(
    estimator: Any, X: Any, targets: Sequence[TargetInfo], kind: str, joint: bool
) -> list[np.ndarray]:
    """Score matrices (one per target) of a fitted unit estimator on ``X``."""
    if joint or kind == "multi_task":
        return _joint_scores(estimator, X, targets)
    target = targets[0]
    return [estimator_scores(estimator, X, target.task, target.classes)]


def _fit_estimator(
    spec: UnitSpec, settings: Mapping[str, Any], X: Any, rows: np.ndarray
) -> tuple[Any, dict[str, float]]:
    """Build and fit a fresh estimator of ``spec`` on ``rows``; returns (model, fill)."""
    from intelligent_training.families import make_estimator

    X_fit = take_rows(X, rows)
    fill: dict[str, float] = {}
    if spec.extra_columns and spec.kind not in NAN_TOLERANT_KINDS:
        fill = _fill_values(X_fit, spec.extra_columns)
        X_fit = fill_extra(X_fit, spec.extra_columns, fill)
    joint = spec.joint or spec.kind == "multi_task"
    index = X_fit.index if isinstance(X_fit, pd.DataFrame) else None
    y = _target_y(spec.targets, rows, joint, index)
    task = spec.targets[0].task
    params = spec.params
    if joint:
        # One head per target; tell the network each head's task instead of re-inferring.
        kinds = {t.task for t in spec.targets}
        task = kinds.pop() if len(kinds) == 1 else "multi"
        params = {"tasks": {t.name: t.task for t in spec.targets}, **params}
    estimator = make_estimator(
        spec.family,
        task,
        params,
        random_state=settings.get("random_state"),
        n_jobs=settings.get("model_n_jobs"),
        cpu_only=bool(settings.get("cpu_only", False)),
        label_horizon=max(t.horizon_bars for t in spec.targets),
    )
    estimator.fit(X_fit, y)
    return estimator, fill


def _predict_rows(
    spec: UnitSpec, estimator: Any, X: Any, rows: np.ndarray, fill: Mapping[str, float]
) -> list[np.ndarray]:
    X_pred = take_rows(X, rows)
    if fill:
        X_pred = fill_extra(X_pred, spec.extra_columns, fill)
    return unit_scores(estimator, X_pred, spec.targets, spec.kind, spec.joint)


def _fold_metrics(
    target: TargetInfo, scores: np.ndarray, rows: np.ndarray, timestamps: np.ndarray
) -> dict[str, float]:
    from intelligent_training.metrics import (
        classification_metrics,
        regression_metrics,
        skill_score,
    )

    y_true = target.values[rows]
    if target.task == "regression":
        metrics = regression_metrics(
            y_true, scores[:, 0], timestamps=timestamps[rows], horizon_bars=target.horizon_bars
        )
        keys: tuple[str, ...] = REGRESSION_METRICS
    else:
        assert target.classes is not None
        score = scores[:, 0] if target.task == "binary" else scores
        metrics = classification_metrics(y_true, score, classes=list(target.classes))
        keys = CLASSIFICATION_METRICS
    out = {key: float(metrics.get(key, np.nan)) for key in keys}
    out["skill"] = float(skill_score(target.task, metrics))
    return out


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_unit(
    spec: UnitSpec, X: Any, timestamps: np.ndarray, settings: Mapping[str, Any]
) -> UnitResult:
    """Cross-validate and finally fit one unit; never raises for a family failure.

    Parameters
    ----------
    spec : UnitSpec
        The family, targets, rows and folds.
    X : DataFrame or ndarray
        All rows of the features (with any cascade columns already appended).
    timestamps : ndarray
        Timestamp (or bar number) of every row of ``X``.
    settings : mapping
        ``random_state``, ``model_n_jobs`` and ``cpu_only``.

    Returns
    -------
    UnitResult
        Out-of-fold score matrices (NaN outside the test folds), one metric record per
        target x fold, and the final model (``None`` with ``error`` set on failure).
    """
    n_rows = len(timestamps)
    names = [t.name for t in spec.targets]
    result = UnitResult(family=spec.family, targets=names)
    for target in spec.targets:
        result.oof[target.name] = np.full((n_rows, target.n_scores), np.nan)
    n_failed = 0
    for fold, (train, test) in enumerate(spec.folds):
        start = time.perf_counter()
        base = {"family": spec.family, "fold": fold, "n_train": len(train), "n_test": len(test)}
        try:
            estimator, fill = _fit_estimator(spec, settings, X, train)
            fold_scores = _predict_rows(spec, estimator, X, test, fill)
        except Exception as exc:  # a family failure is recorded, never fatal
            n_failed += 1
            message = _describe(exc)
            logger.warning(
                "Family %r failed on fold %d of target(s) %s: %s", spec.family, fold, names, message
            )
            logger.debug("Traceback:\n%s", traceback.format_exc())
            for target in spec.targets:
                result.records.append(
                    {**base, "target": target.name, "status": "failed", "error": message}
                )
            continue
        seconds = time.perf_counter() - start
        for target, scores in zip(spec.targets, fold_scores):
            result.oof[target.name][test] = scores
            record = {**base, "target": target.name, "status": "ok", "error": None}
            try:
                record.update(_fold_metrics(target, scores, test, timestamps))
            except Exception as exc:  # metrics on a degenerate fold (e.g. one class)
                record.update(status="failed", error=f"metrics: {_describe(exc)}")
            record["fit_seconds"] = seconds
            result.records.append(record)

    if spec.folds and n_failed == len(spec.folds):
        result.error = next(r["error"] for r in result.records if r["status"] == "failed")
        return result
    try:
        model, fill = _fit_estimator(spec, settings, X, spec.final_rows)
    except Exception as exc:
        result.error = f"final fit: {_describe(exc)}"
        logger.warning(
            "Family %r failed on the final fit of target(s) %s: %s",
            spec.family,
            names,
            result.error,
        )
        return result
    result.model = model
    result.fill_values = fill
    result.n_final = len(spec.final_rows)
    return result


# ---------------------------------------------------------------------------- planning


@dataclass
class Plan:
    """Rows and purged folds of one target (or of the joint multi-task unit)."""

    rows: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    final_rows: np.ndarray


@dataclass
class Context:
    """Everything a strategy needs; built and validated by the trainer."""

    X: Any
    timestamps: np.ndarray
    targets: dict[str, TargetInfo]  # in the given (ranked) order
    plans: dict[str, Plan]
    families: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]]  # name -> kind, tasks, params
    settings: dict[str, Any]
    n_jobs: int | None = None
    verbose: bool | int | None = None
    joint_plan: Plan | None = None


@dataclass
class StrategyOutput:
    """The units' results and the cascade columns each target's models saw."""

    results: list[UnitResult]
    extra_columns: dict[str, list[str]]


def cascade_columns(target: TargetInfo) -> list[str]:
    """Names of the extra columns that carry ``target``'s predictions in a cascade."""
    base = f"__cascade__{target.name}"
    if target.task == "multiclass":
        assert target.classes is not None
        return [f"{base}__{c}" for c in target.classes]
    return [base]


def _skipped(family: str, target: TargetInfo, reason: str) -> UnitResult:
    result = UnitResult(family=family, targets=[target.name], error=reason, skipped=True)
    return result


def _unit(
    ctx: Context, family: str, target: TargetInfo, extra_columns: list[str] | None = None
) -> UnitSpec | UnitResult:
    kind, tasks, params = ctx.families[family]
    if target.task not in tasks:
        return _skipped(
            family,
            target,
            f"family {family!r} does not support task {target.task!r} (it supports "
            f"{', '.join(tasks)})",
        )
    plan = ctx.plans[target.name]
    return UnitSpec(
        family=family,
        kind=kind,
        params=params,
        targets=[target],
        rows=plan.rows,
        folds=plan.folds,
        final_rows=plan.final_rows,
        extra_columns=list(extra_columns or []),
    )


def execute(
    units: Sequence[UnitSpec | UnitResult], X: Any, ctx: Context, desc: str
) -> list[UnitResult]:
    """Run the units (in parallel with joblib when ``ctx.n_jobs`` asks for it)."""
    from joblib import Parallel, delayed, effective_n_jobs

    from intelligent_training._progress import progress

    todo = [u for u in units if isinstance(u, UnitSpec)]
    done = [u for u in units if isinstance(u, UnitResult)]
    n_jobs = effective_n_jobs(ctx.n_jobs) if ctx.n_jobs is not None else 1
    if n_jobs > 1 and len(todo) > 1:
        # Threads by default: the heavy work (LightGBM, XGBoost, torch, BLAS) releases the
        # GIL and threads share X instead of copying it. A soft hint, so a surrounding
        # ``joblib.parallel_config(backend="dask")`` still sends the units to a cluster.
        parallel = Parallel(n_jobs=min(n_jobs, len(todo)), prefer="threads", return_as="generator")
        stream = parallel(delayed(run_unit)(u, X, ctx.timestamps, ctx.settings) for u in todo)
    else:
        stream = (run_unit(u, X, ctx.timestamps, ctx.settings) for u in todo)
    results = list(progress(stream, total=len(todo), desc=desc, verbose=ctx.verbose))
    return done + results


def _run_single_task(ctx: Context) -> StrategyOutput:
    units = [_unit(ctx, fam, t) for t in ctx.targets.values() for fam in ctx.families]
    return StrategyOutput(execute(units, ctx.X, ctx, "training"), {t: [] for t in ctx.targets})


def _run_multi_task(ctx: Context) -> StrategyOutput:
    units: list[UnitSpec | UnitResult] = []
    for fam in ctx.families:
        if fam == "multi_task":
            continue
        units.extend(_unit(ctx, fam, t) for t in ctx.targets.values())
    kind, tasks, params = ctx.families["multi_task"]
    joint = [t for t in ctx.targets.values() if t.task in tasks]
    for t in ctx.targets.values():
        if t.task not in tasks:
            units.append(
                _skipped("multi_task", t, f"the multi_task family does not support {t.task!r}")
            )
    if joint:
        assert ctx.joint_plan is not None
        units.append(
            UnitSpec(
                family="multi_task",
                kind=kind,
                params=params,
                targets=joint,
                rows=ctx.joint_plan.rows,
                folds=ctx.joint_plan.folds,
                final_rows=ctx.joint_plan.final_rows,
                joint=True,
            )
        )
    return StrategyOutput(execute(units, ctx.X, ctx, "training"), {t: [] for t in ctx.targets})


def _run_cascade(ctx: Context) -> StrategyOutput:
    from intelligent_training.exceptions import FamilyError
    from intelligent_training.training._ensemble import ensemble_scores

    results: list[UnitResult] = []
    extra: dict[str, np.ndarray] = {}
    extra_columns: dict[str, list[str]] = {}
    for target in ctx.targets.values():
        X_k = add_extra_columns(ctx.X, extra)
        extra_columns[target.name] = list(extra)
        units = [_unit(ctx, fam, target, list(extra)) for fam in ctx.families]
        target_results = execute(units, X_k, ctx, f"cascade {target.name}")
        results.extend(target_results)
        oof = [r.oof[target.name] for r in target_results if r.model is not None]
        if not oof:
            # The trainer reports every family's reason; stop here, later targets need it.
            raise FamilyError(_all_failed_message(target.name, target_results))
        combined = ensemble_scores(oof)
        for j, column in enumerate(cascade_columns(target)):
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
