"""meta_learning: time-ordered stacking with no label leakage into the stacked features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from intelligent_training.exceptions import DataError, FamilyError, SplitError
from intelligent_training.families import (
    MetaLearningClassifier,
    MetaLearningRegressor,
    get_family,
    make_estimator,
)

FAST_BASES = {"lightgbm": {"n_estimators": 40}}


def _subset(family_data, target, n=2400):
    X_tr, y_tr, X_te, y_te = family_data.target(target)
    return X_tr.iloc[:n], y_tr[:n], X_te, y_te


def test_inner_folds_train_strictly_before_test_and_cover_the_oof_rows(family_data):
    X, y, _, _ = _subset(family_data, "fwd_ret_5m")
    model = MetaLearningRegressor(
        final_family="linear", n_splits=3, horizon=3, base_params=FAST_BASES, random_state=0
    ).fit(X, y)
    ts = X.index.get_level_values("timestamp").to_numpy()
    bar = np.diff(np.unique(ts)).min()
    assert len(model.inner_splits_) == 3
    covered = np.zeros(len(y), dtype=bool)
    for train, test in model.inner_splits_:
        assert ts[train].max() + 3 * bar < ts[test].min()  # purged: label span ends before test
        covered[test] = True
    np.testing.assert_array_equal(model.oof_mask_, covered)
    assert len(model.oof_predictions_) == covered.sum() < len(y)
    assert model.oof_predictions_.index.equals(X.index[covered])
    assert not model.oof_predictions_.isna().any().any()


def test_no_row_label_reaches_its_stacked_feature(family_data):
    """A base model that memorises its training rows must not pass labels through."""
    X, _, _, _ = _subset(family_data, "noise_reg")
    rng = np.random.default_rng(1)
    y = rng.normal(size=len(X))
    X = X.assign(row_id=np.arange(len(X), dtype=np.float64))
    memoriser = {
        "min_samples_leaf": 1,
        "bootstrap": False,
        "max_samples": None,
        "max_features": 1.0,
        "n_estimators": 5,
    }
    model = MetaLearningRegressor(
        base_families=["extra_trees"],
        final_family="linear",
        base_params={"extra_trees": memoriser},
        random_state=0,
    ).fit(X, y)
    in_sample = model.base_estimators_["extra_trees"].predict(X)
    assert np.corrcoef(in_sample, y)[0, 1] > 0.99  # the base really memorises
    oof = model.oof_predictions_["extra_trees"].to_numpy()
    assert abs(np.corrcoef(oof, y[model.oof_mask_])[0, 1]) < 0.1
    coef = model.final_estimator_.coef_[0]
    assert abs(coef) < 0.2


def test_stacking_learns_and_uses_every_base(family_data):
    X, y, X_te, y_te = _subset(family_data, "fwd_ret_5m")
    model = make_estimator(
        "meta_learning",
        "regression",
        {"final_family": "linear", "base_params": FAST_BASES},
        random_state=0,
    ).fit(X, y)
    assert model.stacked_feature_names_ == ["lightgbm", "linear"]
    assert set(model.base_estimators_) == {"lightgbm", "linear"}
    assert r2_score(y_te, model.predict(X_te)) > 0.5
    assert model.n_features_in_ == X.shape[1]


def test_passthrough_adds_the_raw_features(family_data):
    X, y, X_te, _ = _subset(family_data, "fwd_ret_5m", n=1200)
    model = MetaLearningRegressor(
        base_families=["linear"], final_family="linear", passthrough=True
    ).fit(X, y)
    assert model.oof_predictions_.shape[1] == 1 + X.shape[1]
    assert model.final_estimator_.n_features_in_ == 1 + X.shape[1]
    assert model.predict(X_te).shape == (len(X_te),)


def test_multiclass_stacks_one_column_per_class(family_data):
    X, y, X_te, y_te = _subset(family_data, "ret_3class")
    model = MetaLearningClassifier(
        base_families=["linear"], final_family="linear", random_state=0
    ).fit(X, y)
    assert model.stacked_feature_names_ == ["linear__-1", "linear__0", "linear__1"]
    proba = model.predict_proba(X_te)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.mean(model.predict(X_te) == y_te) > 0.55


def test_binary_stacks_the_positive_class_probability(family_data):
    X, y, X_te, _ = _subset(family_data, "y_up_15m", n=1200)
    model = MetaLearningClassifier(base_families=["linear"], final_family="linear").fit(X, y)
    assert model.stacked_feature_names_ == ["linear"]
    stacked = model.oof_predictions_["linear"]
    assert stacked.between(0, 1).all()
    np.testing.assert_array_equal(model.classes_, [0.0, 1.0])
    assert model.predict_proba(X_te).shape == (len(X_te), 2)


def test_works_on_plain_arrays_in_time_order():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 4))
    y = X[:, 1] + 0.2 * rng.normal(size=800)
    model = MetaLearningRegressor(base_families=["linear"], final_family="linear").fit(X, y)
    first_test = min(test.min() for _, test in model.inner_splits_)
    assert not model.oof_mask_[:first_test].any() and model.oof_mask_[first_test:].all()
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"base_families": ["multi_task"]}, "cannot be a base or final family"),
        ({"final_family": "meta_learning"}, "cannot be a base or final family"),
        ({"base_families": ["catboost"]}, "Unknown model family 'catboost'"),
        ({"base_families": []}, "at least one family"),
        ({"n_splits": 0}, "n_splits must be an int >= 1"),
        ({"base_params": {"xgboost": {}}}, "not in base_families"),
    ],
)
def test_invalid_configuration_fails_in_fit(params, message):
    X = np.random.default_rng(0).normal(size=(200, 3))
    y = X[:, 0]
    model = MetaLearningRegressor(**{"final_family": "linear", **params})
    with pytest.raises(FamilyError, match=message):
        model.fit(X, y)


def test_too_few_rows_for_the_inner_folds_is_a_split_error():
    X = np.zeros((3, 2))
    with pytest.raises(SplitError):
        MetaLearningRegressor(base_families=["linear"], final_family="linear", n_splits=5).fit(
            X, np.arange(3.0)
        )


def test_predict_checks_the_feature_count(family_data):
    X, y, _, _ = _subset(family_data, "fwd_ret_5m", n=600)
    model = MetaLearningRegressor(base_families=["linear"], final_family="linear").fit(X, y)
    with pytest.raises(DataError, match="same feature columns"):
        model.predict(X.iloc[:, :-1])


def test_default_final_learner_is_the_torch_mlp(family_data):
    if not get_family("mlp").is_available():
        pytest.skip("torch not installed")
    X, y, X_te, y_te = _subset(family_data, "fwd_ret_5m", n=1800)
    model = make_estimator(
        "meta_learning",
        "regression",
        {"base_params": FAST_BASES, "final_params": {"max_epochs": 15}},
        random_state=0,
        cpu_only=True,
    ).fit(X, y)
    assert type(model.final_estimator_).__name__ == "MLPRegressor"
    assert r2_score(y_te, model.predict(X_te)) > 0.4
    assert isinstance(model.oof_predictions_, pd.DataFrame)
