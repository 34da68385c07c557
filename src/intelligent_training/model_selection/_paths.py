"""Backtest paths: which predictions of a splitter make one complete out-of-fold history.

A walk-forward splitter tests every row at most once: its out-of-fold predictions are one
*path*. A combinatorial splitter (:class:`CombinatorialPurgedSplit`) tests every row
``n_paths`` times, once per path; :meth:`CombinatorialPurgedSplit.get_paths` says which
split's predictions on fold ``g`` belong to path ``p``, :meth:`~CombinatorialPurgedSplit.fold_ids`
which fold each row is in. :func:`backtest_paths` turns both into a lookup every stage uses
to stitch a path from its cells: ``paths.of(split, rows)`` is the path of each test row of
``split``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BacktestPaths", "backtest_paths"]


@dataclass(frozen=True)
class BacktestPaths:
    """The path of every (split, test row) pair.

    Attributes
    ----------
    n_paths : int
        1 for a splitter that tests each row once (walk-forward).
    path_of : ndarray of shape (n_splits, n_folds) or None
        ``path_of[s, g]``: the path that split ``s``'s predictions on fold ``g`` belong to
        (-1 where ``s`` does not test ``g``); ``None`` with a single path.
    fold_of_row : ndarray of shape (n_rows,) or None
        The fold of every row (``None`` with a single path).
    """

    n_paths: int = 1
    path_of: np.ndarray | None = None
    fold_of_row: np.ndarray | None = None

    def of(self, split: int, rows: np.ndarray) -> np.ndarray:
        """Path of each of ``rows``, test rows of split ``split`` (all 0 with one path)."""
        if self.path_of is None or self.fold_of_row is None:
            return np.zeros(len(rows), dtype=np.intp)
        return self.path_of[int(split), self.fold_of_row[rows]].astype(np.intp)

    def fold_of(self, rows: np.ndarray) -> np.ndarray | None:
        """The splitter's fold of each of ``rows`` (``None`` with one path)."""
        return None if self.fold_of_row is None else self.fold_of_row[rows]


def backtest_paths(cv: Any, X: Any = None, *, groups: Any = None) -> BacktestPaths:
    """The paths of ``cv`` on the rows of ``X`` (timestamps from ``groups`` or ``X``).

    Parameters
    ----------
    cv : splitter
        A splitter with ``get_paths`` and ``fold_ids`` (combinatorial) has
        ``get_n_paths()`` paths; any other splitter has one.
    X : array-like, optional
        The rows (only their number and timestamps are used).
    groups : array-like of shape (n_rows,), optional
        Timestamp (or bar number) of each row.

    Returns
    -------
    BacktestPaths

    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training.model_selection import CombinatorialPurgedSplit
    >>> cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=2)
    >>> paths = backtest_paths(cv, groups=np.arange(8))
    >>> paths.n_paths, paths.of(0, np.array([0, 1, 2, 3])).tolist()  # split 0 tests folds 0, 1
    (3, [0, 0, 0, 0])
    >>> paths.of(3, np.array([2, 3, 4, 5])).tolist()  # split 3 tests folds 1 and 2
    [1, 1, 1, 1]
    """
    if not (hasattr(cv, "get_paths") and hasattr(cv, "fold_ids")):
        return BacktestPaths()
    table = np.asarray(cv.get_paths(), dtype=np.int64)  # (n_paths, n_folds) -> split
    n_paths, n_folds = table.shape
    n_splits = int(cv.get_n_splits())
    path_of = np.full((n_splits, n_folds), -1, dtype=np.int64)
    for p in range(n_paths):
        path_of[table[p], np.arange(n_folds)] = p
    if X is None:
        X = np.empty((len(np.asarray(groups)), 0))
    fold_of_row = np.asarray(cv.fold_ids(X, None, groups), dtype=np.int64)
    return BacktestPaths(n_paths=n_paths, path_of=path_of, fold_of_row=fold_of_row)
