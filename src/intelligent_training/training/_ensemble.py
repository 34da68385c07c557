"""Scores of fitted family estimators and their ensemble.

Every fitted estimator is reduced to a *score matrix* of shape ``(n_rows, k)``:

- ``regression``: ``k = 1``, the prediction;
- ``binary``: ``k = 1``, the probability of the positive (larger) class;
- ``multiclass``: ``k = n_classes``, the class probabilities in the order of the
  target's sorted classes (a model that never saw a class gives it probability 0).

The ensemble of a target is the mean of its families' score matrices, so a binary
ensemble averages probabilities, never hard labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ensemble_scores", "estimator_scores", "scores_to_column", "scores_to_labels"]


def _aligned_proba(estimator: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """``predict_proba`` of ``estimator`` with columns aligned to ``classes``."""
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    est_classes = np.asarray(getattr(estimator, "classes_", classes))
    if len(est_classes) == len(classes) and np.array_equal(est_classes, classes):
        return proba
    out = np.zeros((proba.shape[0], len(classes)), dtype=np.float64)
    positions = np.searchsorted(classes, est_classes)
    out[:, positions] = proba[:, : len(est_classes)]
    return out


def estimator_scores(
    estimator: Any, X: Any, task: str, classes: np.ndarray | None = None
) -> np.ndarray:
    """Score matrix of one single-target estimator (see the module docstring).

    Parameters
    ----------
    estimator : fitted estimator
        A regressor, or a classifier with ``predict_proba`` and ``classes_``.
    X : DataFrame or ndarray
        Rows to score.
    task : {"regression", "binary", "multiclass"}
    classes : ndarray, optional
        The target's sorted class labels (classification only).

    Returns
    -------
    ndarray of shape (n_rows, k)
    """
    if task == "regression":
        pred = np.asarray(estimator.predict(X), dtype=np.float64)
        return pred.reshape(len(pred), -1)[:, :1]
    assert classes is not None
    proba = _aligned_proba(estimator, X, classes)
    if task == "binary":
        return proba[:, 1:2]
    return proba


def ensemble_scores(scores: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of several score matrices of the same shape (NaN-aware).

    A row that every model scores as NaN stays NaN; otherwise NaN members are ignored.
    """
    stacked = np.stack([np.asarray(s, dtype=np.float64) for s in scores])
    valid = np.isfinite(stacked)
    count = valid.sum(axis=0)
    total = np.where(valid, stacked, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def scores_to_labels(scores: np.ndarray, task: str, classes: np.ndarray) -> np.ndarray:
    """Class labels from a classification score matrix (most probable class)."""
    if task == "binary":
        return classes[(scores[:, 0] > 0.5).astype(np.intp)]
    return classes[np.argmax(scores, axis=1)]


def scores_to_column(scores: np.ndarray, task: str, classes: np.ndarray | None) -> np.ndarray:
    """One value per row: the prediction, P(positive class) or the predicted label.

    Multiclass rows whose probabilities are all NaN give NaN.
    """
    if task in ("regression", "binary"):
        return scores[:, 0].astype(np.float64)
    assert classes is not None
    missing = ~np.isfinite(scores).all(axis=1)
    labels = scores_to_labels(np.nan_to_num(scores, nan=0.0), task, classes)
    if not missing.any():
        return labels
    out = labels.astype(object)
    out[missing] = np.nan
    return out
