"""From the units' results to the trainer's fitted tables: models, metrics, OOF."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation import TargetSet
from intelligent_training.exceptions import FamilyError
from intelligent_training.training._ensemble import scores_to_column
from intelligent_training.training._strategies import UnitResult

__all__ = ["CV_COLUMNS", "Trained", "collect_results"]

METRIC_COLUMNS = (
    "r2",
    "ic_mean",
    "ic_std",
    "icir",
    "ic_tstat",
    "dir_acc",
    "auc",
    "logloss",
    "logloss_baseline",
    "accuracy",
    "skill",
)
CV_COLUMNS = (
    "target",
    "family",
    "fold",
    "status",
    "error",
    "task",
    "n_train",
    "n_test",
    "n_final",
    *METRIC_COLUMNS,
    "fit_seconds",
)


@dataclass
class Trained:
    """The fitted tables of a trainer."""

    models: dict[tuple[str, str], Any]
    fill_values: dict[tuple[str, str], dict[str, float]]
    multi_task_targets: list[str]
    cv_metrics: pd.DataFrame
    oof_predictions: pd.DataFrame


def collect_results(
    results: list[UnitResult],
    targets: TargetSet,
    families: dict[str, Any],
    index: pd.Index,
    strategy: str,
) -> Trained:
    """Models, cascade fills, ``cv_metrics_`` and ``oof_predictions_`` of the units.

    Raises
    ------
    FamilyError
        When every family failed for some target (the message gives each reason).
    """
    models: dict[tuple[str, str], Any] = {}
    fills: dict[tuple[str, str], dict[str, float]] = {}
    by_key: dict[tuple[str, str], UnitResult] = {}
    multi_task_targets: list[str] = []
    for result in results:
        for target in result.targets:
            by_key[(target, result.family)] = result
            if result.model is not None:
                models[(target, result.family)] = result.model
                if result.fill_values:
                    fills[(target, result.family)] = result.fill_values
        if result.family == "multi_task" and result.targets and strategy == "multi_task":
            multi_task_targets = list(result.targets)
    failed_targets = [t for t in targets.specs if not any(k[0] == t for k in models)]
    if failed_targets:
        reasons = "; ".join(
            f"{t}/{fam}: {by_key[(t, fam)].error}"
            for t in failed_targets
            for fam in families
            if (t, fam) in by_key
        )
        raise FamilyError(
            f"Every model family failed for target(s) {failed_targets}: {reasons}. Check "
            "the errors, choose other families or fix the data."
        )
    ordered = {
        (t, fam): models[(t, fam)] for t in targets.specs for fam in families if (t, fam) in models
    }
    columns = {}
    n_paths = 1
    for t, fam in ordered:
        spec = targets[t]
        scores = by_key[(t, fam)].oof[t]  # (n_paths, n_rows, k)
        n_paths = len(scores)
        columns[(t, fam)] = np.concatenate(
            [scores_to_column(part, spec.task, spec.classes) for part in scores]
        )
    oof = pd.DataFrame(columns, index=_path_index(index, n_paths))
    oof.columns = pd.MultiIndex.from_tuples(list(columns), names=["target", "family"])
    return Trained(
        models=ordered,
        fill_values=fills,
        multi_task_targets=multi_task_targets,
        cv_metrics=_metrics_frame(by_key, targets, families),
        oof_predictions=oof,
    )


def _path_index(index: pd.Index, n_paths: int) -> pd.Index:
    """``index``, or with several backtest paths ``(path, *index)`` for every path."""
    if n_paths == 1:
        return index
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    names = ["path", *(index.names if index.nlevels > 1 else [index.name])]
    paths = np.repeat(np.arange(n_paths), len(index))
    return pd.MultiIndex.from_arrays(
        [paths, *[v.append([v] * (n_paths - 1)) for v in levels]], names=names
    )


def _metrics_frame(
    by_key: dict[tuple[str, str], UnitResult], targets: TargetSet, families: dict[str, Any]
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for t, spec in targets.specs.items():
        for fam in families:
            result = by_key.get((t, fam))
            if result is None:
                continue
            folds = [r for r in result.records if r["target"] == t]
            for record in folds:
                rows.append({"task": spec.task, **record})
            ok = [r for r in folds if r["status"] == "ok"]
            summary: dict[str, Any] = {
                "target": t,
                "family": fam,
                "fold": "mean",
                "task": spec.task,
                "status": "ok"
                if result.model is not None
                else ("skipped" if result.skipped else "failed"),
                "error": result.error,
                # the summary row's sizes are the folds' means, like its metrics;
                # n_final: the rows of the final fit (only on this row)
                "n_train": _mean_size(ok, "n_train"),
                "n_test": _mean_size(ok, "n_test"),
                "n_final": result.n_final,
            }
            for key in (*METRIC_COLUMNS, "fit_seconds"):
                values = [r[key] for r in ok if key in r]
                summary[key] = float(np.nanmean(values)) if _any_finite(values) else np.nan
            rows.append(summary)
    frame = pd.DataFrame(rows)
    for column in CV_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame = frame[list(CV_COLUMNS)]
    frame["fold"] = frame["fold"].astype(object)
    return frame.reset_index(drop=True)


def _mean_size(records: list[dict[str, Any]], key: str) -> float:
    """The mean of the folds' ``key`` (NaN without a successful fold)."""
    values = [r[key] for r in records if key in r]
    return float(np.mean(values)) if values else np.nan


def _any_finite(values: list[Any]) -> bool:
    arr = np.asarray(values, dtype=np.float64)
    return bool(arr.size and np.isfinite(arr).any())
