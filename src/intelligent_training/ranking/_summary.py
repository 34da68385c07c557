"""Summarise a target's cells into its rankings row, and assemble the rankings table."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation import Cell, CellResult, TargetSpec
from intelligent_training.exceptions import LeakageWarning
from intelligent_training.metrics import classification_metrics, regression_metrics, skill_score
from intelligent_training.ranking._score import (
    LAMBDA_FAMILY,
    LAMBDA_FOLD,
    composite_score,
    family_scores,
)

__all__ = ["rankings_frame", "summarise_target"]

_FRONT = [
    "rank",
    "score",
    "selected",
    "eligible",
    "reason",
    "leakage_flag",
    "leakage_reason",
    "task",
    "horizon",
    "horizon_bars",
    "n_rows",
    "skill_mean",
    "skill_std",
    "fold_scores",
]


def _metrics(
    spec: TargetSpec, y_true: np.ndarray, pred: np.ndarray, timestamps: np.ndarray | None
) -> dict[str, float]:
    if spec.task == "regression":
        return regression_metrics(y_true, pred, timestamps, horizon_bars=spec.horizon_bars)
    return classification_metrics(y_true, pred, classes=list(range(max(spec.n_classes, 2))))


def _prediction(scores: np.ndarray) -> np.ndarray:
    """Regression / binary: one column; multiclass: the probability matrix."""
    return scores[:, 0] if scores.shape[1] == 1 else scores


def summarise_target(
    row: dict[str, Any],
    spec: TargetSpec,
    results: Sequence[tuple[Cell, CellResult]],
    families: list[str],
    n_folds: int,
    timestamps: np.ndarray,
    index: pd.Index,
    *,
    leakage_score: float,
    leakage_feature_corr: float,
) -> pd.DataFrame | None:
    """Fill ``row`` (score, skills, pooled metrics, leakage flag) from the target's cells.

    Returns
    -------
    DataFrame or None
        The out-of-fold predictions (one column per family) on the target's test rows.
    """
    task = spec.task
    skills = np.full((len(families), n_folds), np.nan)
    preds: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {f: [] for f in families}
    errors: list[str] = []
    for cell, result in results:
        fi = families.index(cell.family)
        if result.scores is None:
            errors.append(f"{cell.family} fold {cell.fold}: {result.error}")
            continue
        pred = _prediction(result.scores)
        # A cell only needs its skill (Spearman / AUC): no per-timestamp rank IC here;
        # the full metrics are computed once per family on the pooled predictions.
        skills[fi, cell.fold] = skill_score(
            task, _metrics(spec, spec.labels[cell.test], pred, None)
        )
        preds[cell.family].append((cell.test, pred))
    if not np.isfinite(skills).any():
        row["eligible"] = False
        row["reason"] = "no model could be fit" + (
            f" ({errors[0]})" if errors else " (every fold too small after purging)"
        )
        return None
    fam_scores = family_scores(skills, LAMBDA_FOLD)
    row["score"] = composite_score(skills, LAMBDA_FOLD, LAMBDA_FAMILY)
    finite = skills[np.isfinite(skills)]
    row["skill_mean"] = float(finite.mean())
    row["skill_std"] = float(finite.std())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        row["fold_scores"] = [float(v) for v in np.nanmean(skills, axis=0)]
    row["n_folds"] = int(np.isfinite(skills).any(axis=0).sum())

    oof_cols: dict[str, pd.Series] = {}
    for fi, fam in enumerate(families):
        row[f"{fam}_score"] = float(fam_scores[fi])
        for k in range(n_folds):
            row[f"{fam}_fold{k}"] = float(skills[fi, k])
        if not preds[fam]:
            continue
        rows_f = np.concatenate([r for r, _ in preds[fam]])
        pred_f = np.concatenate([p for _, p in preds[fam]], axis=0)
        order = np.argsort(rows_f, kind="stable")
        rows_f, pred_f = rows_f[order], pred_f[order]
        pooled = _metrics(spec, spec.labels[rows_f], pred_f, timestamps[rows_f])
        for name, value in pooled.items():
            if name not in ("n", "logloss_baseline"):
                row[f"{fam}_{name}"] = value
        if pred_f.ndim == 1:
            column = pred_f
        else:
            assert spec.classes is not None
            column = spec.classes[np.argmax(pred_f, axis=1)]
        oof_cols[fam] = pd.Series(column, index=index[rows_f])
    _flag_leakage(row, spec.name, leakage_score, leakage_feature_corr)
    return pd.DataFrame(oof_cols) if oof_cols else None


def _flag_leakage(row: dict[str, Any], target: str, max_score: float, max_corr: float) -> None:
    reasons = []
    if row["score"] >= max_score:
        reasons.append(
            f"score {row['score']:.3f} >= leakage_score={max_score}: implausibly "
            "high out-of-sample skill"
        )
    if np.isfinite(row["max_feature_corr"]) and row["max_feature_corr"] >= max_corr:
        reasons.append(
            f"feature {row['max_feature']!r} alone predicts it (strength "
            f"{row['max_feature_corr']:.3f} >= leakage_feature_corr={max_corr})"
        )
    if reasons:
        row["leakage_flag"] = True
        row["leakage_reason"] = "; ".join(reasons)
        warnings.warn(
            f"TargetRanker: target {target!r} looks leaky: {row['leakage_reason']}. "
            "Check how its features and label are computed.",
            LeakageWarning,
            stacklevel=2,
        )


def rankings_frame(
    rows: list[dict[str, Any]], *, top_n: int | None, min_score: float | None
) -> pd.DataFrame:
    """The rankings table: best first, ``rank``, ``selected`` and the front columns first.

    A selected target must be eligible, not flagged as leaky, beat the naive baseline
    (``score > 0``) and ``min_score``; at most ``top_n`` are selected.
    """
    frame = pd.DataFrame(rows).set_index("target")
    for col in ("score", "skill_mean", "skill_std"):
        if col not in frame:
            frame[col] = np.nan
    if "fold_scores" not in frame:
        frame["fold_scores"] = None
    frame["_ok"] = frame["eligible"] & frame["score"].notna()
    frame = frame.sort_values(
        ["_ok", "score"], ascending=[False, False], kind="stable", na_position="last"
    ).drop(columns="_ok")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    qualifies = frame["eligible"] & (frame["score"] > 0) & ~frame["leakage_flag"]
    if min_score is not None:
        qualifies &= frame["score"] >= min_score
    selected = qualifies & (qualifies.cumsum() <= (top_n if top_n else len(frame)))
    frame.insert(2, "selected", selected.to_numpy(dtype=bool))
    rest = [c for c in frame.columns if c not in _FRONT]
    return frame[_FRONT + rest]
