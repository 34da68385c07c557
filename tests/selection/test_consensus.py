"""Normalisation, rank aggregation, vote and top-M."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from intelligent_training.selection._consensus import (
    agreement_matrix,
    consensus_select,
    normalise_importance,
    rank_scores,
)


def test_normalise_clips_negatives_and_sums_to_one():
    out = normalise_importance(np.array([[2.0, -1.0, 2.0, np.nan], [0.0, -3.0, 0.0, 0.0]]))
    np.testing.assert_allclose(out[0], [0.5, 0.0, 0.5, 0.0])
    np.testing.assert_allclose(out[1], 0.0)  # nothing positive: all zero, no NaN


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 7), elements=st.floats(-10, 10, allow_nan=False)))
def test_normalise_invariants(values):
    out = normalise_importance(values)
    assert (out >= 0).all()
    sums = out.sum(axis=1)
    has_positive = (values > 0).any(axis=1)
    np.testing.assert_allclose(sums[has_positive], 1.0)
    np.testing.assert_allclose(sums[~has_positive], 0.0)
    # Order among positive values is kept.
    for row_in, row_out in zip(values, out):
        pos = row_in > 0
        assert (
            np.argsort(row_in[pos], kind="stable") == np.argsort(row_out[pos], kind="stable")
        ).all()


def test_rank_scores_best_is_one_and_ties_share():
    scores = rank_scores(np.array([[3.0, 1.0, 1.0, 0.0]]))
    np.testing.assert_allclose(scores, [[1.0, 0.5, 0.5, 0.0]])
    np.testing.assert_allclose(rank_scores(np.array([5.0])), [1.0])


def test_vote_requires_enough_families():
    # Family 0 likes features 0 and 1, family 1 likes 0 and 3: only 0 has two votes.
    imp = np.array([[0.6, 0.3, 0.1, 0.0], [0.5, 0.0, 0.1, 0.4]])
    res = consensus_select(imp, np.arange(4), top_m=2, require_min_models=2)
    assert res.selected.tolist() == [True, False, False, False]
    assert res.cluster_votes.tolist() == [2, 1, 0, 1]
    res1 = consensus_select(imp, np.arange(4), top_m=2, require_min_models=1)
    assert res1.selected.sum() == 2 and res1.selected[0]


def test_zero_importance_never_votes():
    imp = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    res = consensus_select(imp, np.arange(3), top_m=3, require_min_models=1)
    assert res.selected.tolist() == [True, False, False]


def test_cluster_sum_lets_split_signal_beat_single_copy():
    # Features 0 and 1 are near-copies sharing a strong signal; 2 is weaker but
    # distinct; 3 is noise. Ranked alone, 0 and 1 each look weaker than 2.
    imp = np.array([[0.3, 0.3, 0.35, 0.05], [0.32, 0.28, 0.36, 0.04]])
    clusters = np.array([0, 0, 1, 2])
    res = consensus_select(imp, clusters, top_m=2, require_min_models=2)
    assert res.selected.tolist() == [True, False, True, False]  # one copy + the distinct one
    assert res.representatives[0] == 0  # the copy with the better consensus
    np.testing.assert_allclose(res.cluster_scores, [1.0, 0.5, 0.0])


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, (3, 9), elements=st.floats(0, 1, allow_nan=False)),
    st.lists(st.integers(0, 3), min_size=9, max_size=9),
    st.integers(1, 9),
    st.integers(1, 3),
)
def test_selection_invariants(imp, labels, top_m, require):
    # Relabel clusters to 0..k-1 as correlation_clusters does.
    _, clusters = np.unique(labels, return_inverse=True)
    res = consensus_select(imp, clusters, top_m=top_m, require_min_models=require)
    chosen = np.flatnonzero(res.selected)
    assert chosen.size <= top_m
    assert len(set(clusters[chosen])) == chosen.size  # at most one feature per cluster
    assert (res.cluster_votes[clusters[chosen]] >= require).all()
    assert ((res.feature_scores >= 0) & (res.feature_scores <= 1)).all()


def test_agreement_matrix_shape_symmetry_and_values():
    imp = np.array([[0.5, 0.3, 0.2], [0.4, 0.35, 0.25], [0.2, 0.3, 0.5]])
    agree = agreement_matrix(imp, ["a", "b", "c"])
    assert agree.shape == (3, 3)
    assert list(agree.index) == ["a", "b", "c"] == list(agree.columns)
    np.testing.assert_allclose(np.diag(agree), 1.0)
    np.testing.assert_allclose(agree.to_numpy(), agree.to_numpy().T)
    assert agree.loc["a", "b"] == pytest.approx(1.0)
    assert agree.loc["a", "c"] == pytest.approx(-1.0)
