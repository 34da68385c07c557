"""``report.json``: every number the report shows, built from :class:`ReportInputs`.

The HTML is rendered from this dictionary alone, so ``report.json`` is the single
source of every figure and table. Numbers are rounded to 6 significant digits;
missing values are ``null``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.report._format import as_flag as _flag
from intelligent_training.report._format import as_number as _num
from intelligent_training.report._format import as_stamp as _stamp
from intelligent_training.report._format import as_text as _text
from intelligent_training.report._format import horizon_label as _horizon_label
from intelligent_training.report._inputs import ReportInputs, Selection
from intelligent_training.report._selection_data import selection_data
from intelligent_training.report._skill import metric_name

__all__ = ["FIGURES", "SCHEMA", "SIGNIFICANCE_COLUMNS", "build_report_data"]

SCHEMA = "intelligent-training-report/1"
#: Significance columns of the rankings, shown when the ranker provides them.
SIGNIFICANCE_COLUMNS = ("t_stat", "p_value", "q_value", "significant", "stopped_after_folds")
#: Points per skill-over-time series at most (longer series are averaged in buckets).
MAX_POINTS = 400
# every per-timestamp metric (stats.skill_by_timestamp) is centred: 0 is no skill

#: Figure id -> (title, one-line caption saying how to read it).
FIGURES: dict[str, tuple[str, str]] = {
    "leaderboard": (
        "Predictability score of every candidate target",
        "Bars are the composite out-of-fold score (skill over a naive baseline, penalised for "
        "fold and family disagreement); filled bars were selected, grey ones were not; "
        "0 is no skill.",
    ),
    "skill_over_time": (
        "Out-of-fold skill over time",
        "Thin lines: skill of each family at each timestamp (rank IC across symbols, or AUC "
        "− ½ for classification targets), the series the significance test is computed on; "
        "thick lines: its rolling mean; shaded bands: the CV test folds; the dashed line (0) is "
        "no skill.",
    ),
    "skill_by_fold": (
        "Skill per cross-validation fold",
        "One bar per fold and family (correlation-equivalent skill, comparable across tasks); "
        "bars of similar height across folds mean the skill is stable in time.",
    ),
    "skill_by_horizon": (
        "Skill by horizon",
        "Targets that differ only in their horizon, left to right from the shortest; a line "
        "falling with the horizon means the signal decays.",
    ),
    "importance": (
        "Feature importance by family and method",
        "Rows are features (selected ones above the line, best first), columns are "
        "family/method pairs; darker cells carry more of that column's normalised importance "
        "(values below 0.005 are left blank).",
    ),
    "agreement": (
        "Family agreement",
        "Spearman correlation of the families' feature importances: near 1, the families "
        "rely on the same features; near 0 or below, they disagree.",
    ),
    "stability": (
        "Selection stability across folds",
        "Each column ranks the features on one CV fold alone; a dot marks the fold's top-M; "
        "a feature dotted in every column is selected stably.",
    ),
    "training": (
        "Training: out-of-fold skill per family and ensemble",
        "Each row is a selected target, each column a family or the ensemble (the mean of "
        "the families); cells show the mean out-of-fold rank IC or AUC per timestamp, "
        "darker = more skill than the baseline.",
    ),
    "buckets": (
        "Forward return by prediction bucket",
        "Per timestamp the predictions are ranked into equal-count buckets (Q1 lowest); bars "
        "are the mean forward return of each bucket over the timestamps. A predictive signal "
        "rises (or falls) monotonically from Q1 to the top bucket.",
    ),
    "cumulative": (
        "Top-minus-bottom long-short",
        "Cumulative return of the book long the top bucket and short the bottom one, "
        "rebalanced every horizon, net of costs per unit of turnover (gross dotted); below, "
        "its drawdown from the running peak. Drag to zoom on a period.",
    ),
    "autocorrelation": (
        "Rank autocorrelation",
        "Cross-sectional correlation of the prediction ranks at t and t - lag, averaged over "
        "time: near 1 the ranking changes slowly (low turnover), near 0 it is renewed every bar.",
    ),
    "decay": (
        "Skill decay",
        "Mean per-timestamp skill of these predictions against the other horizons of the same "
        "target stem (this target dark): how far ahead the signal carries.",
    ),
}


def _families_and_folds(rankings: pd.DataFrame) -> tuple[list[str], int]:
    families: dict[str, int] = {}
    for column in rankings.columns:
        match = re.fullmatch(r"(.+)_fold(\d+)", str(column))
        if match:
            families[match.group(1)] = max(families.get(match.group(1), 0), int(match.group(2)))
    n_folds = max(families.values()) + 1 if families else 0
    return list(families), n_folds


# ------------------------------------------------------------------- leaderboard
def _status(row: pd.Series, target: str, inputs: ReportInputs) -> tuple[str, str | None]:
    if target in inputs.failed_targets:
        return "failed", inputs.failed_targets[target]
    if target in inputs.selected_targets:
        return "selected", None
    if _flag(row.get("leakage_flag")):
        return "leakage", _text(row.get("leakage_reason"))
    if _flag(row.get("eligible")) is False:
        return "ineligible", _text(row.get("reason"))
    if _text(row.get("stopped_after_folds")) is not None:
        return "stopped early", f"after {row.get('stopped_after_folds')} folds"
    if _flag(row.get("significant")) is False:
        return "not significant", None
    score = _num(row.get("score"))
    if score is not None and score <= 0:
        return "no skill", "score <= 0: no better than the naive baseline"
    return "not selected", "below the selected targets (top_n / min_score)"


def _leaderboard(inputs: ReportInputs, families: list[str]) -> dict[str, Any]:
    rankings = inputs.rankings
    significance = [c for c in SIGNIFICANCE_COLUMNS if rankings is not None and c in rankings]
    rows = []
    if rankings is None:  # manual targets: no ranking was run
        for i, target in enumerate(inputs.selected_targets, 1):
            rows.append(
                {
                    "target": target,
                    "rank": i,
                    "score": None,
                    "status": "given",
                    "status_reason": None,
                    "task": None,
                    "horizon": None,
                    "horizon_bars": None,
                    "leakage_flag": False,
                    "leakage_reason": None,
                    "family_scores": {},
                }
            )
        return {"families": [], "significance": [], "rows": rows, "ranked": False}
    for name, row in rankings.iterrows():
        target = str(name)
        status, why = _status(row, target, inputs)
        entry: dict[str, Any] = {
            "target": target,
            "rank": _num(row.get("rank")),
            "score": _num(row.get("score")),
            "status": status,
            "status_reason": why,
            "task": _text(row.get("task")),
            "horizon": _horizon_label(row.get("horizon"), row.get("horizon_bars")),
            "horizon_bars": _num(row.get("horizon_bars")),
            "n_rows": _num(row.get("n_rows")),
            "skill_mean": _num(row.get("skill_mean")),
            "skill_std": _num(row.get("skill_std")),
            "eligible": _flag(row.get("eligible")),
            "leakage_flag": bool(_flag(row.get("leakage_flag"))),
            "leakage_reason": _text(row.get("leakage_reason")),
            "family_scores": {f: _num(row.get(f"{f}_score")) for f in families},
        }
        for column in significance:
            value = row.get(column)
            entry[column] = _flag(value) if column == "significant" else _num(value)
        rows.append(entry)
    return {"families": families, "significance": significance, "rows": rows, "ranked": True}


# -------------------------------------------------------------- skill over time
def _series(frame: pd.DataFrame) -> dict[str, Any]:
    frame = frame.sort_values("timestamp", kind="stable")
    values = frame["value"].to_numpy(dtype=np.float64)
    n = len(values)
    window = int(max(5, min(100, n // 20)))
    rolling = pd.Series(values).rolling(window, min_periods=max(1, window // 2)).mean().to_numpy()
    bucket = max(1, math.ceil(n / MAX_POINTS))
    ends = np.minimum(np.arange(bucket, n + bucket, bucket), n) - 1
    codes = np.arange(n) // bucket
    sums = np.bincount(codes, weights=values)
    means = sums / np.bincount(codes)
    stamps = frame["timestamp"].to_numpy()[ends]
    return {
        "t": [_stamp(s) for s in stamps],
        "value": [_num(v, 4) for v in means],
        "rolling": [_num(v, 4) for v in rolling[ends]],
        "window": window,
        "bucket": bucket,
        "n_points": n,
        "mean": _num(values.mean()),
    }


def _skill_over_time(inputs: ReportInputs, order: list[str], tasks: dict[str, str]) -> dict:
    skill = inputs.skill
    out: dict[str, Any] = {}
    if skill is None or not len(skill):
        return out
    ranking = skill[skill["stage"] == "ranking"]
    for target in order:
        part = ranking[ranking["target"] == target]
        if not len(part):
            continue
        method: str | None = None
        rankings = inputs.rankings
        if rankings is not None and "skill_method" in rankings and target in rankings.index:
            value = rankings.loc[target, "skill_method"]
            method = value if isinstance(value, str) else None
        entry: dict[str, Any] = {
            "metric": metric_name(tasks.get(target, "regression"), method),
            "baseline": 0.0,
            "families": {
                str(f): _series(g) for f, g in part.groupby("family", sort=False, observed=True)
            },
            "folds": [],
        }
        with_fold = part[part["fold"] >= 0]
        for fold, g in with_fold.groupby("fold", observed=True):
            entry["folds"].append(
                {
                    "fold": int(str(fold)),
                    "start": _stamp(g["timestamp"].min()),
                    "end": _stamp(g["timestamp"].max()),
                }
            )
        out[target] = entry
    return out


def _skill_by_fold(
    rankings: pd.DataFrame, families: list[str], n_folds: int, order: list[str]
) -> dict:
    out = {}
    for target in order:
        row = rankings.loc[target]
        per = {f: [_num(row.get(f"{f}_fold{k}")) for k in range(n_folds)] for f in families}
        if all(v is None for values in per.values() for v in values):
            continue
        out[target] = {"folds": list(range(n_folds)), "families": per}
    return out


# ----------------------------------------------------------------- by horizon
def stem_of(target: str) -> str | None:
    """The target's name with its horizon token replaced by ``*`` (None without one)."""
    from intelligent_training.data import parse_horizon

    parts = target.split("_")
    for i, part in enumerate(parts):
        if parse_horizon(part) is not None:
            return "_".join([*parts[:i], "*", *parts[i + 1 :]])
    return None


