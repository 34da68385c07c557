"""From the cells' raw importances to the selector's tables and consensus selection."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation import Cell, CellResult
from intelligent_training.selection._consensus import normalise_importance

__all__ = ["FOLD_REPORT_COLUMNS", "FamilyImportances", "family_importances", "fold_report"]

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


def importances_frame(table: dict[tuple[str, str], np.ndarray], names: Any) -> pd.DataFrame:
    """The per (family, method) importances as a DataFrame indexed by feature."""
    columns = pd.MultiIndex.from_tuples(list(table), names=["family", "method"])
    return pd.DataFrame(
        np.column_stack(list(table.values())),
        index=pd.Index(names, name="feature"),
        columns=columns,
    )
