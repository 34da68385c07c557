"""Early stopping of hopeless targets (racing) between fold waves.

With ``early_stopping=True`` the ranker evaluates its grid in **fold waves**: every
target's (family, fold) cells of one fold, the fold with the smallest training sets first
(walk-forward fold 0 is the cheapest; stopping a target there saves its expensive folds).
After each wave, :func:`race` stops a target when at least ``top_n`` *contenders* surely
score higher:

* bounds on every target's final score come from the folds seen
  (:func:`~intelligent_training.stats.fold_mean_bounds`, 99 % one-sided prediction bounds
  per family, the fold-to-fold scatter pooled over all targets, at least the scatter a
  fold's skill has from timestamp noise alone; the family-agreement penalty of the score
  lowers the lower bound by at most half the spread of the family bounds);
* a *contender* is a target that will surely qualify for selection: its lower bound is
  above 0 (and ``min_score``), it cannot be flagged as leaky, and, with ``fdr``, it is
  surely significant (the upper prediction bound of its final p-value,
  :func:`~intelligent_training.stats.pvalue_bounds` combined over families, is at most
  the p-value that is significant whatever the other candidates' p-values are,
  :func:`~intelligent_training.stats.significance_thresholds`).

A stopped target ends below ``top_n`` targets that are selected, so it can neither be
selected nor enter the top ``top_n`` of the rankings (the "fast" rule of
:mod:`intelligent_training.stats._racing`). It keeps the score and tests of the folds it
was evaluated on, with ``stopped_after_folds``. The bounds assume the folds to come look
like the folds seen; walk-forward skill tends to grow with the training window, which
makes the bounds of noise targets (flat) and real ones (rising) conservative. Nothing is
stopped when fewer than ``top_n`` targets are surely selected, or with ``top_n=None``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from intelligent_training.ranking._evidence import TargetEvidence
from intelligent_training.ranking._score import LAMBDA_FAMILY, LAMBDA_FOLD
from intelligent_training.ranking._significance import COMBINE_METHOD, FDR_METHOD
from intelligent_training.stats import (
    combine_pvalues,
    fold_mean_bounds,
    pvalue_bounds,
    racing_stops,
    significance_thresholds,
    skill_fold_std,
)

__all__ = ["CONFIDENCE", "fold_waves", "race"]

logger = logging.getLogger(__name__)

#: One-sided coverage of every racing bound.
CONFIDENCE = 0.99
# d(skill)/d(statistic) near 0: regression 2 sin(pi r / 6) -> pi / 3 per unit of rank
# correlation; classification sqrt(2) sin(pi (AUC - 1/2) / 2) -> pi / sqrt(2) per unit of
# AUC, which is about 1.6 per unit of the pooled rank correlation with a binary label
# (a class share between 0.2 and 0.8).
_SCALE = {"regression": np.pi / 3, "classification": 1.6}


def fold_waves(train_sizes: Mapping[int, Sequence[int]]) -> list[int]:
    """Fold indices in wave order: smallest mean training set first (the cheapest)."""
    return sorted(train_sizes, key=lambda k: (float(np.mean(train_sizes[k])), k))


def _floor(ev: TargetEvidence, family: str) -> float:
    """The fold-to-fold scatter a family's fold skill has from timestamp noise alone."""
    parts = ev.pooled.get(family) or []
    if not parts:
        return 0.0
    series = pd.concat(parts)
    if series.index.has_duplicates:
        series = series.groupby(level=0, sort=True).mean()
    else:
        series = series.sort_index()
    n_planned = max(len(ev.planned_folds), 1)
    per_fold = max(ev.n_test_timestamps / n_planned, 1.0)
    std = float(skill_fold_std(series.to_numpy(), per_fold, horizon_bars=ev.spec.horizon_bars))
    return std * _SCALE["regression" if ev.spec.task == "regression" else "classification"]