def _skill_by_horizon(rankings: pd.DataFrame, families: list[str]) -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    if "score" not in rankings or "horizon_bars" not in rankings:
        return []
    for target in rankings.index:
        if _num(rankings.loc[target, "score"]) is None:
            continue
        stem = stem_of(str(target))
        if stem is not None:
            groups.setdefault(stem, []).append(str(target))
    out = []
    for stem, targets in groups.items():
        if len(targets) < 2:
            continue
        targets.sort(key=lambda t: (_num(rankings.loc[t, "horizon_bars"]) or 0, t))
        out.append(
            {
                "stem": stem,
                "targets": targets,
                "horizons": [
                    _horizon_label(rankings.loc[t, "horizon"], rankings.loc[t, "horizon_bars"])
                    for t in targets
                ],
                "horizon_bars": [_num(rankings.loc[t, "horizon_bars"]) for t in targets],
                "score": [_num(rankings.loc[t, "score"]) for t in targets],
                "families": {
                    f: [_num(rankings.loc[t].get(f"{f}_score")) for t in targets] for f in families
                },
            }
        )
    return out


# ------------------------------------------------------------------- training
_TRAINING_METRICS = ("skill", "r2", "ic_mean", "auc", "logloss", "accuracy")


def _training(inputs: ReportInputs, tasks: dict[str, str]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    families: list[str] = []
    cv = inputs.cv_metrics
    per_ts: dict[tuple[str, str], float] = {}
    skill = inputs.skill
    if skill is not None and len(skill):
        part = skill[skill["stage"] == "training"]
        means = part.groupby(["target", "family"], observed=True)["value"].mean()
        per_ts = {(str(t), str(f)): float(v) for (t, f), v in zip(means.index, means.to_numpy())}
    targets = [t for t in inputs.selected_targets]
    if cv is not None and len(cv) and {"target", "family", "fold"} <= set(cv.columns):
        cv = cv.assign(fold=cv["fold"].astype(str))
        if "status" not in cv:
            cv = cv.assign(status="ok")
        for (target, family), g in cv.groupby(["target", "family"], sort=False):
            if family not in families:
                families.append(str(family))
            summary = g[g["fold"] == "mean"]
            folds = g[(g["fold"] != "mean") & (g["status"] == "ok")]
            first = summary.iloc[0] if len(summary) else g.iloc[0]
            entry = {
                "target": str(target),
                "family": str(family),
                "task": _text(first.get("task")) or tasks.get(str(target)),
                "status": _text(first.get("status")),
                "error": _text(first.get("error")),
                "n_folds": int(len(folds)),
                "skill_std": _num(folds["skill"].std(ddof=0))
                if len(folds) and "skill" in folds
                else None,
                "oof_per_timestamp": _num(per_ts.get((str(target), str(family)))),
            }
            for metric in _TRAINING_METRICS:
                entry[metric] = _num(first.get(metric)) if metric in g else None
            rows.append(entry)
            if str(target) not in targets:
                targets.append(str(target))
    for (target, family), value in per_ts.items():
        if family == "ensemble" or not any(
            r["target"] == target and r["family"] == family for r in rows
        ):
            if family not in families:
                families.append(family)
            rows.append(
                {
                    "target": target,
                    "family": family,
                    "task": tasks.get(target),
                    "status": "ok",
                    "oof_per_timestamp": _num(value),
                    **{m: None for m in _TRAINING_METRICS},
                }
            )
    position = {t: i for i, t in enumerate(targets)}
    rows.sort(key=lambda r: (position.get(r["target"], len(position)), r["family"] == "ensemble"))
    metric_of = {t: metric_name(tasks.get(t, "regression")) for t in targets}
    return {
        "families": families,
        "targets": targets,
        "metric": metric_of,
        "rows": rows,
        "tuning": _tuning(inputs.cv_metrics),
    }


#: The model search's columns of ``cv_metrics_`` (``training/_tuning.py``), raw and deflated.
_TUNING_METRICS = (
    "n_trials",
    "skill",
    "oof_skill",
    "oof_skill_expected_max",
    "oof_skill_deflated",
    "deflated_pvalue",
    "pbo",
)


def _tuning(cv: pd.DataFrame | None) -> list[dict[str, Any]]:
    """One row per searched target x family: the best trial raw and deflated."""
    if cv is None or "n_trials" not in cv.columns or "fold" not in cv.columns:
        return []
    rows = cv[(cv["fold"].astype(str) == "mean") & cv["n_trials"].notna()]
    return [
        {
            "target": str(r["target"]),
            "family": str(r["family"]),
            **{m: _num(r.get(m)) for m in _TUNING_METRICS},
        }
        for r in rows.to_dict("records")
    ]


# ----------------------------------------------------------------------- run
def _run(inputs: ReportInputs) -> dict[str, Any]:
    run = inputs.run or {}
    data = run.get("data") or {}
    return {
        "created_utc": run.get("created_utc"),
        "command": run.get("command"),
        "data": {
            k: data.get(k)
            for k in (
                "data_dir",
                "fingerprint",
                "symbols",
                "n_rows",
                "n_features",
                "n_candidate_targets",
            )
            if k in data
        },
        "versions": run.get("versions") or {},
        "cache": run.get("cache") or {},
        "timings_s": run.get("timings_s") or {},
        "fit_timings_s": run.get("fit_timings_s") or {},
        "fit_from_cache": _fit_from_cache(run),
        "job_key": run.get("job_key"),
        "config": inputs.config,
        "warnings": list(inputs.warnings),
        "failed_targets": dict(inputs.failed_targets),
    }


def _fit_from_cache(run: dict[str, Any]) -> bool:
    """Whether the fit's own timings were measured by an earlier run (a cached fit).

    A run that took its fitted pipeline from the cache spent less on ``fit`` than the
    stages of the cached fit report.
    """
    timings, fit = run.get("timings_s") or {}, run.get("fit_timings_s") or {}
    hits = (run.get("cache") or {}).get("hits") or 0
    if not hits or "fit" not in timings or not fit:
        return False
    return float(sum(fit.values())) > float(timings["fit"]) + 1e-3


def _tasks(rankings: pd.DataFrame | None, cv: pd.DataFrame | None) -> dict[str, str]:
    tasks: dict[str, str] = {}
    if cv is not None and "task" in cv:
        tasks.update(
            {str(t): str(k) for t, k in zip(cv["target"], cv["task"]) if isinstance(k, str)}
        )
    if rankings is not None and "task" in rankings:
        tasks.update({str(t): str(k) for t, k in rankings["task"].items() if isinstance(k, str)})
    return tasks


def _ordered(first: Iterable[str], rest: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*first, *rest]))


