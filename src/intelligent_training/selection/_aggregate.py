"""From the cells' raw importances to the selector's tables and consensus selection."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from intelligent_training.evaluation import Cell, CellResult, EvalData
from intelligent_training.selection._clustering import correlation_clusters, spearman_abs_corr
from intelligent_training.selection._consensus import consensus_select, normalise_importance

__all__ = [
    "FOLD_REPORT_COLUMNS",
    "Consensus",
    "FamilyImportances",
    "consensus",
    "family_importances",
    "fold_importances",
    "fold_report",
    "importances_frame",
]

logger = logging.getLogger(__name__)

FOLD_REPORT_COLUMNS = [
    "family",
    "fold",
    "n_train",
    "n_test",
    "test_loss",
    "fit_seconds",
    "seconds",
    "cpu_seconds",
    "cached",
    "error",
]


@dataclass
class FamilyImportances:
    """Normalised importances per (family, method) and one score vector per family."""

    table: dict[tuple[str, str], np.ndarray]
    scores: dict[str, np.ndarray]


def fold_report(results: Sequence[tuple[Cell, CellResult]]) -> pd.DataFrame:
    """One row per (family, fold) cell: sizes, test loss, timings, cache use, error."""
    rows = [
        {
            "family": cell.family,
            "fold": cell.fold,
            "n_train": result.n_train,
            "n_test": result.n_test,
            "test_loss": result.test_loss,
            "fit_seconds": result.fit_seconds,
            "seconds": result.seconds,
            "cpu_seconds": result.cpu_seconds,
            "cached": result.cached,
            "error": result.error,
        }
        for cell, result in results
    ]
    return pd.DataFrame(rows, columns=FOLD_REPORT_COLUMNS)


def family_importances(
    results: Sequence[tuple[Cell, CellResult]],
    families: Sequence[str],
    methods: Sequence[str],
    family_errors: dict[str, str],
) -> FamilyImportances:
    """Normalise per fold and group, average over them, then over methods per family.

    A family that failed on every fold is added to ``family_errors`` (and skipped).
    """
    by_family: dict[str, list[tuple[Cell, CellResult]]] = {}
    for cell, result in results:
        by_family.setdefault(cell.family, []).append((cell, result))
    table: dict[tuple[str, str], np.ndarray] = {}
    scores: dict[str, np.ndarray] = {}
    for family in families:
        if family in family_errors:
            continue
        cells = by_family.get(family, [])
        ok = [result for _, result in cells if result.ok]
        if not ok:
            reasons = sorted({result.error or "" for _, result in cells})
            family_errors[family] = "; ".join(reasons) or "no fold to fit"
            logger.warning(
                "FeatureSelector: family %r failed on every fold and is skipped: %s",
                family,
                family_errors[family],
            )
            continue
        per_method: list[np.ndarray] = []
        for method in methods:
            folds = [r.importances[method] for r in ok if method in r.importances]
            if not folds:
                continue
            # (folds, groups, features): normalise per fold and group, then average.
            raw = np.stack(folds)
            stacked = normalise_importance(raw)
            stacked[np.isnan(raw).all(axis=-1)] = np.nan
            with np.errstate(invalid="ignore"):
                mean = np.nanmean(stacked.reshape(-1, stacked.shape[-1]), axis=0)
            mean = np.nan_to_num(mean, nan=0.0)
            table[(family, method)] = mean
            per_method.append(mean)
        scores[family] = normalise_importance(np.mean(per_method, axis=0))
    return FamilyImportances(table, scores)


def fold_importances(
    results: Sequence[tuple[Cell, CellResult]],
    families: Sequence[str],
    methods: Sequence[str],
    names: Any,
) -> pd.DataFrame:
    """Per-fold normalised importances (long format) of the families that were used.

    Columns ``feature``, ``family``, ``method``, ``fold``, ``importance``: each fold's
    raw importances normalised like :func:`family_importances` does (per group, then
    averaged over groups), so selection stability across folds can be read off.
    """
    columns = ["feature", "family", "method", "fold", "importance"]
    used = set(families)
    feature_names = [str(n) for n in names]
    frames = []
    for cell, result in results:
        if cell.family not in used or not result.ok:
            continue
        for method in methods:
            if method not in result.importances:
                continue
            raw = np.asarray(result.importances[method], dtype=np.float64)
            raw = raw.reshape(-1, len(feature_names))
            values = normalise_importance(raw)
            values[np.isnan(raw).all(axis=-1)] = np.nan  # a symbol absent from the fold
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nan_to_num(np.nanmean(values, axis=0), nan=0.0)
            frames.append(
                pd.DataFrame(
                    {
                        "feature": feature_names,
                        "family": cell.family,
                        "method": method,
                        "fold": int(cell.fold if cell.fold is not None else -1),
                        "importance": mean,
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def importances_frame(table: dict[tuple[str, str], np.ndarray], names: Any) -> pd.DataFrame:
    """The per (family, method) importances as a DataFrame indexed by feature."""
    columns = pd.MultiIndex.from_tuples(list(table), names=["family", "method"])
    return pd.DataFrame(
        np.column_stack(list(table.values())),
        index=pd.Index(names, name="feature"),
        columns=columns,
    )


@dataclass
class Consensus:
    """The selection: scores, support, the selected features, clusters and votes."""

    feature_importances: np.ndarray
    support: np.ndarray
    selected_features: list[str]
    feature_clusters: pd.Series
    votes: pd.Series


def consensus(
    scores: np.ndarray,
    data: EvalData,
    names: np.ndarray,
    *,
    top_m: int,
    require_min_models: int,
    correlation_threshold: float | None,
    random_state: Any,
    relevant: np.ndarray | None = None,
) -> Consensus:
    """Cluster correlated features (on the target's labelled rows), vote, keep the top-M
    (among the ``relevant`` features when given)."""
    X = data.X
    if correlation_threshold is not None and X.shape[1] > 1:
        target = next(iter(data.targets))
        labelled = np.flatnonzero(data.targets[target].labelled)
        abs_corr = spearman_abs_corr(
            X, random_state=check_random_state(random_state), rows=labelled
        )
        clusters = correlation_clusters(abs_corr, float(correlation_threshold))
    else:
        clusters = np.arange(X.shape[1])
    result = consensus_select(
        scores, clusters, top_m=top_m, require_min_models=require_min_models, relevant=relevant
    )
    chosen = np.flatnonzero(result.selected)
    rank = np.argsort(-result.cluster_scores[clusters[chosen]], kind="stable")
    if relevant is None and not chosen.size:  # (with relevance the selector says why)
        logger.warning(
            "FeatureSelector: no feature was ranked in the top %d by %d families; "
            "nothing selected.",
            top_m,
            require_min_models,
        )
    elif relevant is None:
        logger.info("FeatureSelector: selected %d of %d features.", chosen.size, len(names))
    return Consensus(
        feature_importances=result.feature_scores,
        support=result.selected,
        selected_features=[str(names[i]) for i in chosen[rank]],
        feature_clusters=pd.Series(clusters, index=names, name="cluster"),
        votes=pd.Series(result.cluster_votes[clusters], index=names, name="votes"),
    )
