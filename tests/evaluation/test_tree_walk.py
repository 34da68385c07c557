"""The tree walk scores shuffled copies exactly as the LightGBM / XGBoost booster does."""

from __future__ import annotations

import numpy as np
import pytest

from intelligent_training.evaluation._fast import FoldBins, bin_params, native_params
from intelligent_training.evaluation._importance import permutation_importance
from intelligent_training.evaluation._model import ModelView
from intelligent_training.evaluation._tree_walk import TreePermuter
from intelligent_training.families import family_params

pytest.importorskip("numba")


def _model(task, extra=None, seed=0, family="lightgbm"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((1500, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    X[:, 5] = np.abs(X[:, 5])  # no NaN in training for this one below ...
    X[:1000, 5] = np.nan_to_num(X[:1000, 5])
    latent = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 5]) + rng.standard_normal(1500)
    if task == "regression":
        y = latent
    elif task == "binary":
        y = (latent > 0).astype(float)
    else:
        y = np.digitize(latent, [-1.0, 1.0]).astype(float)
    k = 0 if task == "regression" else len(np.unique(y))
    params = family_params(family, task, {"n_estimators": 40, **(extra or {})}, n_rows=1000)
    native, rounds = native_params(family, params, task, k, random_state=0, n_threads=1)
    train = np.arange(1000)
    bins = FoldBins(family, train, bin_params(family, native))
    model = bins.fit(X, train, y[train], native, rounds, task=task, n_classes=k)
    return model, X[1000:], y[1000:]


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_shuffled_scores_equal_the_boosters(task, family):
    model, X, _ = _model(task, family=family)
    permuter = TreePermuter.build(model, X, model.scores(X))
    assert permuter is not None
    rng = np.random.default_rng(1)
    for j in range(X.shape[1]):  # ... and NaN at test time: LightGBM reads it as 0.0
        source = rng.permutation(len(X))
        shuffled = X.copy()
        shuffled[:, j] = X[source, j]
        # XGBoost sums its trees in float32, LightGBM in float64
        tolerance = 1e-10 if family == "lightgbm" else 2e-6
        np.testing.assert_allclose(
            permuter.scores(j, source), model.scores(shuffled), atol=tolerance
        )


def test_unsupported_models_fall_back_to_the_booster():
    model, X, y = _model("regression", {"zero_as_missing": True})
    assert TreePermuter.build(model, X, model.scores(X)) is None  # zero-as-missing splits
    view = ModelView(model, "regression")
    kwargs = {
        "task": "regression",
        "groups": np.zeros(len(y), np.intp),
        "n_groups": 1,
        "n_repeats": 2,
    }
    walked = permutation_importance(view, X, y, rng=np.random.RandomState(0), **kwargs)
    assert np.isfinite(walked).all() and walked[0].argmax() in (0, 5)


def test_importance_with_and_without_the_walk_agree():
    model, X, y = _model("binary")
    kwargs = {"task": "binary", "groups": np.zeros(len(y), np.intp), "n_groups": 1, "n_repeats": 3}
    view = ModelView(model, "binary")
    walked = permutation_importance(view, X, y, rng=np.random.RandomState(0), **kwargs)
    view.permuter = lambda X, scores: None  # force the booster's own predictions
    stacked = permutation_importance(view, X, y, rng=np.random.RandomState(0), **kwargs)
    np.testing.assert_allclose(walked, stacked, atol=1e-10)
