"""The private-API paths of the LightGBM / XGBoost fast trainers and their public fallbacks.

Every private or C-API call sits in ``_lightgbm_capi`` / ``_xgboost_capi`` behind a
version check; with the check off, the public API must give the same model. These tests
run both paths and compare, so a new library release that breaks the private layer
shows up here (and the fallback keeps the results).
"""

from __future__ import annotations

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")

from intelligent_training.families import _lightgbm_capi, _xgboost_capi  # noqa: E402
from intelligent_training.families._lightgbm_native import binned_dataset  # noqa: E402


class _Rows:
    """A matrix-like that is not an ndarray (as the selector's ShadowedMatrix)."""

    def __init__(self, X: np.ndarray) -> None:
        self.X, self.shape = X, X.shape

    def __getitem__(self, rows):
        return self.X[rows]

    def column(self, j, rows):
        return self.X[rows, j]


def _data(seed=0, n=3000, p=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    X[rng.random(X.shape) < 0.05] = 0.0  # zeros are left out of LightGBM's sample
    y = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) + rng.standard_normal(n)
    return X, y


_PARAMS = {"verbose": -1, "num_threads": 1, "max_bin": 63, "seed": 3,
           "bin_construct_sample_cnt": 1000, "min_data_in_leaf": 20}  # fmt: skip


def _model_text(ds, y):
    ds.set_label(y)
    params = {**_PARAMS, "objective": "regression", "num_leaves": 7}
    return lgb.train(params, ds, num_boost_round=10).model_to_string()


def test_the_private_layer_is_used_on_the_tested_versions():
    assert int(lgb.__version__.split(".")[0]) in _lightgbm_capi.TESTED_MAJORS
    assert _lightgbm_capi.ENABLED
    assert int(xgb.__version__.split(".")[0]) in _xgboost_capi.TESTED_MAJORS
    assert _xgboost_capi.ENABLED


def test_an_untested_version_switches_to_the_public_api(monkeypatch):
    monkeypatch.setattr(lgb, "__version__", "99.0.0")
    monkeypatch.setattr(xgb, "__version__", "99.0.0")
    assert not _lightgbm_capi._private_layer_usable()
    assert not _xgboost_capi._private_layer_usable()


@pytest.mark.parametrize("layout", ["fortran", "matrix_like"])
def test_pushed_dataset_equals_its_public_fallback(layout, monkeypatch):
    X, y = _data()
    rows = np.sort(np.random.default_rng(1).choice(len(X), 2000, replace=False))
    matrix = np.asfortranarray(X) if layout == "fortran" else _Rows(X)
    label = np.zeros(len(rows), dtype=np.float32)
    private = _model_text(binned_dataset(matrix, rows, _PARAMS, label=label), y[rows])
    monkeypatch.setattr(_lightgbm_capi, "ENABLED", False)
    public = _model_text(binned_dataset(matrix, rows, _PARAMS, label=label), y[rows])
    copied = _model_text(lgb.Dataset(X[rows], params=_PARAMS).construct(), y[rows])
    assert private == public == copied


def test_constructed_subset_equals_the_public_subset(monkeypatch):
    X, y = _data(2)
    base = lgb.Dataset(X, label=np.zeros(len(X)), params=_PARAMS).construct()
    positions = np.sort(np.random.default_rng(3).choice(len(X), 1800, replace=False))
    positions = positions.astype(np.int32)
    private = _lightgbm_capi.constructed_subset(base, positions, _PARAMS)
    assert private.reference is None  # it lets go of the fold's base
    monkeypatch.setattr(_lightgbm_capi, "ENABLED", False)
    public = _lightgbm_capi.constructed_subset(base, positions, _PARAMS)
    assert _model_text(private, y[positions]) == _model_text(public, y[positions])


@pytest.mark.parametrize("objective", ["regression", "binary", "multiclass"])
def test_kept_valid_scores_are_the_boosters_predictions(objective):
    X, y = _data(4, n=1500)
    if objective == "binary":
        y = (y > 0).astype(float)
    elif objective == "multiclass":
        y = np.digitize(y, [-1.0, 1.0]).astype(float)
    params = {**_PARAMS, "objective": objective, "num_leaves": 7}
    if objective == "multiclass":
        params["num_class"] = 3
    train = lgb.Dataset(X[:1000], label=y[:1000], params=_PARAMS).construct()
    valid = lgb.Dataset(X[1000:], reference=train, params=_PARAMS).construct()
    booster = lgb.Booster(params={**params, "num_iterations": 15}, train_set=train)
    booster.add_valid(valid, "test")
    for _ in range(15):
        booster.update()
    kept = _lightgbm_capi.kept_valid_scores(booster, 500)
    expected = np.asarray(booster.predict(X[1000:]), dtype=np.float64).reshape(500, -1)
    np.testing.assert_allclose(kept, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("objective", ["reg:squarederror", "binary:logistic"])
def test_xgboost_rounds_equal_their_public_fallback(objective, monkeypatch):
    X, y = _data(5, n=1200)
    if objective == "binary:logistic":
        y = (y > 0).astype(float)
    params = {"objective": objective, "tree_method": "hist", "max_depth": 3,
              "subsample": 0.8, "seed": 1, "nthread": 1, "verbosity": 0, "max_bin": 64}  # fmt: skip
    dtrain = xgb.QuantileDMatrix(X, label=y, max_bin=64, nthread=1)
    private = _xgboost_capi.xgboost_train(params, dtrain, 20)
    monkeypatch.setattr(_xgboost_capi, "ENABLED", False)
    public = _xgboost_capi.xgboost_train(params, dtrain, 20)
    reference = xgb.train(params, dtrain, num_boost_round=20)
    assert private.save_raw("json") == public.save_raw("json")
    np.testing.assert_array_equal(private.inplace_predict(X), reference.inplace_predict(X))