def report_options(inputs: ReportInputs, options: dict[str, Any] | None = None) -> dict:
    """The tearsheet's options: ``options`` > the run's ``report`` section > defaults."""
    from intelligent_training.config import ReportConfig

    section: dict[str, Any] = {}
    if inputs.config:
        import yaml

        try:
            doc = yaml.safe_load(inputs.config) or {}
        except yaml.YAMLError:
            doc = {}
        section = dict(doc.get("report") or {}) if isinstance(doc, dict) else {}
    merged = ReportConfig.model_validate({**section, **(options or {})})
    return {"quantiles": merged.quantiles, "cost_bps": merged.cost_bps}


def build_report_data(
    inputs: ReportInputs, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``report.json`` dictionary of a run.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`inputs_from_pipeline` or :func:`inputs_from_directory`.
    options : dict, optional
        Tearsheet options (``quantiles``, ``cost_bps``) over the run's ``report``
        configuration section.

    Returns
    -------
    dict
        JSON-serialisable: ``schema``, ``summary``, ``leaderboard``,
        ``skill_over_time``, ``skill_by_fold``, ``skill_by_horizon``, ``selections``,
        ``training``, ``tearsheet``, ``run`` and ``figures`` (id -> title and caption).
    """
    from intelligent_training._version import __version__
    from intelligent_training.report._tearsheet import tearsheet_data

    rankings = inputs.rankings
    families, n_folds = _families_and_folds(rankings) if rankings is not None else ([], 0)
    tasks = _tasks(rankings, inputs.cv_metrics)
    ranked = [str(t) for t in rankings.index] if rankings is not None else []
    order = _ordered(inputs.selected_targets, ranked)
    leaderboard = _leaderboard(inputs, families)
    selections = {}
    for target in inputs.selected_targets:
        selections[target] = selection_data(inputs.selections.get(target) or Selection([]))
    run = _run(inputs)
    data = run["data"]
    summary = {
        "n_candidate_targets": data.get("n_candidate_targets", len(ranked) or None),
        "n_eligible": sum(1 for r in leaderboard["rows"] if r.get("eligible")) if ranked else None,
        "n_selected": len(inputs.selected_targets),
        "n_failed": len(inputs.failed_targets),
        "n_leakage_flags": sum(1 for r in leaderboard["rows"] if r.get("leakage_flag")),
        "best_target": inputs.selected_targets[0] if inputs.selected_targets else None,
        "best_score": next(
            (
                r.get("score")
                for r in leaderboard["rows"]
                if r["target"] in inputs.selected_targets[:1]
            ),
            None,
        ),
        "n_warnings": len(inputs.warnings),
    }
    return {
        "schema": SCHEMA,
        "library_version": __version__,
        "source": inputs.source,
        "summary": summary,
        "selected_targets": list(inputs.selected_targets),
        "leaderboard": leaderboard,
        "skill_over_time": _skill_over_time(inputs, order, tasks),
        "skill_by_fold": (
            _skill_by_fold(rankings, families, n_folds, [t for t in order if t in rankings.index])
            if rankings is not None
            else {}
        ),
        "skill_by_horizon": _skill_by_horizon(rankings, families) if rankings is not None else [],
        "selections": selections,
        "training": _training(inputs, tasks),
        "tearsheet": tearsheet_data(
            inputs.signals, list(inputs.selected_targets), **report_options(inputs, options)
        ),
        "run": run,
        "figures": {k: {"title": t, "caption": c} for k, (t, c) in FIGURES.items()},
    }
