"""The steps of ``FeatureSelector.fit`` up to the results: inputs, target, cell plan, grid.

What the results become (importances, the shadow test, the consensus) is the selector's
aggregation: :mod:`~intelligent_training.selection._aggregate`,
:mod:`~intelligent_training.selection._relevance` and
:mod:`~intelligent_training.selection._consensus`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from intelligent_training.evaluation import (
    Cell,
    CellPlanner,
    CellResult,
    EvalData,
    Measure,
    TargetSet,
    cell_threads,
    check_same_rows,
    resolve_cv,
    resolve_memory,
    resolve_seed,
    resolve_targets,
    run_cells,
)
from intelligent_training.exceptions import DataError
from intelligent_training.families import get_family
from intelligent_training.model_selection import get_timestamps

if TYPE_CHECKING:
    from intelligent_training.selection._selector import FeatureSelector

__all__ = [
    "DEFAULT_N_SPLITS",
    "OWNER",
    "feature_names",
    "plan_cells",
    "resolve_target",
    "run_grid",
    "symbol_groups",
    "validate_inputs",
]

DEFAULT_N_SPLITS = 3
OWNER = "FeatureSelector"


def feature_names(selector: FeatureSelector) -> np.ndarray:
    """The selector's input feature names (``x0``, ``x1``, ... for an array)."""
    return np.asarray(_check_feature_names_in(selector, None), dtype=object)


def validate_inputs(
    selector: FeatureSelector, X: Any, y: Any
) -> tuple[EvalData, pd.DataFrame, bool]:
    """Check ``X`` and ``y``: the features as one float32 matrix, the target as a
    one-column frame (``"y"`` when unnamed) and whether it was unnamed.

    Like sklearn's ``validate_data``, this sets ``n_features_in_`` (and
    ``feature_names_in_``) on ``selector``.
    """
    if y is None:
        raise DataError(
            "FeatureSelector requires y to be passed, but the target y is None. "
            "Pass the target column of the selection, e.g. fit(X, Y['fwd_ret_5m'])."
        )
    frame = X if isinstance(X, pd.DataFrame) else None
    X_arr = validate_data(
        selector,
        X,
        dtype=(np.float64, np.float32),
        ensure_min_samples=2,
        ensure_all_finite="allow-nan",
        reset=True,
    )
    y_arr = column_or_1d(y, warn=True)
    check_consistent_length(X_arr, y_arr)
    check_same_rows(X, y, owner=OWNER)
    n_known = int((~pd.isna(y_arr)).sum())
    if n_known < 2:
        raise DataError(
            f"FeatureSelector: the target has {n_known} non-missing value(s); "
            "at least 2 samples are needed (n_samples = 1 cannot be split)."
        )
    name = getattr(y, "name", None)
    unnamed = not (isinstance(y, pd.Series) and name is not None)
    target = "y" if unnamed else str(name)
    groups, n_groups = symbol_groups(
        frame.index if frame is not None else None,
        len(y_arr),
        aggregate_symbols=selector.aggregate_symbols,
    )
    data = EvalData.from_features(
        X_arr,
        {},
        columns=[str(n) for n in feature_names(selector)],
        groups=groups,
        n_groups=n_groups,
    )
    if frame is not None:
        data.index = frame.index
    return data, pd.DataFrame({target: y_arr}, copy=False), unnamed


def symbol_groups(
    index: pd.Index | None, n: int, *, aggregate_symbols: bool
) -> tuple[np.ndarray | None, int]:
    """Every row's symbol code and the number of symbols (``None, 1`` when not aggregating)."""
    if not aggregate_symbols:
        return None, 1
    if index is None or "symbol" not in (index.names or []):
        raise DataError(
            "FeatureSelector: aggregate_symbols=True needs X as a panel DataFrame with a "
            "'symbol' index level; pass the panel or set aggregate_symbols=False."
        )
    codes, uniques = pd.factorize(index.get_level_values("symbol"))
    return codes.astype(np.intp), len(uniques)


def resolve_target(
    selector: FeatureSelector, X: Any, Y: pd.DataFrame, data: EvalData, unnamed: bool
) -> TargetSet:
    """The target contract: task, classes, horizon and purged folds of ``y``."""
    target = str(Y.columns[0])
    timestamps = get_timestamps(X if isinstance(X, pd.DataFrame) else data.X)
    resolved = resolve_targets(
        Y,
        data.X,
        timestamps=timestamps,
        cv=resolve_cv(selector.cv, default_n_splits=DEFAULT_N_SPLITS, owner=OWNER),
        horizons=selector.horizons,
        default_horizon=selector.default_horizon,
        unnamed=[target] if unnamed else (),
        owner=OWNER,
        sample_weight=selector.sample_weight,
        index=X.index if isinstance(X, pd.DataFrame) else None,
    )
    spec = resolved[target]
    if not any(len(f.train) and len(f.test) for f in spec.folds):
        raise DataError(
            f"FeatureSelector: the cross-validation {spec.splitter!r} produced no fold "
            f"with both training and test rows on {int(spec.labelled.sum())} samples; "
            "pass more rows or fewer splits."
        )
    data.targets.update(resolved.specs)
    return resolved


def plan_cells(
    selector: FeatureSelector,
    resolved: TargetSet,
    data: EvalData,
    target: str,
    families: dict[str, dict[str, Any]],
    methods: tuple[str, ...],
) -> tuple[list[Cell], dict[str, str]]:
    """One cell per (family, fold); families that cannot run are reported instead."""
    task = resolved[target].task
    family_errors: dict[str, str] = {}
    measures: dict[str, Measure] = {}
    for family in families:
        spec = get_family(family)
        if task not in spec.tasks:
            family_errors[family] = (
                f"does not support {task} targets (supports {', '.join(spec.tasks)})"
            )
            continue
        family_methods = tuple(m for m in methods if spec.explainer(m) is not None)
        if not family_methods:
            family_errors[family] = (
                f"none of the importance methods {list(methods)} applies to this family "
                f"(it is explained by {', '.join(spec.methods)})"
            )
            continue
        budget = selector.explain_rows
        measures[family] = Measure(
            scores=selector.relevance == "shadow",  # the fold skill: who votes
            loss=True,
            native="native" in family_methods,
            shap="shap" in family_methods,
            permutation="permutation" in family_methods,
            n_repeats=int(selector.n_repeats),
            explain_rows=None if budget is None else int(budget),
            by_group=bool(selector.aggregate_symbols),
        )
    n_folds = len(resolved[target].folds)
    planner = CellPlanner(
        "select",
        resolved,
        data,
        seed=resolve_seed(selector.random_state, OWNER),
        threads=cell_threads(selector.n_jobs, len(measures) * n_folds),
    )
    cells = []
    for family, measure in measures.items():
        cells.extend(
            planner.fold_cells(
                target,
                family,
                families[family],
                measure,
                usable=lambda fold: bool(len(fold.train) and len(fold.test)),
            )
        )
    # Later folds train on more rows: start them first so the workers finish together.
    cells.sort(key=lambda c: -len(c.train))
    return cells, family_errors


def run_grid(
    selector: FeatureSelector, cells: list[Cell], data: EvalData
) -> list[tuple[Cell, CellResult]]:
    """Every cell's result (through the selector's ``memory``), in the order they finish."""
    memory = resolve_memory(selector.memory, OWNER)
    return list(
        run_cells(
            cells,
            data,
            n_jobs=selector.n_jobs,
            memory=memory,
            verbose=selector.verbose,
            desc="FeatureSelector",
        )
    )
