"""Which features are *relevant*: they beat autocorrelation-preserving shadows.

With ``relevance="shadow"`` the selector appends one shadow per feature to the matrix
every cell fits on (:func:`~intelligent_training.stats.shadow_features`: the feature
circularly shifted in time within each symbol, so it keeps its distribution and its
autocorrelation but no longer lines up with the target). The shadows go through the same
cells as the real features: same families, same folds, same importance methods.

In every (family, fold) cell the importances of the real features and of the shadows are
normalised together per method (and per symbol group), averaged over the methods, and a
feature *wins* the cell when its importance is above the best shadow's
(:func:`~intelligent_training.stats.shadow_wins`). A feature is relevant when it wins a
strict majority of the cells that vote.

**Who votes.** A family whose model has no out-of-sample skill on a fold (the
correlation-equivalent skill of its test predictions,
:func:`~intelligent_training.metrics.skill_score`, is <= 0) has learnt nothing there: its
importances rank noise, so that cell does not vote. A feature only the non-linear families
can use is then judged by those families alone, instead of being outvoted by a linear
model that cannot see it. The same rule picks the families of the consensus vote: a
family votes there when its mean fold skill is > 0.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from intelligent_training.evaluation import Cell, CellResult, EvalData
from intelligent_training.metrics import classification_metrics, regression_metrics, skill_score
from intelligent_training.selection._consensus import normalise_importance
from intelligent_training.selection._shadow_matrix import ShadowedMatrix
from intelligent_training.stats import shadow_shifts, shadow_wins

__all__ = [
    "SHADOW_PREFIX",
    "Relevance",
    "fold_skills",
    "log_relevance",
    "real_results",
    "relevance",
    "with_shadows",
]

# The log records keep the name they had when this was a FeatureSelector method.
logger = logging.getLogger("intelligent_training.selection._selector")

SHADOW_PREFIX = "shadow_"


def with_shadows(data: EvalData, seed: int | None) -> EvalData:
    """``data`` with one shadow column per feature appended, as a :class:`ShadowedMatrix`
    (``[X | shadows]`` gathered for the rows a cell reads, never stored).

    The shadows are drawn from the rows where the (one) target is labelled: the other
    rows are in no fold, so their feature values must not leak into a shadow (their own
    shadow values are NaN). The shift of every (symbol, feature) is drawn from ``seed``
    (:func:`~intelligent_training.stats.shadow_shifts`, the draws of
    :func:`~intelligent_training.stats.shadow_features`); with a panel index the features
    are shifted within each symbol in time order, else the rows are one series.
    """
    labelled = np.ones(data.n_rows, dtype=bool)
    for spec in data.targets.values():
        labelled &= np.isfinite(spec.labels)
    symbols = None
    if isinstance(data.index, pd.MultiIndex) and "symbol" in data.index.names:
        symbols = pd.factorize(data.index.get_level_values("symbol"))[0]
        counts = np.bincount(symbols[labelled], minlength=symbols.max() + 1)
        labelled &= counts[symbols] >= 2  # a shift needs two rows of the symbol
    elif labelled.sum() < 2:
        labelled[:] = False
    rows = np.flatnonzero(labelled)
    n_real = data.X.shape[1]
    layout = pd.DataFrame(index=data.index[rows]) if data.index is not None else None
    shifts = shadow_shifts(layout, len(rows), n_real, random_state=seed)
    return EvalData(
        X=ShadowedMatrix(data.X, rows, shifts),  # type: ignore[arg-type]
        columns=[*data.columns, *(f"{SHADOW_PREFIX}{c}" for c in data.columns)],
        index=data.index,
        targets=data.targets,
        groups=data.groups,
        n_groups=data.n_groups,
    )


def real_results(
    results: Sequence[tuple[Cell, CellResult]], n_real: int
) -> list[tuple[Cell, CellResult]]:
    """The cells' results with the shadow columns cut off their importances."""
    out = []
    for cell, result in results:
        if result.importances:
            cut = {m: np.asarray(v)[..., :n_real] for m, v in result.importances.items()}
            result = replace(result, importances=cut)
        out.append((cell, result))
    return out


def fold_skills(results: Sequence[tuple[Cell, CellResult]], data: EvalData) -> pd.DataFrame:
    """The out-of-sample skill of every (family, fold) cell (NaN where it failed).

    Returns
    -------
    DataFrame
        Index ``family``, one column per fold.
    """
    rows = []
    for cell, result in results:
        skill = np.nan
        if result.scores is not None and len(cell.test) >= 2:
            spec = data.targets[cell.target]
            y = spec.labels[cell.test]
            pred = result.scores[:, 0] if result.scores.shape[1] == 1 else result.scores
            if spec.task == "regression":
                metrics = regression_metrics(y, pred, None, horizon_bars=spec.horizon_bars)
            else:
                metrics = classification_metrics(
                    y, pred, classes=list(range(max(spec.n_classes, 2)))
                )
            skill = skill_score(spec.task, metrics)
        rows.append({"family": cell.family, "fold": cell.fold, "skill": skill})
    if not rows:
        return pd.DataFrame(index=pd.Index([], name="family"))
    table = pd.DataFrame(rows).pivot_table(
        index="family", columns="fold", values="skill", aggfunc="first", dropna=False
    )
    table.columns.name = "fold"
    return table


