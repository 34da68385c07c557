"""Consensus across model families: normalisation, rank aggregation, vote, top-M.

Every family measures importance on its own scale (gain, split counts, |coef|, loss
increase, |SHAP|). The steps below make them comparable and combine them:

1. **normalise** each importance vector: negative values (a permuted feature that
   happened to *help*) count as 0, then divide by the sum of the positive values;
2. **rank aggregation** (Borda): each family ranks the candidates, ranks become scores
   in ``[0, 1]`` (1 = best, ties share their mean rank), and the consensus score is the
   mean score over families;
3. **vote**: a candidate is eligible only if at least ``require_min_models`` families
   put it in their own top set (their ``top_m`` best candidates with positive
   importance);
4. **top-M**: the eligible candidates with the best consensus score.

Candidates are clusters of correlated features (see :mod:`._clustering`); a
cluster's importance for a family is the sum over its members, because tree models
split the importance of a signal between its near-copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

__all__ = [
    "ConsensusResult",
    "agreement_matrix",
    "consensus_select",
    "normalise_importance",
    "rank_scores",
]


def normalise_importance(values: np.ndarray) -> np.ndarray:
    """Clip negatives to 0 and scale the last axis to sum to 1.

    Parameters
    ----------
    values : ndarray of shape (..., n_features)
        Raw importances; NaN counts as 0.

    Returns
    -------
    ndarray of the same shape
        Non-negative, summing to 1 along the last axis (all zeros where nothing was
        positive).

    Examples
    --------
    >>> normalise_importance(np.array([3.0, -1.0, 1.0])).tolist()
    [0.75, 0.0, 0.25]
    """
    positive = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0), 0.0, None)
    total = positive.sum(axis=-1, keepdims=True)
    return np.divide(positive, total, out=np.zeros_like(positive), where=total > 0)


def rank_scores(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis mapped to ``[0, 1]``: the largest value scores 1.

    Ties share their mean rank; a single candidate scores 1.

    Examples
    --------
    >>> rank_scores(np.array([0.5, 0.1, 0.1, 0.9])).tolist()
    [0.6666666666666666, 0.16666666666666666, 0.16666666666666666, 1.0]
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[-1]
    if n <= 1:
        return np.ones_like(values)
    ranks = rankdata(values, axis=-1, method="average")
    return (ranks - 1.0) / (n - 1.0)


def _top_sets(scores: np.ndarray, top_m: int) -> np.ndarray:
    """Boolean (n_families, n_candidates): each family's ``top_m`` best positive candidates."""
    n_families, n_candidates = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    in_top = np.zeros_like(scores, dtype=bool)
    rows = np.arange(n_families)[:, None]
    in_top[rows, order[:, : min(top_m, n_candidates)]] = True
    return in_top & (scores > 0)


@dataclass(frozen=True)
class ConsensusResult:
    """Outcome of :func:`consensus_select`.

    Attributes
    ----------
    feature_scores : ndarray of shape (n_features,)
        Consensus (mean rank score over families) of every feature on its own.
    cluster_scores : ndarray of shape (n_clusters,)
        Consensus of every cluster (member importances summed per family).
    cluster_votes : ndarray of shape (n_clusters,)
        Number of families that put the cluster in their top set.
    representatives : ndarray of shape (n_clusters,)
        Index of the member kept when the cluster is selected (best feature score).
    selected : ndarray of shape (n_features,)
        Boolean mask of the selected features.
    """

    feature_scores: np.ndarray
    cluster_scores: np.ndarray
    cluster_votes: np.ndarray
    representatives: np.ndarray
    selected: np.ndarray