def _score_bounds(evidence: Sequence[TargetEvidence], n_folds: int) -> tuple[np.ndarray, ...]:
    """Lower and upper bounds of each target's final composite score."""
    F = len(evidence[0].families)
    skills = np.vstack([ev.skills for ev in evidence])  # (targets * families, folds)
    floors = np.array([_floor(ev, f) for ev in evidence for f in ev.families])
    lower_f, upper_f = fold_mean_bounds(
        skills,
        n_folds,
        confidence=CONFIDENCE,
        min_std=floors,
        dispersion_penalty=LAMBDA_FOLD,
    )
    has = np.isfinite(skills).any(axis=1)
    lower_f = np.where(has, lower_f, np.nan).reshape(len(evidence), F)
    upper_f = np.where(has, upper_f, np.nan).reshape(len(evidence), F)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        upper = np.nanmean(upper_f, axis=1)
        spread = np.nanmax(upper_f, axis=1) - np.nanmin(lower_f, axis=1)
        lower = np.nanmean(lower_f, axis=1) - LAMBDA_FAMILY * np.where(
            np.isfinite(lower_f).sum(axis=1) > 1, spread / 2.0, 0.0
        )
    lower = np.where(np.isnan(lower), -np.inf, lower)
    upper = np.where(np.isnan(upper), np.inf, upper)
    return lower, upper


def _pvalue_upper(ev: TargetEvidence) -> float:
    """Upper prediction bound of the target's final combined p-value."""
    uppers = []
    for family in ev.families:
        series = ev.family_series(family)
        if len(series) < 2:
            return 1.0
        n_total = max(ev.n_test_timestamps, len(series))
        _, upper = pvalue_bounds(
            series.to_numpy(),
            n_total,
            horizon_bars=ev.spec.horizon_bars,
            confidence=CONFIDENCE,
        )
        uppers.append(float(upper))
    finite = [u for u in uppers if np.isfinite(u)]
    if not finite:
        return 1.0
    return float(combine_pvalues(np.asarray(finite), method=COMBINE_METHOD))


def race(
    evidence: Mapping[str, TargetEvidence],
    running: Sequence[str],
    *,
    n_folds: int,
    n_candidates: int,
    top_n: int | None,
    fdr: float | None,
    min_score: float | None,
    leakage_score: float,
    leakage_feature_corr: float,
    max_feature_corr: Mapping[str, float],
) -> list[str]:
    """The running targets to stop after a fold wave (see the module docstring).

    Parameters
    ----------
    evidence : mapping of str to TargetEvidence
        Every eligible target not stopped before (running or complete).
    running : sequence of str
        Targets with folds still to evaluate.
    n_folds : int
        Folds of the grid.
    n_candidates : int
        All candidate targets (the number of tests of the q-values).
    top_n, fdr, min_score, leakage_score, leakage_feature_corr
        The ranker's settings.
    max_feature_corr : mapping of str to float
        The leakage sentinel's strongest single feature per target.

    Returns
    -------
    list of str
        Targets of ``running`` to stop, in the order of ``evidence``.
    """
    if top_n is None or not running:
        return []
    names = [t for t in evidence if np.isfinite(evidence[t].skills).any()]
    if len(names) <= top_n:
        return []
    board = [evidence[t] for t in names]
    lower, upper = _score_bounds(board, n_folds)
    threshold = max(0.0, float(min_score)) if min_score is not None else 0.0
    contenders = lower > threshold
    contenders &= upper < leakage_score
    corr = np.array([max_feature_corr.get(t, np.nan) for t in names], dtype=np.float64)
    contenders &= ~(np.isfinite(corr) & (corr >= leakage_feature_corr))
    if fdr is not None:
        always, _ = significance_thresholds(int(n_candidates), float(fdr), method=FDR_METHOD)
        for i in np.flatnonzero(contenders):
            contenders[i] = _pvalue_upper(board[i]) <= always
    if contenders.sum() < top_n:
        return []
    stop = racing_stops(upper, lower, top_n=int(top_n), contenders=contenders)
    live = set(running)
    return [t for t, s in zip(names, stop) if s and t in live]
