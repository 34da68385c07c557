"""The per-target feature-selection part of ``report.json``: importance, agreement, stability."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.report._format import as_number as _num
from intelligent_training.report._inputs import Selection

__all__ = ["MAX_FEATURES", "selection_data"]

#: Rows of an importance heatmap at most.
MAX_FEATURES = 30
#: Unselected features shown below the selected ones in an importance heatmap.
CONTEXT_FEATURES = 5


def _matrix(frame: pd.DataFrame) -> list[list[float | None]]:
    return [[_num(v, 4) for v in row] for row in frame.to_numpy(dtype=np.float64)]


def _importance(selection: Selection) -> dict[str, Any] | None:
    table = selection.importance
    if table is None or not len(table):
        return None
    table = table.copy()
    table.index = table.index.map(str)
    columns = [c for c in table.columns if "/" in str(c)]
    consensus = table["consensus_importance"].astype(np.float64)
    chosen = [f for f in selection.features if f in table.index]
    others = consensus.drop(index=chosen, errors="ignore").sort_values(
        ascending=False, kind="stable"
    )
    rows = (chosen + list(others.index[:CONTEXT_FEATURES]))[:MAX_FEATURES]
    votes = table["votes"] if "votes" in table else None
    return {
        "features": rows,
        "n_selected": min(len(chosen), MAX_FEATURES),
        "n_candidates": len(table),
        "columns": [str(c) for c in columns],
        "values": _matrix(table.loc[rows, columns]) if columns else [],
        "consensus": [_num(consensus[f], 4) for f in rows],
        "votes": None if votes is None else [_num(votes[f]) for f in rows],
    }


def _agreement(selection: Selection) -> dict[str, Any] | None:
    frame = selection.agreement
    if frame is None or not len(frame):
        return None
    return {"families": [str(c) for c in frame.columns], "values": _matrix(frame)}


def _jaccard(sets: list[set[str]]) -> float | None:
    pairs = [len(a & b) / len(a | b) for a, b in combinations(sets, 2) if a | b]
    return _num(float(np.mean(pairs))) if pairs else None


def _stability(selection: Selection) -> dict[str, Any] | None:
    folds = selection.fold_importances
    if folds is None or not len(folds) or not selection.features:
        return None
    folds = folds.assign(feature=folds["feature"].astype(str))
    score = folds.groupby(["fold", "feature"])["importance"].mean().unstack("fold").fillna(0.0)
    if score.shape[1] < 2:
        return None
    top_m = len(selection.features)
    ranks = score.rank(ascending=False, method="min")
    in_top = ranks <= top_m
    frequency = in_top.mean(axis=1)
    candidates = set(selection.features) | set(in_top.index[in_top.any(axis=1)])
    order = sorted(
        candidates & set(score.index),
        key=lambda f: (
            f not in selection.features,
            -frequency[f],
            selection.features.index(f) if f in selection.features else 0,
            f,
        ),
    )[:MAX_FEATURES]
    sets = [set(in_top.index[in_top[k]]) for k in in_top.columns]
    return {
        "folds": [int(k) for k in score.columns],
        "features": order,
        "selected": [f in selection.features for f in order],
        "rank": [[int(r) for r in ranks.loc[f].to_numpy()] for f in order],
        "in_top": [[bool(v) for v in in_top.loc[f]] for f in order],
        "frequency": [_num(frequency[f], 4) for f in order],
        "top_m": top_m,
        "n_features": int(score.shape[0]),
        "mean_jaccard": _jaccard(sets),
        "selected_in_every_fold": _num(
            float(np.mean([frequency.get(f, 0.0) == 1.0 for f in selection.features]))
        ),
    }


def selection_data(selection: Selection) -> dict[str, Any]:
    """The ``selections[target]`` entry of ``report.json``."""
    return {
        "features": selection.features,
        "importance": _importance(selection),
        "agreement": _agreement(selection),
        "stability": _stability(selection),
    }
