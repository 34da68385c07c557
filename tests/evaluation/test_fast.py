"""The fast path's shortcuts give the very models and scores of the libraries' own calls."""

from __future__ import annotations

import numpy as np
import pytest

from intelligent_training.families._xgboost_capi import xgboost_train

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
    k = 3 if task == "multiclass" else 2
    model = bins.fit(X, train, y[train], native, rounds, test, task=task, n_classes=k)
    booster, scores = model.booster, model.test_scores
    plain = bins.fit(X, train, y[train], native, rounds, task=task, n_classes=k).booster
    assert scores is not None
    expected = np.asarray(booster.predict(X[test]), dtype=np.float64).reshape(len(test), -1)
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal(plain.predict(X[test]), booster.predict(X[test]))
    trees = booster.dump_model()["tree_info"]
    assert trees == plain.dump_model()["tree_info"] and len(trees) == rounds * (
        3 if task == "multiclass" else 1
    )
    assert isinstance(booster, lgb.Booster)


def _lightgbm_fold(task="regression", n=900):
    from intelligent_training.evaluation._fast import FoldBins, bin_params, native_params

    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    signal = X[:, 0] + 0.5 * rng.standard_normal(n)
    y = signal if task == "regression" else (signal > 0).astype(float)
    params = {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 20, "max_bin": 31}
    native, rounds = native_params("lightgbm", params, task, 2, random_state=0, n_threads=1)
    base = np.arange(700)
    bins = FoldBins("lightgbm", base, bin_params("lightgbm", native))
    return X, y, bins, native, rounds


def _scored(bins, X, rows, y, native, rounds, test_rows=None, task="regression"):
    model = bins.fit(X, rows, y, native, rounds, test_rows, task=task, n_classes=2)
    return model.booster, model.test_scores


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_large_test_blocks_are_predicted_by_block_with_the_same_scores(task, monkeypatch):
    """Above the size limit the test rows are not binned as a validation set: they are
    predicted a block at a time (and the training bins are let go first); same scores."""
    from intelligent_training.families import _lightgbm_native

    X, y, bins, native, rounds = _lightgbm_fold(task)
    train, test = np.arange(20, 690), np.arange(700, 900)
    _, small = _scored(bins, X, train, y[train], native, rounds, test, task)
    monkeypatch.setattr(_lightgbm_native, "_LARGE_TEST_BYTES", 10)  # every block "large"
    monkeypatch.setattr(_lightgbm_native, "BLOCK_BYTES", 4 * 5 * 64)  # 64 rows a block
    booster, large = _scored(bins, X, train, y[train], native, rounds, test, task)
    assert large.shape == (len(test), 1)
    np.testing.assert_array_equal(large, small)
    expected = np.asarray(booster.predict(X[test]), dtype=np.float64).reshape(-1, 1)
    np.testing.assert_array_equal(large, expected)


def test_a_trained_cell_does_not_keep_its_folds_base_bins_alive():
    """The last cell of a fold frees the fold's base Dataset: the cell's subset must not
    keep it alive as its LightGBM ``reference``, nor its booster through the subset."""
    import gc
    import weakref

    X, y, bins, native, rounds = _lightgbm_fold()
    bins.expect_cell()
    base = weakref.ref(bins.base(X))
    train = np.arange(20, 690)
    booster = bins.fit(X, train, y[train], native, rounds, task="regression", n_classes=0).booster
    gc.collect()
    assert base() is None
    assert booster.num_trees() == rounds


def test_lightgbm_histogram_layout_is_column_wise_unless_chosen():
    from intelligent_training.families import make_estimator
    from intelligent_training.families._lightgbm_native import lightgbm_native_params

    native, _ = lightgbm_native_params({}, "regression", 1, random_state=0, n_threads=1)
    assert native["force_col_wise"] is True and "force_row_wise" not in native
    native, _ = lightgbm_native_params(
        {"force_row_wise": True}, "regression", 1, random_state=0, n_threads=1
    )
    assert native["force_row_wise"] is True and "force_col_wise" not in native
    estimator = make_estimator("lightgbm", "regression", {}, random_state=0)
    assert estimator.get_params()["force_col_wise"] is True
    chosen = make_estimator("lightgbm", "regression", {"force_row_wise": True}, random_state=0)
    assert "force_col_wise" not in chosen.get_params()


def _run_cells(budget, footprints, limit, body):
    """Run ``body`` in one thread per footprint, each admitted by ``budget``."""
    import threading

    errors = []

    def cell(n):
        try:
            with budget.admit(n, budget=limit):
                body()
        except Exception as exc:  # e.g. a barrier no second cell reached
            errors.append(exc)

    threads = [threading.Thread(target=cell, args=(n,)) for n in footprints]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors


def test_large_cells_run_side_by_side_only_while_they_fit_the_budget():
    import threading
    import time

    from intelligent_training.families._lightgbm_native import _SERIAL_BYTES, _CellBudget

    big = _SERIAL_BYTES + 1
    lock, inside, most = threading.Lock(), [0], [0]

    def body():
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1

    # three cells, any two over the budget: one at a time (a lone one always runs)
    _run_cells(_CellBudget(), [big] * 3, big + 10, body)
    assert most[0] == 1
    # two that fit together are admitted together (each waits for the other inside)
    meet = threading.Barrier(2, timeout=10)
    _run_cells(_CellBudget(), [big, big], 3 * big, meet.wait)
    # small cells never wait, even with no budget left
    small = _CellBudget()
    with small.admit(big, budget=big):
        meet = threading.Barrier(2, timeout=10)
        _run_cells(small, [10, 10], 0, meet.wait)
