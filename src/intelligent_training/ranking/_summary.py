"""Summarise a target's cells into its rankings row, and assemble the rankings table."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import LeakageWarning
from intelligent_training.ranking._evidence import TargetEvidence, metrics_of
from intelligent_training.ranking._score import (
    LAMBDA_FAMILY,
    LAMBDA_FOLD,
    composite_score,
    family_scores,
)
from intelligent_training.ranking._significance import qvalues, target_test

__all__ = ["rankings_frame", "selection_note", "summarise_target"]

_FRONT = [
    "rank",
    "score",
    "selected",
    "significant",
    "q_value",
    "p_value",
    "t_stat",
    "stopped_after_folds",
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
# pooled metrics left out of the table: the naive Newey-West t of the rank IC (the
# table's one t-statistic is ``t_stat``, from the calibrated test) and bookkeeping
_NOT_POOLED = ("n", "logloss_baseline", "ic_tstat")


def _oof_index(index: pd.Index, rows: np.ndarray, paths: np.ndarray | None) -> pd.Index:
    """The panel index of ``rows`` (with a leading ``path`` level when there are paths)."""
    sub = index[rows]
    if paths is None:
        return sub
    levels = [sub.get_level_values(i) for i in range(sub.nlevels)]
    names = ["path", *(sub.names if sub.nlevels > 1 else [sub.name])]
    return pd.MultiIndex.from_arrays([paths, *levels], names=names)


def _family_predictions(
    ev: TargetEvidence, family: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Rows, predictions and (with several paths) path of every out-of-fold prediction."""
    parts = ev.preds[family]
    rows = np.concatenate([r for _, r, _ in parts])
    pred = np.concatenate([p for _, _, p in parts], axis=0)
    paths = None
    if ev.paths.n_paths > 1:
        paths = np.concatenate([ev.paths.of(fold, r) for fold, r, _ in parts])
        order = np.lexsort((rows, paths))
        keep = paths[order] >= 0
        order = order[keep]
        return rows[order], pred[order], paths[order]
    order = np.argsort(rows, kind="stable")
    return rows[order], pred[order], paths


def _pooled(ev: TargetEvidence, rows: np.ndarray, pred: np.ndarray, paths: Any) -> dict:
    """Pooled metrics of a family's predictions (the mean over paths with several)."""
    spec = ev.spec
    ts = ev.timestamps
    if paths is None:
        return metrics_of(spec, spec.labels[rows], pred, ts[rows])
    per_path = [
        metrics_of(spec, spec.labels[rows[paths == p]], pred[paths == p], ts[rows[paths == p]])
        for p in np.unique(paths)
    ]
    return {k: float(np.nanmean([m[k] for m in per_path])) for k in per_path[0]}


def summarise_target(
    row: dict[str, Any],
    ev: TargetEvidence,
    index: pd.Index,
    *,
    leakage_score: float,
    leakage_feature_corr: float,
) -> pd.DataFrame | None:
    """Fill ``row`` (score, significance, skills, pooled metrics, leakage flag) from the
    target's evidence.

    Returns
    -------
    DataFrame or None
        The out-of-fold predictions (one column per family) on the target's test rows;
        with several backtest paths, one row per (path, test row), the ``path`` first in
        the index.
    """
    spec = ev.spec
    skills = ev.skills
    families = ev.families
    row["stopped_after_folds"] = np.nan if ev.stopped_after is None else ev.stopped_after
    if not np.isfinite(skills).any():
        row["eligible"] = False
        row["reason"] = "no model could be fit" + (
            f" ({ev.errors[0]})" if ev.errors else " (every fold too small after purging)"
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
    row.update(target_test(ev.family_tests()))
    row["skill_method"] = ev.method
    if ev.paths.n_paths > 1:
        path_scores = np.array([composite_score(s) for s in ev.path_skills])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            row["n_paths"] = int(np.isfinite(path_scores).sum())
            row["score_path_mean"] = float(np.nanmean(path_scores))
            row["score_path_std"] = float(np.nanstd(path_scores))
            row["score_path_min"] = float(np.nanmin(path_scores))

    oof_cols: dict[str, pd.Series] = {}
    for fi, fam in enumerate(families):
        row[f"{fam}_score"] = float(fam_scores[fi])
        for k in range(ev.n_folds):
            row[f"{fam}_fold{k}"] = float(skills[fi, k])
        if not ev.preds[fam]:
            continue
        rows_f, pred_f, paths = _family_predictions(ev, fam)
        for name, value in _pooled(ev, rows_f, pred_f, paths).items():
            if name not in _NOT_POOLED:
                row[f"{fam}_{name}"] = value
        if pred_f.ndim == 1:
            column = pred_f
        else:
            assert spec.classes is not None
            column = spec.classes[np.argmax(pred_f, axis=1)]
        oof_cols[fam] = pd.Series(column, index=_oof_index(index, rows_f, paths))
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
    rows: list[dict[str, Any]],
    *,
    top_n: int | None,
    min_score: float | None,
    fdr: float | None,
) -> pd.DataFrame:
    """The rankings table: best first, ``rank``, ``selected`` and the front columns first.

    ``q_value`` (Benjamini-Yekutieli, across all candidates) and ``significant``
    (``q_value <= fdr``; NA when ``fdr`` is None) are added. A selected target must be
    eligible, not flagged as leaky, beat the naive baseline (``score > 0``), be
    significant (unless ``fdr`` is None) and reach ``min_score``; at most ``top_n`` are
    selected, best score first.
    """
    frame = pd.DataFrame(rows).set_index("target")
    for col in ("score", "skill_mean", "skill_std", "t_stat", "p_value", "stopped_after_folds"):
        if col not in frame:
            frame[col] = np.nan
    if "fold_scores" not in frame:
        frame["fold_scores"] = None
    frame["q_value"] = qvalues(frame["p_value"].to_numpy(dtype=np.float64))
    if fdr is None:
        frame["significant"] = pd.array([pd.NA] * len(frame), dtype="boolean")
    else:
        with np.errstate(invalid="ignore"):
            frame["significant"] = frame["q_value"].to_numpy() <= fdr * (1.0 + 1e-12)
    frame["_ok"] = frame["eligible"] & frame["score"].notna()
    frame = frame.sort_values(
        ["_ok", "score"], ascending=[False, False], kind="stable", na_position="last"
    ).drop(columns="_ok")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    qualifies = frame["eligible"] & (frame["score"] > 0) & ~frame["leakage_flag"].astype(bool)
    if fdr is not None:
        qualifies &= frame["significant"].astype(bool)
    if min_score is not None:
        qualifies &= frame["score"] >= min_score
    selected = qualifies & (qualifies.cumsum() <= (top_n if top_n else len(frame)))
    frame.insert(2, "selected", selected.to_numpy(dtype=bool))
    rest = [c for c in frame.columns if c not in _FRONT]
    return frame[_FRONT + rest]


