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

__all__ = [
    "ensemble_scores",
    "estimator_scores",
    "scores_to_column",
    "scores_to_labels",
    "unit_scores",
]


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
    from intelligent_training.evaluation import aligned_scores

    return aligned_scores(estimator, X, task, classes)


def unit_scores(
    estimator: Any, X: Any, task: str, classes: np.ndarray | None, *, n_joint: int = 0
) -> list[np.ndarray]:
    """Score matrices of a fitted unit: one, or one per target of a multi-task model."""
    if not n_joint:
        return [estimator_scores(estimator, X, task, classes)]
    predict = getattr(estimator, "predict_scores", estimator.predict)
    raw = np.asarray(predict(X), dtype=np.float64)
    raw = raw.reshape(raw.shape[0], -1)
    return [raw[:, j : j + 1] for j in range(raw.shape[1])]


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
