"""Correlation clustering of redundant features.

Highly correlated features carry (almost) the same information. Tree models split
their importance between the copies and may pick either copy from one fold to the
next, so ranked one by one, two copies of a strong signal can crowd a distinct,
weaker signal out of the top-M -- or both fall below it. Clustering the features by
absolute Spearman correlation lets the selector rank *clusters* and keep one member
of each.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from scipy.stats import rankdata

__all__ = ["correlation_clusters", "spearman_abs_corr"]


def spearman_abs_corr(
    X: np.ndarray,
    *,
    max_rows: int = 5000,
    random_state: np.random.RandomState | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Absolute Spearman correlation between the columns of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Feature matrix; NaN (missing) values are ranked as the column median, so a
        sparsely missing feature still clusters with its copies.
    max_rows : int, default=5000
        Rows used at most; a random subset (without replacement) is drawn when
        ``X`` has more, so the cost stays ``O(max_rows * n_features**2)``.
    random_state : RandomState or None
        Source of randomness for the row subset.
    rows : ndarray of int, optional
        Use only these rows (e.g. those with a known target); ``None`` uses all.

    Returns
    -------
    ndarray of shape (n_features, n_features)
        ``|rho|`` with a unit diagonal; constant columns correlate 0 with the others.
    """
    candidates = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
    if len(candidates) > max_rows:
        rng = random_state if random_state is not None else np.random.RandomState(0)
        candidates = np.sort(rng.choice(candidates, size=max_rows, replace=False))
    if rows is not None or len(candidates) < X.shape[0]:
        X = X[candidates]
    missing = np.isnan(X)
    if missing.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            medians = np.nan_to_num(np.nanmedian(X, axis=0))
        X = np.where(missing, medians, X)
    ranks = rankdata(X, axis=0).astype(np.float64)
    ranks -= ranks.mean(axis=0)
    norms = np.sqrt((ranks**2).sum(axis=0))
    constant = norms == 0
    norms[constant] = 1.0
    ranks /= norms
    corr = np.abs(ranks.T @ ranks)
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, 0.0, 1.0)


def correlation_clusters(abs_corr: np.ndarray, threshold: float | None) -> np.ndarray:
    """Group features whose absolute correlation is at least ``threshold``.

    Complete-linkage agglomerative clustering on the distance ``1 - |rho|`` cut at
    ``1 - threshold``: every pair of features inside a cluster correlates at least
    ``threshold`` in absolute value, so a cluster never chains unrelated features
    together through intermediate ones.

    Parameters
    ----------
    abs_corr : ndarray of shape (n_features, n_features)
        Absolute correlation matrix, e.g. from :func:`spearman_abs_corr`.
    threshold : float in (0, 1] or None
        ``None`` puts every feature in its own cluster.

    Returns
    -------
    ndarray of shape (n_features,)
        Integer cluster label per feature, ``0 .. n_clusters - 1``, numbered in order
        of each cluster's first feature.

    Examples
    --------
    >>> import numpy as np
    >>> corr = np.array([[1.0, 0.95, 0.1], [0.95, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> correlation_clusters(corr, 0.9).tolist()
    [0, 0, 1]
    """
    n_features = abs_corr.shape[0]
    if threshold is None or n_features < 2:
        return np.arange(n_features)
    distance = 1.0 - np.asarray(abs_corr, dtype=np.float64)
    distance = (distance + distance.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    distance = np.clip(distance, 0.0, 1.0)
    tree = linkage(squareform(distance, checks=False), method="complete")
    # fcluster keeps merges with height <= t; a tiny slack admits |rho| == threshold.
    raw = fcluster(tree, t=1.0 - threshold + 1e-12, criterion="distance")
    _, first = np.unique(raw, return_index=True)
    order = np.argsort(first)
    relabel = np.empty(order.size, dtype=np.intp)
    relabel[order] = np.arange(order.size)
    _, inverse = np.unique(raw, return_inverse=True)
    return relabel[inverse]