def consensus_select(
    family_importance: np.ndarray,
    clusters: np.ndarray,
    *,
    top_m: int,
    require_min_models: int,
    relevant: np.ndarray | None = None,
) -> ConsensusResult:
    """Combine per-family importances into a selection.

    Parameters
    ----------
    family_importance : ndarray of shape (n_families, n_features)
        Normalised importance of every feature for every family.
    clusters : ndarray of shape (n_features,)
        Cluster label ``0 .. n_clusters - 1`` of every feature.
    top_m : int
        Number of clusters (hence features) to select at most, and size of each
        family's top set for the vote.
    require_min_models : int
        Votes a cluster needs to be eligible (without ``relevant``).
    relevant : ndarray of bool of shape (n_features,), optional
        Features that passed the relevance test (they beat their shadows in a majority
        of the voting cells, across families): this test *replaces* the top-set vote, a
        cluster is eligible when it has a relevant member, and its representative is its
        best relevant member. ``None``: the top-set vote decides.

    Returns
    -------
    ConsensusResult
        Fewer than ``top_m`` features are selected when fewer clusters are eligible.

    Examples
    --------
    >>> imp = np.array([[0.6, 0.3, 0.1, 0.0], [0.5, 0.0, 0.1, 0.4]])
    >>> res = consensus_select(imp, np.arange(4), top_m=2, require_min_models=2)
    >>> res.selected.tolist()
    [True, False, False, False]
    """
    family_importance = np.asarray(family_importance, dtype=np.float64)
    clusters = np.asarray(clusters)
    n_families, n_features = family_importance.shape
    n_clusters = int(clusters.max()) + 1 if n_features else 0

    feature_scores = rank_scores(family_importance).mean(axis=0)
    mean_importance = family_importance.mean(axis=0)

    # Sum member importances per cluster, for every family at once.
    membership = np.zeros((n_features, n_clusters))
    membership[np.arange(n_features), clusters] = 1.0
    cluster_importance = family_importance @ membership
    cluster_scores = rank_scores(cluster_importance).mean(axis=0)
    votes = _top_sets(cluster_importance, top_m).sum(axis=0)

    passed = np.ones(n_features, dtype=bool) if relevant is None else np.asarray(relevant, bool)
    # Representative: a relevant member, best feature score, then mean importance, then
    # first position.
    member_order = np.lexsort((np.arange(n_features), -mean_importance, -feature_scores, ~passed))
    representatives = np.full(n_clusters, -1, dtype=np.intp)
    for feature in member_order[::-1]:
        representatives[clusters[feature]] = feature
    cluster_passed = np.zeros(n_clusters, dtype=bool)
    cluster_passed[clusters[passed]] = True

    if relevant is None:
        eligible = np.flatnonzero(votes >= require_min_models)
    else:
        eligible = np.flatnonzero(cluster_passed)
    cluster_mean = cluster_importance.mean(axis=0)
    ranked = eligible[np.lexsort((eligible, -cluster_mean[eligible], -cluster_scores[eligible]))]
    chosen = ranked[:top_m]
    selected = np.zeros(n_features, dtype=bool)
    selected[representatives[chosen]] = True
    return ConsensusResult(
        feature_scores=feature_scores,
        cluster_scores=cluster_scores,
        cluster_votes=votes,
        representatives=representatives,
        selected=selected,
    )


def agreement_matrix(family_importance: np.ndarray, families: list[str]) -> pd.DataFrame:
    """Spearman rank correlation between the families' importance vectors.

    Parameters
    ----------
    family_importance : ndarray of shape (n_families, n_features)
    families : list of str
        Row/column labels.

    Returns
    -------
    DataFrame of shape (n_families, n_families)
        Symmetric, unit diagonal; NaN where a family's importances are all equal.
    """
    values = np.asarray(family_importance, dtype=np.float64)
    ranks = rankdata(values, axis=1) if values.shape[1] else values
    ranks = ranks - ranks.mean(axis=1, keepdims=True)
    norms = np.sqrt((ranks**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (ranks @ ranks.T) / np.outer(norms, norms)
    corr = np.clip(corr, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    return pd.DataFrame(corr, index=list(families), columns=list(families))
