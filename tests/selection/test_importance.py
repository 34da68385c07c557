"""Native, permutation and SHAP importance of a fitted fold model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from intelligent_training.evaluation._importance import (
    _within_group_permutation,
    native_importance,
    permutation_importance,
    shap_importance,
)


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((400, 4))
    y = 2.0 * X[:, 0] - 1.0 * X[:, 2] + 0.1 * rng.standard_normal(400)
    return X, y


def test_within_group_permutation_stays_in_group():
    rng = np.random.RandomState(0)
    groups = rng.randint(0, 3, size=200)
    perm = _within_group_permutation(groups, rng)
    assert sorted(perm.tolist()) == list(range(200))
    assert (groups[perm] == groups).all()
    assert (perm != np.arange(200)).any()


def test_permutation_importance_regression_matches_weights(linear_data):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    groups = np.zeros(len(y), dtype=np.intp)
    imp = permutation_importance(
        model,
        X,
        y,
        task="regression",
        groups=groups,
        n_groups=1,
        n_repeats=3,
        rng=np.random.RandomState(0),
    )
    assert imp.shape == (1, 4)
    # Shuffling x has expected MSE increase 2 * w**2 * var(x): about 8 and 2.
    assert imp[0, 0] == pytest.approx(8.0, rel=0.2)
    assert imp[0, 2] == pytest.approx(2.0, rel=0.2)
    assert abs(imp[0, 1]) < 0.05 and abs(imp[0, 3]) < 0.05


def test_permutation_importance_per_group_and_empty_group(linear_data):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    groups = np.repeat([0, 2], 200)  # group 1 has no rows
    imp = permutation_importance(
        model,
        X,
        y,
        task="regression",
        groups=groups,
        n_groups=3,
        n_repeats=2,
        rng=np.random.RandomState(0),
    )
    assert imp.shape == (3, 4)
    assert np.isnan(imp[1]).all()
    assert (imp[[0, 2], 0] > imp[[0, 2], 1]).all()


def test_permutation_importance_same_with_small_blocks(linear_data, monkeypatch):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    kwargs = dict(task="regression", groups=np.zeros(400, dtype=np.intp), n_groups=1, n_repeats=2)
    stacked = permutation_importance(model, X, y, rng=np.random.RandomState(3), **kwargs)
    from intelligent_training.evaluation import _importance

    monkeypatch.setattr(_importance, "_BLOCK_CELLS", 1)  # one copy per predict call
    single = permutation_importance(model, X, y, rng=np.random.RandomState(3), **kwargs)
    np.testing.assert_allclose(stacked, single)


def test_permutation_importance_classification_with_unseen_class(linear_data):
    X, y_cont = linear_data
    y = (y_cont > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    y_test = y.copy()
    y_test[:5] = 2  # a class the model never saw: its loss cannot change
    imp = permutation_importance(
        model,
        X,
        y_test,
        task="multiclass",
        groups=np.zeros(400, dtype=np.intp),
        n_groups=1,
        n_repeats=2,
        rng=np.random.RandomState(0),
    )
    assert np.isfinite(imp).all()
    assert imp[0, 0] > imp[0, 2] > max(imp[0, 1], imp[0, 3])


def test_native_importance_gain_and_missing():
    lightgbm = pytest.importorskip("lightgbm")
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 3))
    y = X[:, 1] + 0.1 * rng.standard_normal(300)
    model = lightgbm.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y)
    imp = native_importance(model, 3)
    np.testing.assert_allclose(imp, model.booster_.feature_importance("gain")[None, :])
    assert imp[0].argmax() == 1
    assert native_importance(LinearRegression().fit(X, y), 3) is None
    assert native_importance(model, 4) is None  # wrong length is rejected, not trusted


def test_shap_tree_finds_the_important_features(linear_data):
    X, y = linear_data
    forest = RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    imp = shap_importance(
        forest,
        X,
        task="regression",
        explainer="tree_shap",
        groups=np.zeros(len(y), dtype=np.intp),
        n_groups=1,
        sample_size=50,
        rng=np.random.RandomState(0),
    )
    assert imp.shape == (1, 4)
    assert imp[0].argmax() == 0
    assert imp[0, 2] > max(imp[0, 1], imp[0, 3])


def test_shap_agnostic_is_exact_for_a_linear_model():
    # With every row explained and every row in the background, the SHAP value of a
    # linear model is w_j * (x_j - mean(x_j)), so mean |SHAP| is known exactly.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 4))
    model = LinearRegression().fit(X, 2.0 * X[:, 0] - X[:, 2])
    imp = shap_importance(
        model,
        X,
        task="regression",
        explainer="agnostic",
        groups=np.repeat([0, 1], 20),
        n_groups=2,
        sample_size=100,
        rng=np.random.RandomState(0),
    )
    centred = np.abs(X - X.mean(axis=0)) * np.abs(model.coef_)
    expected = np.vstack([centred[:20].mean(axis=0), centred[20:].mean(axis=0)])
    np.testing.assert_allclose(imp, expected, atol=1e-9)


def test_shap_classifier_output_is_per_feature(linear_data):
    X, y_cont = linear_data
    y = (y_cont > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    imp = shap_importance(
        model,
        X,
        task="binary",
        explainer="agnostic",
        groups=np.zeros(400, dtype=np.intp),
        n_groups=1,
        sample_size=20,
        rng=np.random.RandomState(0),
    )
    assert imp.shape == (1, 4) and imp[0].argmax() == 0
