"""The steps of ``TargetRanker.fit``: candidates, sentinel, cell plan, grid, skill table.

Each step reads the parameters of the ranker it is given (never changes them) and works
on a :class:`CandidateTargets`; :meth:`TargetRanker.fit
<intelligent_training.ranking.TargetRanker.fit>` calls them in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from intelligent_training._progress import ProgressLog, progress_enabled
from intelligent_training.evaluation import (
    Cell,
    CellPlanner,
    EvalData,
    Fold,
    Measure,
    TargetSet,
    cell_threads,
    resolve_cv,
    resolve_targets,
    run_cells,
)
from intelligent_training.exceptions import FamilyError
from intelligent_training.ranking._eligibility import check_eligibility
from intelligent_training.ranking._evidence import TargetEvidence
from intelligent_training.ranking._leakage import single_feature_strength
from intelligent_training.ranking._racing import fold_waves, race
from intelligent_training.ranking._summary import summarise_target

if TYPE_CHECKING:
    from intelligent_training.ranking._ranker import TargetRanker

# The log records keep the name they had before the fit steps left ``_ranker.py``.
logger = logging.getLogger("intelligent_training.ranking._ranker")

__all__ = [
    "DEFAULT_N_SPLITS",
    "OWNER",
    "CandidateTargets",
    "find_strongest_features",
    "new_evidence",
    "plan_cells",
    "resolve_candidates",
    "run_grid",
    "skill_table",
]

DEFAULT_N_SPLITS = 3
OWNER = "TargetRanker"
_MIN_TRAIN_ROWS = 20


@dataclass
class CandidateTargets:
    """What ``fit`` learns about the candidates before any model is fit."""

    names: list[str]
    rows: dict[str, dict[str, Any]]  # target -> its rankings row (filled as we go)
    eligible: list[str]
    resolved: TargetSet  # specs (with folds) of the eligible targets


def resolve_candidates(
    ranker: TargetRanker, X: pd.DataFrame, Y: pd.DataFrame, data: EvalData
) -> CandidateTargets:
    """Task, horizon and eligibility of every candidate; specs and folds of the eligible."""
    from intelligent_training.data import infer_task
    from intelligent_training.evaluation._targets import resolve_horizons_in_bars
    from intelligent_training.model_selection import get_timestamps

    names = list(Y.columns)
    timestamps = get_timestamps(X)
    horizons = resolve_horizons_in_bars(
        names,
        timestamps,
        horizons=ranker.horizons,
        default_horizon=ranker.default_horizon,
        owner=OWNER,
        X=X,
    )
    rows: dict[str, dict[str, Any]] = {}
    for t in names:
        y = Y[t]
        numeric = pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype)
        task = infer_task(y) if numeric else "regression"
        ok, reason = check_eligibility(
            y, task, min_rows=ranker.min_rows, min_class_rows=ranker.min_class_rows
        )
        rows[t] = {
            "task": task,
            "horizon": horizons[t][0],
            "horizon_bars": horizons[t][1],
            "n_rows": int(y.notna().sum()),
            "eligible": ok,
            "reason": reason,
            "leakage_flag": False,
            "leakage_reason": "",
            "max_feature_corr": np.nan,
            "max_feature": None,
        }
    eligible = [t for t in names if rows[t]["eligible"]]
    resolved = resolve_targets(
        Y if eligible == list(Y.columns) else Y.loc[:, eligible],  # .loc copies the columns
        X,
        timestamps=timestamps,
        cv=resolve_cv(ranker.cv, default_n_splits=DEFAULT_N_SPLITS, owner=OWNER),
        horizons={t: horizons[t][0] for t in eligible},
        owner=OWNER,
        sample_weight=ranker.sample_weight,
    )
    data.targets.update(resolved.specs)
    return CandidateTargets(names=names, rows=rows, eligible=eligible, resolved=resolved)


def find_strongest_features(targets: CandidateTargets, data: EvalData) -> None:
    """The strongest single feature of every eligible target (the leakage sentinel)."""
    rank_cache: dict[bytes, Any] = {}  # feature ranks shared by targets on the same rows
    for t in targets.eligible:
        spec = targets.resolved[t]
        strength = single_feature_strength(data.X, spec.labels, spec.task, cache=rank_cache)
        if np.isfinite(strength).any():
            j = int(np.nanargmax(strength))
            targets.rows[t]["max_feature_corr"] = float(strength[j])
            targets.rows[t]["max_feature"] = str(data.columns[j])


def plan_cells(
    ranker: TargetRanker,
    targets: CandidateTargets,
    data: EvalData,
    families: dict[str, dict[str, Any]],
    seed: int | None,
) -> list[Cell]:
    """Every usable (target, family, fold) cell, largest training sets first."""
    n_cells = len(families) * sum(len(targets.resolved[t].folds) for t in targets.eligible)
    planner = CellPlanner(
        "rank",
        targets.resolved,
        data,
        seed=seed,
        threads=cell_threads(ranker.n_jobs, n_cells),
    )
    measure = Measure(scores=True)
    cells: list[Cell] = []
    for t in targets.eligible:
        spec = targets.resolved[t]

        def usable(fold: Fold, labels: np.ndarray = spec.labels, task: str = spec.task) -> bool:
            if len(fold.train) < _MIN_TRAIN_ROWS or len(fold.test) < 2:
                return False
            return task == "regression" or len(np.unique(labels[fold.train])) >= 2

        for fam, params in families.items():
            cells.extend(planner.fold_cells(t, fam, params, measure, usable=usable))
    # Largest training sets first: the grid then ends on small cells, so the workers
    # finish at about the same time.
    cells.sort(key=lambda c: -len(c.train))
    return cells


def new_evidence(
    ranker: TargetRanker, targets: CandidateTargets, cells: list[Cell], families: list[str]
) -> dict[str, TargetEvidence]:
    """An empty :class:`TargetEvidence` per eligible target."""
    from intelligent_training.model_selection import backtest_paths

    n_folds = max((len(targets.resolved[t].folds) for t in targets.eligible), default=0)
    paths = backtest_paths(targets.resolved.cv, groups=targets.resolved.timestamps)
    planned: dict[str, set[int]] = {t: set() for t in targets.eligible}
    for cell in cells:
        planned[cell.target].add(int(cell.fold or 0))
    return {
        t: TargetEvidence(
            targets.resolved[t],
            families,
            n_folds,
            targets.resolved.timestamps,
            paths,
            planned_folds=frozenset(planned[t]),
            racing=_racing(ranker),
        )
        for t in targets.eligible
    }


def _racing(ranker: TargetRanker) -> bool:
    return bool(ranker.early_stopping) and ranker.top_n is not None


def _waves(ranker: TargetRanker, cells: list[Cell]) -> list[list[Cell]]:
    """The grid in the order it runs: one batch, or one fold wave after another."""
    if not _racing(ranker):
        return [cells]
    sizes: dict[int, list[int]] = {}
    for cell in cells:
        sizes.setdefault(int(cell.fold or 0), []).append(len(cell.train))
    return [[c for c in cells if c.fold == k] for k in fold_waves(sizes)]


def run_grid(
    ranker: TargetRanker,
    cells: list[Cell],
    targets: CandidateTargets,
    data: EvalData,
    evidence: dict[str, TargetEvidence],
    memory: Any,
) -> dict[str, pd.DataFrame]:
    """Run the grid (in fold waves when racing); summarise each target as soon as its
    last cell is back, or when it is stopped."""
    pending: dict[str, int] = {}
    for cell in cells:
        pending[cell.target] = pending.get(cell.target, 0) + 1
    oof: dict[str, pd.DataFrame] = {}
    n_ok = 0
    first_error = ""
    stopped: set[str] = set()
    assert data.index is not None

    finished = ProgressLog(
        "ranking", len(targets.eligible), enabled=not progress_enabled(ranker.verbose)
    )

    def summarise(t: str) -> None:
        assert data.index is not None
        frame = summarise_target(
            targets.rows[t],
            evidence[t],
            data.index,
            leakage_score=ranker.leakage_score,
            leakage_feature_corr=ranker.leakage_feature_corr,
        )
        if frame is not None:
            oof[t] = frame
        finished.done(t)  # a log line per finished target where no bar is drawn

    waves = _waves(ranker, cells)
    n_folds = max((ev.n_folds for ev in evidence.values()), default=0)
    for w, wave in enumerate(waves):
        wave = [c for c in wave if c.target not in stopped]
        desc = "ranking targets" if len(waves) == 1 else f"ranking, fold wave {w + 1}"
        stream = run_cells(
            wave, data, n_jobs=ranker.n_jobs, memory=memory, verbose=ranker.verbose, desc=desc
        )
        for cell, result in stream:
            n_ok += result.ok
            first_error = first_error or (result.error or "")
            evidence[cell.target].add(cell, result)
            pending[cell.target] -= 1
            if pending[cell.target] == 0:
                summarise(cell.target)
        if w == len(waves) - 1:
            break
        running = [t for t in evidence if pending.get(t, 0) > 0 and t not in stopped]
        stop = race(
            {t: ev for t, ev in evidence.items() if t not in stopped},
            running,
            n_folds=n_folds,
            n_candidates=len(targets.names),
            top_n=ranker.top_n,
            fdr=ranker.fdr,
            min_score=ranker.min_score,
            leakage_score=ranker.leakage_score,
            leakage_feature_corr=ranker.leakage_feature_corr,
            max_feature_corr={t: targets.rows[t]["max_feature_corr"] for t in evidence},
        )
        for t in stop:
            evidence[t].stopped_after = len(evidence[t].folds_seen)
            stopped.add(t)
            summarise(t)
        if stop:
            logger.info(
                "TargetRanker: stopped %d hopeless target(s) after %d fold(s): %s",
                len(stop),
                w + 1,
                stop,
            )
    if cells and n_ok == 0:
        raise FamilyError("TargetRanker: every model fit failed; first error: " + first_error)
    for t in targets.eligible:
        if t not in pending:  # no usable cell at all (folds too small)
            summarise(t)
    return oof


def skill_table(evidence: dict[str, TargetEvidence]) -> pd.DataFrame:
    """The per-timestamp skill series the tests used: ``target``, ``family``,
    ``timestamp``, ``value``, ``fold``."""
    frames = [ev.skill_table().assign(target=t) for t, ev in evidence.items()]
    columns = ["target", "family", "timestamp", "value", "fold"]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
