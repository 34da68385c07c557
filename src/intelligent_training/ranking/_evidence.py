"""What the ranker knows about one target while its cells come back.

Every cell (family x fold) adds, as soon as it is back:

* its **fold skill** (the correlation-equivalent skill of its test rows,
  :func:`~intelligent_training.metrics.skill_score`), the input of the composite score;
* its **per-timestamp skill series** (:func:`~intelligent_training.stats.skill_by_timestamp`:
  rank IC across symbols, centred AUC, or pooled for a single series), the input of the
  significance test; a family's series is the mean, per timestamp, over the cells that
  tested that timestamp (one cell with walk-forward folds, one per backtest path with a
  combinatorial splitter);
* its predictions (the out-of-fold predictions and pooled metrics), and with a
  combinatorial splitter the skill of every (path, fold) piece (the path scores).

The racing rule (:mod:`._racing`) reads the evidence after every fold wave; the summary
(:mod:`._summary`) turns it into the target's rankings row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation import Cell, CellResult, TargetSpec
from intelligent_training.metrics import classification_metrics, regression_metrics, skill_score
from intelligent_training.model_selection import BacktestPaths
from intelligent_training.stats import (
    MeanTest,
    hac_mean_test,
    pooled_skill_by_timestamp,
    skill_by_timestamp,
    skill_method,
)

__all__ = ["TargetEvidence", "metrics_of", "prediction"]


def prediction(scores: np.ndarray) -> np.ndarray:
    """Regression / binary: one column; multiclass: the probability matrix."""
    return scores[:, 0] if scores.shape[1] == 1 else scores


def metrics_of(
    spec: TargetSpec, y_true: np.ndarray, pred: np.ndarray, timestamps: np.ndarray | None
) -> dict[str, float]:
    """The pooled metrics of predictions ``pred`` of ``spec`` on rows with ``y_true``."""
    if spec.task == "regression":
        return regression_metrics(y_true, pred, timestamps, horizon_bars=spec.horizon_bars)
    return classification_metrics(y_true, pred, classes=list(range(max(spec.n_classes, 2))))


def _skill(spec: TargetSpec, rows: np.ndarray, pred: np.ndarray) -> float:
    return skill_score(spec.task, metrics_of(spec, spec.labels[rows], pred, None))


@dataclass
class TargetEvidence:
    """The cells of one target seen so far (see the module docstring).

    Parameters
    ----------
    spec : TargetSpec
    families : list of str
    n_folds : int
        Folds of the grid (columns of ``skills``).
    timestamps : ndarray
        Timestamp of every row of the data.
    paths : BacktestPaths
        The splitter's backtest paths (one for walk-forward folds).
    planned_folds : frozenset of int
        The folds the target has cells for.
    racing : bool
        Also keep each cell's pooled per-timestamp skill (the racing bounds' noise floor).
    """

    spec: TargetSpec
    families: list[str]
    n_folds: int
    timestamps: np.ndarray
    paths: BacktestPaths
    planned_folds: frozenset[int] = frozenset()
    racing: bool = False
    skills: np.ndarray = field(init=False)
    method: str = field(init=False)
    n_test_timestamps: int = field(init=False)
    n_groups: int = field(init=False)
    path_skills: np.ndarray = field(init=False)
    series: dict[str, list[pd.Series]] = field(init=False)
    series_folds: dict[Any, int] = field(init=False)
    preds: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = field(init=False)
    pooled: dict[str, list[pd.Series]] = field(init=False)
    errors: list[str] = field(default_factory=list)
    folds_seen: set[int] = field(default_factory=set)
    stopped_after: int | None = None

    def __post_init__(self) -> None:
        spec = self.spec
        self.skills = np.full((len(self.families), self.n_folds), np.nan)
        labelled = spec.labelled
        self.method = skill_method(spec.task, self.timestamps[labelled])
        tested = [f.test for f in spec.folds if len(f.test)]
        rows = np.unique(np.concatenate(tested)) if tested else np.zeros(0, np.intp)
        self.n_test_timestamps = len(pd.unique(self.timestamps[rows]))
        fold_of = self.paths.fold_of(rows)
        self.n_groups = int(fold_of.max()) + 1 if fold_of is not None and len(fold_of) else 0
        self.path_skills = np.full((self.paths.n_paths, len(self.families), self.n_groups), np.nan)
        self.series = {f: [] for f in self.families}
        self.series_folds = {}
        self.preds = {f: [] for f in self.families}
        self.pooled = {f: [] for f in self.families}

    # ---------------------------------------------------------------- adding cells
    def add(self, cell: Cell, result: CellResult) -> None:
        """Record one finished cell."""
        assert cell.fold is not None
        self.folds_seen.add(int(cell.fold))
        if result.scores is None:
            self.errors.append(f"{cell.family} fold {cell.fold}: {result.error}")
            return
        spec = self.spec
        fi = self.families.index(cell.family)
        pred = prediction(result.scores)
        self.skills[fi, cell.fold] = _skill(spec, cell.test, pred)
        self.preds[cell.family].append((int(cell.fold), cell.test, pred))
        stamps = self.timestamps[cell.test]
        classes = None if spec.task == "regression" else list(range(max(spec.n_classes, 2)))
        y = spec.labels[cell.test]
        series = skill_by_timestamp(
            y, pred, stamps, task=spec.task, method=self.method, classes=classes
        )
        self.series[cell.family].append(series)
        if self.racing:
            self.pooled[cell.family].append(pooled_skill_by_timestamp(y, pred, stamps, classes))
        groups = self.paths.fold_of(cell.test)
        if groups is None:
            for stamp in series.index:
                self.series_folds.setdefault(stamp, int(cell.fold))
        else:
            first = pd.Series(groups, index=stamps)
            self.series_folds.update(first[~first.index.duplicated()].to_dict())
            self._add_path_skills(cell, fi, pred, groups)

    def _add_path_skills(self, cell: Cell, fi: int, pred: np.ndarray, groups: np.ndarray) -> None:
        assert cell.fold is not None
        paths = self.paths.of(int(cell.fold), cell.test)
        for g in np.unique(groups):
            part = groups == g
            p = int(paths[np.flatnonzero(part)[0]])
            if p >= 0 and part.sum() >= 2:
                self.path_skills[p, fi, g] = _skill(self.spec, cell.test[part], pred[part])

    # ---------------------------------------------------------------- reading
    def family_series(self, family: str) -> pd.Series:
        """The family's per-timestamp skill: the mean over the cells testing each timestamp."""
        parts = self.series[family]
        if not parts:
            return pd.Series(dtype=np.float64)
        joined = pd.concat(parts)
        if self.paths.n_paths == 1 and not joined.index.has_duplicates:
            return joined.sort_index()
        return joined.groupby(level=0, sort=True).mean()

    def family_tests(self) -> dict[str, MeanTest]:
        """The HAC test of every family with at least one cell back."""
        out = {}
        for family in self.families:
            series = self.family_series(family)
            if len(series):
                out[family] = hac_mean_test(series.to_numpy(), self.spec.horizon_bars)
        return out

    def skill_table(self) -> pd.DataFrame:
        """Long table of the series: ``family``, ``timestamp``, ``value``, ``fold``."""
        frames = []
        for family in self.families:
            series = self.family_series(family)
            if not len(series):
                continue
            folds = [self.series_folds.get(stamp, -1) for stamp in series.index]
            frames.append(
                pd.DataFrame(
                    {
                        "family": family,
                        "timestamp": series.index,
                        "value": series.to_numpy(),
                        "fold": np.asarray(folds, dtype=np.int64),
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=["family", "timestamp", "value", "fold"])
        return pd.concat(frames, ignore_index=True)
