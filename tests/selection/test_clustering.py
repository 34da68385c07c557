"""Correlation clustering of redundant features."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from intelligent_training.selection._clustering import correlation_clusters, spearman_abs_corr


def test_spearman_matches_scipy():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 5))
    X[:, 1] = X[:, 0] ** 3 + 0.1 * rng.standard_normal(300)  # monotone, nonlinear
    X[:, 2] = -X[:, 3]
    ours = spearman_abs_corr(X)
    expected = np.abs(spearmanr(X).statistic)
    np.testing.assert_allclose(ours, expected, atol=1e-10)


def test_spearman_row_sample_is_bounded_and_constant_columns_are_zero():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((2000, 3))
    X[:, 2] = 1.0
    corr = spearman_abs_corr(X, max_rows=200, random_state=np.random.RandomState(0))
    assert corr.shape == (3, 3)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    assert corr[2, 0] == 0.0 and corr[0, 2] == 0.0
    assert corr[0, 1] < 0.3


def test_clusters_group_copies_and_keep_distinct_features_apart():
    rng = np.random.RandomState(0)
    a, b = rng.standard_normal((2, 500))
    X = np.column_stack([a, b, a + 0.05 * rng.standard_normal(500), -a, rng.standard_normal(500)])
    labels = correlation_clusters(spearman_abs_corr(X), 0.9)
    assert labels.tolist() == [0, 1, 0, 0, 2]


def test_complete_linkage_does_not_chain():
    # 0~1 and 1~2 are above the threshold, 0~2 is not: no cluster may hold 0 and 2.
    corr = np.array([[1.0, 0.95, 0.85], [0.95, 1.0, 0.95], [0.85, 0.95, 1.0]])
    labels = correlation_clusters(corr, 0.9)
    assert labels[0] != labels[2]


@pytest.mark.parametrize("threshold", [None, 0.9])
def test_singletons_when_disabled_or_single_feature(threshold):
    if threshold is None:
        corr = np.ones((3, 3))
        assert correlation_clusters(corr, None).tolist() == [0, 1, 2]
    else:
        assert correlation_clusters(np.ones((1, 1)), threshold).tolist() == [0]
