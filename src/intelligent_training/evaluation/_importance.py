"""Out-of-sample importance of one fitted cell model: native, permutation and SHAP.

Every function takes a *model view* (:class:`~intelligent_training.evaluation._model.ModelView`:
``scores(X)`` gives the score matrix, see :mod:`._model`) and returns raw (not yet
normalised) importances of shape ``(n_groups, n_features)``: one row per symbol when
importance is aggregated across symbols, a single row otherwise. Rows of a group that
has no sampled test rows are NaN.

* **native** -- the model's own importance (LightGBM total gain, XGBoost gain,
  impurity decrease of forests, ``|coef|`` of standardised linear models); the same
  for every group.
**Row budget.** SHAP and permutation read at most ``explain_rows`` test rows of a cell:
:func:`explain_sample`, one row drawn in each of ``explain_rows`` equal, consecutive
strata of the test rows (which are in time order), so every part of the test span is
represented; the draw depends on the seed, target and fold only, so every family (and
every shadow column, which sits in the same rows) is explained on the same rows.

* **permutation** -- increase of the test loss (squared error; log-loss for
  classifiers) when one feature's test values are shuffled, averaged over
  ``n_repeats`` shuffles. Shuffles stay inside a group. The permuted copies are
  stacked into blocks and scored in one call per block, and the per-row losses are
  summed per group with one matrix product.
* **shap** -- mean ``|SHAP value|`` on the sampled test rows (the background is the
  same sample), computed
  the way the family's registry entry says (``FamilySpec.explainers["shap"]``): a native
  model's own exact contributions (the boosters' TreeSHAP, LightGBM ``pred_contrib``,
  XGBoost ``pred_contribs``); ``"exact"``/``"tree_shap"``: exact TreeSHAP through
  ``shap.TreeExplainer`` for a registry estimator; a ``"module:function"`` hook of the
  family (the linear closed form, the torch families' expected gradients);
  ``"agnostic"``: shap's model-agnostic permutation explainer over a small background
  sample of the test fold. ``shap`` is imported only when needed, never at package
  import.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

__all__ = [
    "explain_sample",
    "fold_loss",
    "mean_abs_per_group",
    "native_importance",
    "per_row_loss",
    "permutation_importance",
    "shap_importance",
]

logger = logging.getLogger(__name__)

_EPS = 1e-12
# Cells (rows x features) of the stacked permuted copies scored in one call.
_BLOCK_CELLS = 4_000_000
# Background rows of the model-agnostic SHAP explainer.
_SHAP_BACKGROUND = 50


def explain_sample(n_rows: int, budget: int | None, rng: np.random.RandomState) -> np.ndarray:
    """Positions of at most ``budget`` of ``n_rows`` time-ordered rows, stratified in time.

    The rows are cut into ``budget`` equal consecutive strata and one row is drawn in
    each (every row when ``budget`` is None or not below ``n_rows``). Sorted.

    Examples
    --------
    >>> rows = explain_sample(10_000, 100, np.random.RandomState(0))
    >>> len(rows), bool((np.diff(rows) > 0).all()), int(rows[0]) < 100, int(rows[-1]) >= 9_900
    (100, True, True, True)
    """
    if budget is None or n_rows <= budget:
        return np.arange(n_rows)
    edges = np.linspace(0.0, float(n_rows), int(budget) + 1)
    starts = np.ceil(edges[:-1]).astype(np.int64)
    stops = np.maximum(np.ceil(edges[1:]).astype(np.int64), starts + 1)
    return starts + (rng.random_sample(len(starts)) * (stops - starts)).astype(np.int64)


def _view(model: Any, task: str) -> Any:
    from intelligent_training.evaluation._model import as_view

    return as_view(model, task)


def native_importance(model: Any, n_features: int) -> np.ndarray | None:
    """The fitted model's own importance ``(1, n_features)``, or ``None`` when it has none.

    LightGBM models report total gain (their ``feature_importances_`` defaults to split
    counts, which over-rate noisy features that are split often for little gain).
    """
    values: Any = None
    inner = getattr(model, "estimator", model)  # a ModelView wraps its estimator
    if hasattr(inner, "native_importance"):
        values = inner.native_importance()
    elif getattr(inner, "booster_", None) is not None and hasattr(
        inner.booster_, "feature_importance"
    ):
        values = inner.booster_.feature_importance(importance_type="gain")
    else:
        try:
            values = inner.feature_importances_
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


def per_row_loss(scores: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    """Per-row loss of score matrices ``(..., n_rows, k)``: squared error or log-loss.

    ``y`` holds regression values or class codes. A class code beyond the score
    matrix's width (a class the model never saw) has probability 0.
    """
    if task == "regression":
        return (scores[..., 0] - y.astype(np.float64)) ** 2  # type: ignore[no-any-return]
    codes = y.astype(np.intp)
    if task == "binary":
        p_true = np.where(codes == 1, scores[..., 0], 1.0 - scores[..., 0])
    else:
        seen = codes < scores.shape[-1]
        safe = np.where(seen, codes, 0)
        p_true = np.take_along_axis(
            scores, np.broadcast_to(safe[:, None], (*scores.shape[:-1], 1)), axis=-1
        )[..., 0]
        p_true = np.where(seen, p_true, 0.0)
    return -np.log(np.clip(p_true, _EPS, 1.0))  # type: ignore[no-any-return]


def fold_loss(model: Any, X: np.ndarray, y: np.ndarray, *, task: str) -> float:
    """Mean test loss of a fitted model on ``(X, y)`` (squared error or log-loss)."""
    view = _view(model, task)
    return float(per_row_loss(view.scores(X), y, task).mean())


def _within_group_permutation(groups: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """A random permutation of row positions that maps every row into its own group."""
    if groups.size and (groups == groups[0]).all():
        return rng.permutation(groups.size)  # one group: a plain shuffle
    by_group = np.argsort(groups, kind="stable")
    shuffled = np.lexsort((rng.random_sample(groups.size), groups))
    perm = np.empty(groups.size, dtype=np.intp)
    perm[by_group] = shuffled
    return perm


def permutation_importance(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    groups: np.ndarray,
    n_groups: int,
    n_repeats: int,
    rng: np.random.RandomState,
    base_scores: np.ndarray | None = None,
) -> np.ndarray:
    """Increase of the per-group mean test loss when a feature is shuffled.

    Parameters
    ----------
    model : ModelView or fitted estimator
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
    base_scores : ndarray, optional
        The model's scores of ``X`` when the caller has them already.

    Returns
    -------
    ndarray of shape (n_groups, n_features)
        NaN for groups without rows.
    """
    view = _view(model, task)
    n_rows, n_features = X.shape
    onehot, counts = _group_matrix(groups, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_counts = np.where(counts > 0, 1.0 / counts, np.nan)

    def score_stack(stack: np.ndarray) -> np.ndarray:
        n_copies = stack.shape[0]
        if not view.stackable:  # e.g. sequence models: rows must stay unique
            return np.stack([view.scores(copy) for copy in stack])
        pred = view.scores(stack.reshape(n_copies * n_rows, n_features))
        return pred.reshape(n_copies, n_rows, pred.shape[-1])

    base_scores = score_stack(X[None, ...]) if base_scores is None else base_scores[None, ...]
    base = per_row_loss(base_scores, y, task) @ onehot * inv_counts

    jobs = [(j, r) for j in range(n_features) for r in range(n_repeats)]
    perms = [_within_group_permutation(groups, rng) for _ in jobs]
    permuter = view.permuter(X, base_scores[0]) if hasattr(view, "permuter") else None
    if permuter is not None:  # tree boosters: re-walk only the paths a shuffle changes
        increase = np.zeros((n_groups, n_features))
        for (j, _), perm in zip(jobs, perms):
            scores = permuter.scores(j, perm)[None, ...]
            increase[:, j] += (per_row_loss(scores, y, task) @ onehot * inv_counts)[0] - base[0]
        return increase / n_repeats
    per_block = max(1, _BLOCK_CELLS // max(1, n_rows * n_features))
    increase = np.zeros((n_groups, n_features))
    for start in range(0, len(jobs), per_block):
        block = jobs[start : start + per_block]
        stack = np.repeat(X[None, ...], len(block), axis=0)
        for k, (j, _) in enumerate(block):
            stack[k, :, j] = X[perms[start + k], j]
        group_loss = per_row_loss(score_stack(stack), y, task) @ onehot * inv_counts
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


def mean_abs_per_group(
    values: Any, groups: np.ndarray, n_groups: int, n_features: int
) -> np.ndarray:
    """Mean |SHAP| per group from a (rows, features[, outputs]) array or a list of them."""
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
        return (onehot.T @ values) / counts[:, None]  # type: ignore[no-any-return]


def shap_importance(
    model: Any,
    X: np.ndarray,
    *,
    task: str,
    explainer: str = "agnostic",
    groups: np.ndarray,
    n_groups: int,
    sample_size: int | None = None,
    rng: np.random.RandomState,
) -> np.ndarray:
    """Mean absolute SHAP value per group on a bounded sample of the test rows.

    Parameters
    ----------
    model : ModelView or fitted estimator
    X : ndarray of shape (n_rows, n_features)
        Test rows of the fold (also the background of the linear closed form and of
        the model-agnostic explainer).
    task : {"regression", "binary", "multiclass"}
    explainer : str, default="agnostic"
        The family's SHAP explainer (see :data:`~intelligent_training.families._specs.EXPLAINERS`).
    groups : ndarray of shape (n_rows,)
    n_groups : int
    sample_size : int or None, default=None
        Test rows explained at most (a random subset; the engine passes the
        ``explain_rows`` sample already drawn, and None).
    rng : RandomState

    Returns
    -------
    ndarray of shape (n_groups, n_features)
        NaN for groups without explained rows.
    """
    view = _view(model, task)
    n_rows, n_features = X.shape
    rows = np.arange(n_rows)
    if sample_size is not None and n_rows > sample_size:
        rows = np.sort(rng.choice(n_rows, size=sample_size, replace=False))
    X_explain = X[rows]

    from intelligent_training.families._specs import load_hook

    hook = load_hook(explainer) if ":" in explainer else None
    exact = view.contributions(X_explain, background=X, explain=hook, rng=rng)
    if exact is not None:
        return mean_abs_per_group(exact, groups[rows], n_groups, n_features)

    import shap

    tree = explainer in ("exact", "tree_shap")
    explainer = _tree_explainer(shap, view.estimator) if tree else None
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
                type(view.estimator).__name__,
                X_explain.shape[0],
            )
        background_rows = rng.choice(n_rows, size=min(_SHAP_BACKGROUND, n_rows), replace=False)
        masker = shap.maskers.Independent(X[background_rows], max_samples=background_rows.size)
        agnostic = shap.explainers.Permutation(
            view.scores, masker, seed=int(rng.randint(2**31 - 1))
        )
        explanation = agnostic(X_explain, max_evals=2 * n_features + 1, silent=True)
        values = explanation.values
    return mean_abs_per_group(values, groups[rows], n_groups, n_features)