def _cell_importance(result: CellResult, methods: Sequence[str]) -> np.ndarray | None:
    """Importances of one cell over real + shadow columns: normalised together per method
    and symbol group, averaged over the groups and then over the methods."""
    per_method = []
    for method in methods:
        raw = result.importances.get(method)
        if raw is None:
            continue
        raw = np.asarray(raw, dtype=np.float64)
        raw = raw.reshape(-1, raw.shape[-1])
        values = normalise_importance(raw)
        values[np.isnan(raw).all(axis=-1)] = np.nan  # a symbol absent from the fold
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            per_method.append(np.nanmean(values, axis=0))
    if not per_method:
        return None
    return np.mean(per_method, axis=0)  # type: ignore[no-any-return]


@dataclass
class Relevance:
    """The shadow test of one selection.

    Attributes
    ----------
    table : DataFrame
        One row per feature: ``shadow_wins``, ``n_votes``, ``shadow_win_share``,
        ``relevant``.
    voting_cells : DataFrame
        One row per (family, fold) cell: ``skill`` and whether it ``votes``.
    """

    table: pd.DataFrame
    voting_cells: pd.DataFrame


def relevance(
    results: Sequence[tuple[Cell, CellResult]],
    families: Sequence[str],
    methods: Sequence[str],
    skills: pd.DataFrame,
    names: Sequence[str],
) -> Relevance:
    """The shadow tally of every feature over the cells of the ``families`` that succeeded.

    Parameters
    ----------
    results : sequence of (Cell, CellResult)
        Cells fitted on real + shadow columns (importances over both).
    families : sequence of str
        Families whose cells count.
    methods : sequence of str
        Importance methods.
    skills : DataFrame
        :func:`fold_skills` of the same cells.
    names : sequence of str
        The real features' names.
    """
    n_real = len(names)
    real, shadow, votes, cells = [], [], [], []
    used = set(families)
    skill_of = {(f, c): float(v) for f, row in skills.iterrows() for c, v in row.items()}
    for cell, result in results:
        if cell.family not in used or not result.ok:
            continue
        values = _cell_importance(result, methods)
        if values is None:
            continue
        skill = skill_of.get((cell.family, cell.fold), np.nan)
        real.append(values[:n_real])
        shadow.append(values[n_real:])
        votes.append(bool(np.isfinite(skill) and skill > 0))
        cells.append({"family": cell.family, "fold": cell.fold, "skill": skill, "votes": votes[-1]})
    if not real:
        table = pd.DataFrame(
            {
                "shadow_wins": np.zeros(n_real, np.int64),
                "n_votes": np.zeros(n_real, np.int64),
                "shadow_win_share": np.full(n_real, np.nan),
                "relevant": np.zeros(n_real, bool),
            },
            index=pd.Index(list(names), name="feature"),
        )
    else:
        table = shadow_wins(
            pd.DataFrame(np.vstack(real), columns=list(names)),
            np.vstack(shadow),
            voting=np.asarray(votes),
        )
    return Relevance(table=table, voting_cells=pd.DataFrame(cells))


def log_relevance(
    selected: list[str],
    relevant: np.ndarray | None,
    voters: list[str],
    families: list[str],
    top_m: int,
) -> None:
    """Log who voted and how many features were relevant and selected.

    A warning when no family of ``families`` votes (nothing is relevant), else an info
    line, which says so when fewer than ``top_m`` features were selected.
    """
    assert relevant is not None
    silent = [f for f in families if f not in voters]
    if not voters:
        logger.warning(
            "FeatureSelector: no family has out-of-sample skill on this target (mean fold "
            "skill <= 0 for %s): no feature is relevant, nothing selected.",
            families,
        )
        return
    if silent:
        logger.info(
            "FeatureSelector: %s do not learn the target (mean fold skill <= 0) and do not vote.",
            silent,
        )
    n_relevant = int(relevant.sum())
    message = (
        "FeatureSelector: %d of %d features are relevant (beat every shadow in a majority "
        "of the voting folds x families); selected %d (top_m=%d)."
    )
    args = (n_relevant, len(relevant), len(selected), int(top_m))
    if len(selected) < top_m:
        # Fewer clusters than relevant features when relevant features are near-copies.
        logger.info(message + " Fewer than top_m: no other feature (cluster) is relevant.", *args)
    else:
        logger.info(message, *args)
