"""Out-of-sample importance of one fitted fold model: native, permutation and SHAP.

Every function returns raw (not yet normalised) importances of shape
``(n_groups, n_features)``: one row per symbol when importance is aggregated across
symbols, a single row otherwise. Rows of a group that has no sampled test rows are NaN.

* **native** -- the model's own importance (LightGBM total gain, XGBoost gain,
  impurity decrease of forests, ``|coef|`` of standardised linear models); it comes
  from the fold model, so it is the same for every group.
* **permutation** -- increase of the test loss (squared error; log-loss for
  classifiers) when one feature's test values are shuffled, averaged over
  ``n_repeats`` shuffles. Shuffles stay inside a group. The permuted copies of the
  test set are stacked into blocks and predicted in one call per block (vectorised),
  and the per-row losses are summed per group with one matrix product.
* **shap** -- mean ``|SHAP value|`` on at most ``shap_sample_size`` test rows:
  ``shap.TreeExplainer`` for tree models, otherwise the model-agnostic
  ``shap.explainers.Permutation`` over a small background sample of the test fold.
  ``shap`` is imported here, never at package import.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "fold_losses",
    "native_importance",
    "permutation_importance",
    "shap_importance",
]

logger = logging.getLogger(__name__)

_EPS = 1e-12
# Cells (rows x features) of the stacked permuted copies predicted in one call.
_BLOCK_CELLS = 4_000_000
# Background rows of the model-agnostic SHAP explainer.
_SHAP_BACKGROUND = 50


def native_importance(estimator: Any, n_features: int) -> np.ndarray | None:
    """The fitted model's own importance, or ``None`` when it has none.

    LightGBM models report total gain (their ``feature_importances_`` defaults to
    split counts, which over-rate noisy features that are split often for little gain).
    """
    values: Any = None
    booster = getattr(estimator, "booster_", None)
    if booster is not None and hasattr(booster, "feature_importance"):
        values = booster.feature_importance(importance_type="gain")
    else:
        try:
            values = estimator.feature_importances_
        except (AttributeError, ValueError, TypeError):
            return None
    values = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if values.shape != (n_features,):
        return None
    return values[None, :]


def _group_matrix(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """One-hot (n_rows, n_groups) matrix and the row count of every group."""
    onehot = np.zeros((groups.size, n_groups))
    onehot[np.arange(groups.size), groups] = 1.0
    return onehot, onehot.sum(axis=0)


def _loss_function(task: str, classes: np.ndarray | None, y: np.ndarray) -> Callable[..., Any]:
    """Per-row loss of a prediction matrix: squared error or log-loss.

    The returned function maps predictions of shape ``(n_copies, n_rows[, n_classes])``
    to losses of shape ``(n_copies, n_rows)``.
    """
    if task == "regression":
        target = y.astype(np.float64)

        def squared_error(pred: np.ndarray) -> np.ndarray:
            return (pred - target) ** 2

        return squared_error

    # Column of each row's true class in the model's predict_proba output; a class the
    # fold model never saw has probability 0 whatever the features are.
    assert classes is not None
    lookup = {int(c): i for i, c in enumerate(classes)}
    column = np.array([lookup.get(int(label), -1) for label in y], dtype=np.intp)
    seen = column >= 0
    safe_column = np.where(seen, column, 0)
    rows = np.arange(y.size)

    def log_loss(proba: np.ndarray) -> np.ndarray:
        p_true = np.where(seen, proba[:, rows, safe_column], 0.0)
        return -np.log(np.clip(p_true, _EPS, 1.0))

    return log_loss


def _predictor(estimator: Any, task: str) -> Callable[[Any], np.ndarray]:
    if task == "regression":
        return lambda X: np.asarray(estimator.predict(X), dtype=np.float64).ravel()
    return lambda X: np.asarray(estimator.predict_proba(X), dtype=np.float64)


def fold_losses(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    to_input: Callable[[np.ndarray], Any] | None = None,
) -> float:
    """Mean test loss of the fold model (squared error or log-loss)."""
    predict = _predictor(estimator, task)
    loss = _loss_function(task, getattr(estimator, "classes_", None), y)
    pred = predict(to_input(X) if to_input is not None else X)
    return float(loss(pred[None, ...]).mean())


def _within_group_permutation(groups: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """A random permutation of row positions that maps every row into its own group."""
    by_group = np.argsort(groups, kind="stable")
    shuffled = np.lexsort((rng.random_sample(groups.size), groups))
    perm = np.empty(groups.size, dtype=np.intp)
    perm[by_group] = shuffled
    return perm


def permutation_importance(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    groups: np.ndarray,
    n_groups: int,
    n_repeats: int,
    rng: np.random.RandomState,
    to_input: Callable[[np.ndarray], Any] | None = None,
) -> np.ndarray:
    """Increase of the per-group mean test loss when a feature is shuffled.

    Parameters
    ----------
    estimator : fitted estimator
        Regressor (``predict``) or classifier (``predict_proba``, ``classes_``).
    X : ndarray of shape (n_rows, n_features)
        Test rows of the fold.
    y : ndarray of shape (n_rows,)
        Test target (class codes for classifiers).
    task : {"regression", "binary", "multiclass"}
    groups : ndarray of shape (n_rows,)
        Group code ``0 .. n_groups - 1`` of every row; shuffles stay inside a group.
    n_groups : int
    n_repeats : int
        Shuffles per feature.
    rng : RandomState
    to_input : callable, optional
        Turns an array into the model's input (e.g. a DataFrame with the panel index
        for sequence families). When given, copies are predicted one at a time because
        the row index of stacked copies would not be unique.

    Returns
    -------
    ndarray of shape (n_groups, n_features)
        NaN for groups without rows.
    """
    n_rows, n_features = X.shape
    predict = _predictor(estimator, task)
    loss = _loss_function(task, getattr(estimator, "classes_", None), y)
    onehot, counts = _group_matrix(groups, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_counts = np.where(counts > 0, 1.0 / counts, np.nan)

    def predict_stack(stack: np.ndarray) -> np.ndarray:
        n_copies = stack.shape[0]
        flat = stack.reshape(n_copies * n_rows, n_features)
        if to_input is not None:
            flat = to_input(flat)
        pred = predict(flat)
        return pred.reshape(n_copies, n_rows, *pred.shape[1:])

    base = loss(predict_stack(X[None, ...])) @ onehot * inv_counts  # (1, n_groups)

    jobs = [(j, r) for j in range(n_features) for r in range(n_repeats)]
    perms = [_within_group_permutation(groups, rng) for _ in jobs]
    per_block = 1 if to_input is not None else max(1, _BLOCK_CELLS // max(1, n_rows * n_features))
    increase = np.zeros((n_groups, n_features))
    for start in range(0, len(jobs), per_block):
        block = jobs[start : start + per_block]
        stack = np.repeat(X[None, ...], len(block), axis=0)
        for k, (j, _) in enumerate(block):
            stack[k, :, j] = X[perms[start + k], j]
        group_loss = loss(predict_stack(stack)) @ onehot * inv_counts  # (copies, groups)
        for k, (j, _) in enumerate(block):
            increase[:, j] += group_loss[k] - base[0]
    return increase / n_repeats


def _tree_explainer(shap: Any, estimator: Any) -> Any:
    """``shap.TreeExplainer`` of the estimator or of the tree model it wraps, else None."""
    candidates = [estimator]
    for attr in ("estimator_", "model_", "booster_", "regressor_", "classifier_"):
        inner = getattr(estimator, attr, None)
        if inner is not None:
            candidates.append(inner)
    for candidate in candidates:
        try:
            return shap.TreeExplainer(candidate)
        except Exception:  # shap raises many types for unsupported models
            continue
    return None


def _mean_abs_per_group(
    values: Any, groups: np.ndarray, n_groups: int, n_features: int
) -> np.ndarray:
    """Mean |SHAP| per group from a (rows, features[, outputs]) array or list of them."""
    if isinstance(values, list):
        values = np.stack([np.asarray(v) for v in values], axis=-1)
    values = np.abs(np.asarray(values, dtype=np.float64))
    if values.ndim == 3:
        # (rows, features, outputs) -- outputs are classes; average them.
        if values.shape[1] != n_features and values.shape[2] == n_features:
            values = values.transpose(0, 2, 1)
        values = values.mean(axis=2)
    onehot, counts = _group_matrix(groups, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (onehot.T @ values) / counts[:, None]


def shap_importance(
    estimator: Any,
    X: np.ndarray,
    *,
    task: str,
    tree: bool,
    groups: np.ndarray,
    n_groups: int,
    sample_size: int,
    rng: np.random.RandomState,
) -> np.ndarray:
    """Mean absolute SHAP value per group on a bounded sample of the test rows.

    Parameters
    ----------
    estimator : fitted estimator
    X : ndarray of shape (n_rows, n_features)
        Test rows of the fold.
    task : {"regression", "binary", "multiclass"}
    tree : bool
        Try ``shap.TreeExplainer`` first (tree families).
    groups : ndarray of shape (n_rows,)
    n_groups : int
    sample_size : int
        Test rows explained at most (a random subset).
    rng : RandomState

    Returns
    -------
    ndarray of shape (n_groups, n_features)
        NaN for groups without explained rows.
    """
    import shap

    n_rows, n_features = X.shape
    rows = np.arange(n_rows)
    if n_rows > sample_size:
        rows = np.sort(rng.choice(n_rows, size=sample_size, replace=False))
    X_explain = X[rows]

    explainer = _tree_explainer(shap, estimator) if tree else None
    if explainer is not None:
        with warnings.catch_warnings():
            # shap announces its (handled) list output for LightGBM binary classifiers.
            warnings.filterwarnings(
                "ignore", message=".*output has changed.*", category=UserWarning
            )
            values = explainer.shap_values(X_explain, check_additivity=False)
    else:
        if tree:
            logger.info(
                "shap.TreeExplainer does not support %s; using the model-agnostic "
                "permutation explainer on %d rows.",
                type(estimator).__name__,
                X_explain.shape[0],
            )
        background_rows = rng.choice(n_rows, size=min(_SHAP_BACKGROUND, n_rows), replace=False)
        masker = shap.maskers.Independent(X[background_rows], max_samples=background_rows.size)
        predict = _predictor(estimator, task)
        agnostic = shap.explainers.Permutation(predict, masker, seed=int(rng.randint(2**31 - 1)))
        explanation = agnostic(X_explain, max_evals=2 * n_features + 1, silent=True)
        values = explanation.values
    return _mean_abs_per_group(values, groups[rows], n_groups, n_features)