def selection_note(
    frame: pd.DataFrame, *, top_n: int | None, min_score: float | None, fdr: float | None
) -> str:
    """Why fewer than ``top_n`` targets were selected ("" when ``top_n`` were, or is None).

    Every candidate that was not selected is counted under the first rule it fails:
    ineligible, flagged as leaky, no skill over the naive baseline (``score <= 0``), not
    significant at ``fdr``, below ``min_score``.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "selected": [True, False, False], "eligible": True, "leakage_flag": False,
    ...     "score": [0.3, 0.02, -0.01], "significant": [True, False, False],
    ...     "q_value": [0.001, 0.4, 1.0]}, index=["a", "b", "c"])
    >>> note = selection_note(frame, top_n=2, min_score=None, fdr=0.1)
    >>> note.split(" (Benjamini")[0]
    'selected 1 of top_n=2 targets (3 candidates): 1 not significant at fdr=0.1'
    >>> "1 no skill over the naive baseline (score <= 0)" in note
    True
    """
    n_selected = int(frame["selected"].sum())
    if top_n is None or n_selected >= top_n:
        return ""
    rest = frame[~frame["selected"].astype(bool)]
    eligible = rest["eligible"].astype(bool)
    leaky = eligible & rest["leakage_flag"].astype(bool)
    no_skill = eligible & ~leaky & ~(rest["score"] > 0)
    skilled = eligible & ~leaky & ~no_skill
    if fdr is not None:
        not_significant = skilled & ~rest["significant"].fillna(False).astype(bool)
    else:
        not_significant = skilled & False
    low = skilled & ~not_significant
    if min_score is not None:
        low &= rest["score"] < min_score
    parts: list[str] = []
    hints: list[str] = []
    if not_significant.any():
        missed = rest[not_significant]
        best = missed.iloc[int(np.argmax(missed["score"].to_numpy()))]
        parts.append(
            f"{int(not_significant.sum())} not significant at fdr={fdr} (Benjamini-Yekutieli "
            f"q-value > {fdr}; best: {best.name!r}, score {best['score']:.4f}, "
            f"q = {best['q_value']:.3g})"
        )
        hints.append("raise fdr (fdr=None, --fdr none: the score alone)")
    if low.any():
        parts.append(f"{int(low.sum())} below min_score={min_score}")
        hints.append("lower min_score")
    if no_skill.any():
        parts.append(f"{int(no_skill.sum())} no skill over the naive baseline (score <= 0)")
    if leaky.any():
        parts.append(f"{int(leaky.sum())} flagged as leaky")
    if (~eligible).any():
        parts.append(f"{int((~eligible).sum())} ineligible (see reason)")
    hints.append("add data or candidates")
    hint = ", ".join(hints)
    return (
        f"selected {n_selected} of top_n={top_n} targets ({len(frame)} candidates): "
        + ", ".join(parts)
        + f". {hint[0].upper()}{hint[1:]} to select more."
    )
