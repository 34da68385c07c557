"""Built estimators honour the scikit-learn contract and the family-specific promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from intelligent_training.families import (
    StandardizedLogisticRegression,
    StandardizedRidge,
    available_families,
    get_family,
    make_estimator,
)

NON_TORCH = ["lightgbm", "xgboost", "random_forest", "extra_trees", "linear", "ngboost"]
SMALL = {"ngboost": {"n_estimators": 15}, "meta_learning": {"final_family": "linear"}}


def _cases():
    for name in available_families():
        for task in get_family(name).tasks:
            yield pytest.param(name, task, id=f"{name}-{task}")


def _same(a, b) -> bool:
    if hasattr(a, "get_params") and hasattr(b, "get_params"):
        return type(a) is type(b) and _same(a.get_params(deep=False), b.get_params(deep=False))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return bool(a == b) or (a != a and b != b)  # NaN == NaN


@pytest.mark.parametrize(("name", "task"), list(_cases()))
def test_every_built_estimator_clones_and_round_trips_params(name, task):
    if not get_family(name).is_available():
        pytest.skip(f"optional dependency of {name!r} not installed")
    est = make_estimator(name, task, random_state=3, n_jobs=1)
    params = est.get_params()
    twin = clone(est)
    assert type(twin) is type(est)
    assert _same(twin.get_params(), params)
    assert twin.set_params(**est.get_params(deep=False)) is twin
    assert _same(twin.get_params(), params)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(est)), vars(est)


def _small(family_data, target):
    X_tr, y_tr, X_te, _ = family_data.target(target)
    return X_tr.iloc[:1800], y_tr[:1800], X_te.iloc[:300]


@pytest.mark.parametrize("name", [*NON_TORCH, "meta_learning"])
def test_same_random_state_same_predictions(family_data, name):
    if not get_family(name).is_available():
        pytest.skip("optional dependency missing")
    X, y, X_new = _small(family_data, "fwd_ret_5m")
    preds = [
        make_estimator(name, "regression", SMALL.get(name), random_state=5).fit(X, y).predict(X_new)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(preds[0], preds[1])


@pytest.mark.parametrize("name", ["random_forest", "extra_trees", "lightgbm"])
def test_random_state_matters_for_randomised_families(family_data, name):
    X, y, X_new = _small(family_data, "fwd_ret_5m")
    a = make_estimator(name, "regression", random_state=1).fit(X, y).predict(X_new)
    b = make_estimator(name, "regression", random_state=2).fit(X, y).predict(X_new)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", NON_TORCH)
def test_native_importances_one_per_feature_and_find_the_signal(family_data, name):
    if not get_family(name).is_available():
        pytest.skip("optional dependency missing")
    assert get_family(name).native_importance
    X, y, _ = _small(family_data, "fwd_ret_5m")
    X = X.copy()
    rng = np.random.default_rng(0)
    X["planted"] = (y + 0.1 * rng.normal(size=len(y))).astype(np.float32)
    est = make_estimator(name, "regression", SMALL.get(name), random_state=0).fit(X, y)
    imp = np.asarray(est.feature_importances_, dtype=float)
    assert imp.shape == (X.shape[1],)
    assert np.isfinite(imp).all() and (imp >= 0).all()
    assert np.argmax(imp) == X.columns.get_loc("planted")


@pytest.mark.parametrize("name", [*NON_TORCH, "meta_learning"])
def test_nan_features_are_handled_and_caller_data_untouched(family_data, name):
    if not get_family(name).is_available():
        pytest.skip("optional dependency missing")
    X, y, X_new = _small(family_data, "y_up_15m")
    X = X.copy()
    X.iloc[::7, 0] = np.nan
    X.iloc[:, 3] = np.nan  # an all-NaN column
    before = X.copy()
    est = make_estimator(name, "binary", SMALL.get(name), random_state=0).fit(X, y)
    pd.testing.assert_frame_equal(X, before)
    proba = est.predict_proba(X_new)
    assert np.isfinite(proba).all()


@pytest.mark.parametrize("name", ["xgboost", "linear", "ngboost", "lightgbm"])
def test_classifiers_keep_arbitrary_labels(family_data, name):
    if not get_family(name).is_available():
        pytest.skip("optional dependency missing")
    X, y, X_new = _small(family_data, "y_up_15m")
    labels = np.where(y > 0.5, "up", "down")
    est = make_estimator(name, "binary", SMALL.get(name), random_state=0).fit(X, labels)
    np.testing.assert_array_equal(est.classes_, ["down", "up"])
    assert set(est.predict(X_new)) <= {"down", "up"}
    signed = np.where(y > 0.5, 1, -1)
    est = clone(est).fit(X, signed)
    np.testing.assert_array_equal(est.classes_, [-1, 1])
    assert set(est.predict(X_new)) <= {-1, 1}


def test_linear_importance_is_on_the_standardised_scale(family_data):
    X, y, X_new = _small(family_data, "fwd_ret_5m")
    X, X_new = X.astype(np.float64), X_new.astype(np.float64)
    first = X.columns[0]
    a = StandardizedRidge().fit(X, y)
    b = StandardizedRidge().fit(X.assign(**{first: X[first] * 1000.0}), y)
    np.testing.assert_allclose(a.feature_importances_, b.feature_importances_, rtol=1e-6)
    np.testing.assert_allclose(a.feature_importances_, np.abs(a.coef_))
    np.testing.assert_allclose(
        a.predict(X_new), b.predict(X_new.assign(**{first: X_new[first] * 1000.0})), rtol=1e-6
    )
    assert list(a.feature_names_in_) == list(X.columns)


def test_linear_logistic_multiclass_importance_averages_classes(family_data):
    X, y, _ = _small(family_data, "ret_3class")
    est = StandardizedLogisticRegression(alpha=2.0).fit(X, y)
    assert est.coef_.shape == (3, X.shape[1])
    np.testing.assert_allclose(est.feature_importances_, np.abs(est.coef_).mean(axis=0))
    stronger = StandardizedLogisticRegression(alpha=200.0).fit(X, y)
    assert np.abs(stronger.coef_).sum() < np.abs(est.coef_).sum()


@pytest.mark.parametrize("params", [{"alpha": -1.0}, {"max_iter": 0}])
def test_linear_invalid_params_fail_in_fit_not_init(family_data, params):
    X, y, _ = _small(family_data, "y_up_15m")
    est = StandardizedLogisticRegression(**params)  # __init__ only stores
    with pytest.raises(ValueError, match="must be"):
        est.fit(X, y)


def test_ngboost_regressor_exposes_a_predictive_distribution(family_data):
    if not get_family("ngboost").is_available():
        pytest.skip("ngboost missing")
    X, y, X_new = _small(family_data, "fwd_ret_5m")
    est = make_estimator("ngboost", "regression", {"n_estimators": 15}, random_state=0).fit(X, y)
    dist = est.pred_dist(X_new)
    np.testing.assert_allclose(dist.loc, est.predict(X_new))
    assert (dist.scale > 0).all()


def test_ngboost_base_trees_draw_a_new_seed_every_stage():
    """With one seed for every stage, random thresholds on a single sampled column
    repeated at every stage and nothing was learnt; now it learns, reproducibly."""
    pytest.importorskip("ngboost")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))  # col_sample=0.5 keeps one column per stage
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    params = {"n_estimators": 30, "learning_rate": 0.3}
    first = make_estimator("ngboost", "regression", params, random_state=0).fit(X, y)
    again = make_estimator("ngboost", "regression", params, random_state=0).fit(X, y)
    assert first.score(X, y) > 0.5
    np.testing.assert_array_equal(first.predict(X), again.predict(X))
    seeds = {tree.random_state for stage in first.model_.base_models for tree in stage}
    assert len(seeds) > 1
