"""The fast path's shortcuts give the very models and scores of the libraries' own calls."""

from __future__ import annotations

import numpy as np
import pytest

from intelligent_training.evaluation._fast import xgboost_train

xgb = pytest.importorskip("xgboost")


@pytest.mark.parametrize("objective", ["reg:squarederror", "binary:logistic"])
def test_xgboost_train_is_xgb_train(objective):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 5)).astype(np.float32)
    y = X[:, 0] + 0.5 * rng.standard_normal(600)
    if objective == "binary:logistic":
        y = (y > 0).astype(np.float32)
    weight = (rng.random(600) > 0.1).astype(np.float32)  # zero-weight rows, as in a fold base
    params = {
        "objective": objective,
        "max_depth": 3,
        "subsample": 0.8,  # random: the same stream must be drawn round for round
        "colsample_bytree": 0.8,
        "learning_rate": 0.1,
        "seed": 3,
        "nthread": 1,
        "tree_method": "hist",
        "max_bin": 32,
    }
    dtrain = xgb.QuantileDMatrix(X, label=y, weight=weight, max_bin=32)
    expected = xgb.train(dict(params), dtrain, num_boost_round=25)
    got = xgboost_train(params, dtrain, 25)
    assert got.num_boosted_rounds() == 25
    assert bytes(got.save_raw("json")) == bytes(expected.save_raw("json"))
    np.testing.assert_array_equal(got.inplace_predict(X), expected.inplace_predict(X))


def test_xgboost_train_zero_rounds_is_an_empty_booster():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    dtrain = xgb.QuantileDMatrix(X, label=np.arange(10.0))
    assert xgboost_train({"nthread": 1}, dtrain, 0).num_boosted_rounds() == 0


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_lightgbm_test_scores_are_the_boosters_predictions(task):
    """Scores kept on the test rows' bins while training = ``booster.predict``; the trees
    are those of ``lgb.train``."""
    lgb = pytest.importorskip("lightgbm")
    from intelligent_training.evaluation._fast import FoldBins, bin_params, native_params

    rng = np.random.default_rng(1)
    X = rng.standard_normal((900, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.03] = np.nan  # missing values take the learnt side
    signal = np.nan_to_num(X[:, 0]) + 0.5 * rng.standard_normal(900)
    y = {
        "regression": signal,
        "binary": (signal > 0).astype(float),
        "multiclass": np.digitize(signal, [-0.5, 0.5]).astype(float),
    }[task]
    params = {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 20, "subsample": 0.8,
              "subsample_freq": 1, "colsample_bytree": 0.8, "max_bin": 31}  # fmt: skip
    native, rounds = native_params(
        "lightgbm", params, task, 3 if task == "multiclass" else 2, random_state=0, n_threads=1
    )
    base, train, test = np.arange(700), np.arange(20, 690), np.arange(700, 900)
    bins = FoldBins("lightgbm", base, bin_params("lightgbm", native))
    booster, scores = bins.train_scored(X, train, y[train], native, rounds, test_rows=test)
    plain = bins.train(X, train, y[train], native, rounds)
    assert scores is not None
    expected = np.asarray(booster.predict(X[test]), dtype=np.float64).reshape(len(test), -1)
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal(plain.predict(X[test]), booster.predict(X[test]))
    trees = booster.dump_model()["tree_info"]
    assert trees == plain.dump_model()["tree_info"] and len(trees) == rounds * (
        3 if task == "multiclass" else 1
    )
    assert isinstance(booster, lgb.Booster)
