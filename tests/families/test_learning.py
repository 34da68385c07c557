"""Every non-torch family learns planted signal and finds none in noise, out of sample.

Each test fits on the first 70% of the synthetic panel's timestamps and scores on the
last 30% (no shuffling), against a trivial baseline: the training mean (R²) or a constant
score (AUC 0.5) or the majority class (accuracy).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from intelligent_training.families import get_family, make_estimator

# Overrides that keep the slow families fast on the test panel; every other family
# runs with its packaged defaults.
FAST_PARAMS: dict[str, dict] = {
    "ngboost": {"n_estimators": 20, "learning_rate": 0.15},
    "meta_learning": {
        "final_family": "linear",
        "base_params": {"lightgbm": {"n_estimators": 50}},
    },
}
FAMILIES = [
    "lightgbm",
    "xgboost",
    "random_forest",
    "extra_trees",
    "linear",
    "ngboost",
    "meta_learning",
]
MULTICLASS_FAMILIES = ["lightgbm", "xgboost", "random_forest", "extra_trees", "linear"]


def _build(name: str, task: str):
    if not get_family(name).is_available():
        pytest.skip(f"optional dependency of {name!r} not installed")
    return make_estimator(name, task, FAST_PARAMS.get(name), random_state=0, n_jobs=1)


def _baseline_r2(y_train: np.ndarray, y_test: np.ndarray) -> float:
    return float(r2_score(y_test, np.full_like(y_test, y_train.mean(), dtype=float)))


@pytest.mark.parametrize("name", FAMILIES)
def test_regression_signal_beats_mean(family_data, name):
    X_tr, y_tr, X_te, y_te = family_data.target("fwd_ret_5m")
    model = _build(name, "regression").fit(X_tr, y_tr)
    r2 = r2_score(y_te, model.predict(X_te))
    assert r2 > _baseline_r2(y_tr, y_te) + 0.3, f"{name}: out-of-sample R² {r2:.3f}"


@pytest.mark.parametrize("name", FAMILIES)
def test_binary_signal_beats_constant(family_data, name):
    X_tr, y_tr, X_te, y_te = family_data.target("y_up_15m")
    model = _build(name, "binary").fit(X_tr, y_tr)
    proba = model.predict_proba(X_te)
    assert proba.shape == (len(y_te), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    auc = roc_auc_score(y_te, proba[:, 1])
    assert auc > 0.7, f"{name}: out-of-sample AUC {auc:.3f}"


@pytest.mark.parametrize("name", FAMILIES)
def test_regression_noise_scores_near_zero(family_data, name):
    X_tr, y_tr, X_te, y_te = family_data.target("noise_reg")
    model = _build(name, "regression").fit(X_tr, y_tr)
    r2 = r2_score(y_te, model.predict(X_te))
    assert -0.05 < r2 < 0.02, f"{name}: out-of-sample R² on noise {r2:.3f}"


@pytest.mark.parametrize("name", FAMILIES)
def test_binary_noise_scores_near_half(family_data, name):
    X_tr, y_tr, X_te, y_te = family_data.target("noise_bin")
    model = _build(name, "binary").fit(X_tr, y_tr)
    auc = roc_auc_score(y_te, model.predict_proba(X_te)[:, 1])
    assert abs(auc - 0.5) < 0.05, f"{name}: out-of-sample AUC on noise {auc:.3f}"


@pytest.mark.parametrize("name", MULTICLASS_FAMILIES)
def test_multiclass_signal_beats_majority(family_data, name):
    X_tr, y_tr, X_te, y_te = family_data.target("ret_3class")
    model = _build(name, "multiclass").fit(X_tr, y_tr)
    np.testing.assert_array_equal(model.classes_, [-1, 0, 1])
    proba = model.predict_proba(X_te)
    assert proba.shape == (len(y_te), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    pred = model.predict(X_te)
    assert set(np.unique(pred)) <= {-1, 0, 1}
    majority = np.mean(y_te == np.bincount(y_tr + 1).argmax() - 1)
    assert accuracy_score(y_te, pred) > majority + 0.2


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "random_forest"])
def test_trees_learn_the_nonlinear_target_linear_cannot(family_data, name):
    X_tr, y_tr, X_te, y_te = family_data.target("tgt_nonlin_10m")
    tree_r2 = r2_score(y_te, _build(name, "regression").fit(X_tr, y_tr).predict(X_te))
    linear_r2 = r2_score(y_te, _build("linear", "regression").fit(X_tr, y_tr).predict(X_te))
    assert tree_r2 > max(linear_r2, 0.0) + 0.05
