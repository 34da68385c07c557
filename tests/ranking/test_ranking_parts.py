"""Unit tests of the ranker's parts: composite score, leakage sentinel, fast trees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from intelligent_training.evaluation._fast import FoldBins, bin_params, native_params
from intelligent_training.families import family_params, make_estimator
from intelligent_training.families._lightgbm_native import lightgbm_native_params
from intelligent_training.metrics import auc_to_correlation
from intelligent_training.ranking._eligibility import check_eligibility
from intelligent_training.ranking._leakage import single_feature_strength
from intelligent_training.ranking._score import composite_score, family_scores


def test_composite_score_rewards_consistency_and_agreement():
    steady = np.array([[0.3, 0.3, 0.3], [0.3, 0.3, 0.3]])
    shaky = np.array([[0.1, 0.5, 0.3], [0.1, 0.5, 0.3]])  # same mean, spread over folds
    split = np.array([[0.5, 0.5, 0.5], [0.1, 0.1, 0.1]])  # same mean, families disagree
    assert composite_score(steady) == pytest.approx(0.3)
    assert composite_score(shaky) < composite_score(steady)
    assert composite_score(split) < composite_score(steady)
    # explicit formula
    fam = family_scores(shaky)
    expected_f = shaky.mean(axis=1) - 0.5 * shaky.std(axis=1)
    np.testing.assert_allclose(fam, expected_f)
    assert composite_score(shaky) == pytest.approx(fam.mean() - 0.5 * fam.std())


def test_composite_score_never_saturates_and_ignores_nan_cells():
    levels = np.array([0.5, 0.9, 0.99, 0.999, 1.5])
    scores = [composite_score(np.full((2, 3), v)) for v in levels]
    assert np.all(np.diff(scores) > 0)
    with_nan = np.array([[0.2, np.nan, 0.2], [0.2, 0.2, 0.2]])
    assert composite_score(with_nan) == pytest.approx(0.2)
    assert np.isnan(composite_score(np.full((2, 2), np.nan)))


def _make(n=3000, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = 0.8 * X[:, 1] + 0.6 * rng.standard_normal(n)
    X[rng.random((n, p)) < 0.05] = np.nan
    y[rng.random(n) < 0.1] = np.nan
    return X, y


@pytest.mark.parametrize("feature_nan", [False, True])
def test_single_feature_strength_matches_scipy_and_sklearn(feature_nan):
    X, y = _make()
    if not feature_nan:  # fill with distinct values (ordinal ranks break ties)
        fill = np.random.default_rng(9).standard_normal(X.shape)
        X = np.where(np.isnan(X), fill, X)
    got = single_feature_strength(X, y, "regression")
    # with NaN features the label ranks are those of all labelled rows: close, not exact
    tol = 0.01 if feature_nan else 1e-9
    for j in range(X.shape[1]):
        ok = np.isfinite(X[:, j]) & np.isfinite(y)
        assert got[j] == pytest.approx(abs(spearmanr(X[ok, j], y[ok]).statistic), abs=tol)
    yb = np.where(np.isfinite(y), (y > 0).astype(float), np.nan)
    got_b = single_feature_strength(X, yb, "binary")
    for j in range(X.shape[1]):
        ok = np.isfinite(X[:, j]) & np.isfinite(yb)
        ref = abs(auc_to_correlation(roc_auc_score(yb[ok], X[ok, j])))
        assert got_b[j] == pytest.approx(ref, abs=1e-9)
    assert np.argmax(got) == 1 and np.argmax(got_b) == 1


def test_single_feature_strength_subsamples_large_inputs():
    X, y = _make(n=5000)
    full = single_feature_strength(X, y, "regression")
    sub = single_feature_strength(X, y, "regression", max_rows=2000)
    np.testing.assert_allclose(sub, full, atol=0.05)


def test_single_feature_strength_cache_reuses_ranks_per_row_set():
    X, y = _make(n=2000)
    y2 = np.where(np.isfinite(y), -2.0 * y + 1.0, np.nan)  # same labelled rows
    y3 = y.copy()
    y3[:500] = np.nan  # other rows
    yb = np.where(np.isfinite(y), (y > 0).astype(float), np.nan)
    cache: dict = {}
    for target, task in ((y, "regression"), (y2, "regression"), (yb, "binary"), (y3, "regression")):
        np.testing.assert_array_equal(
            single_feature_strength(X, target, task, cache=cache),
            single_feature_strength(X, target, task),
        )
    assert len(cache) == 2  # one entry per distinct row set
    for k in range(10):  # bounded: old row sets are dropped
        yk = y.copy()
        yk[k] = np.nan
        single_feature_strength(X, yk, "regression", cache=cache)
    assert len(cache) <= 4


def test_eligibility_messages():
    ok, reason = check_eligibility(
        pd.Series([1.0, 2.0, 3.0] * 50), "regression", min_rows=10, min_class_rows=5
    )
    assert ok and reason == ""
    ok, reason = check_eligibility(
        pd.Series(["a", "b"] * 50), "regression", min_rows=10, min_class_rows=5
    )
    assert not ok and "non-numeric" in reason


def _fast_fit(family, task, X, y, rows, k, params, base=None):
    # "auto" leaf sizes are resolved for the rows the model is fit on, as the estimator does
    params = family_params(family, task, params, n_rows=len(rows))
    native, rounds = native_params(family, params, task, k, random_state=0, n_threads=1)
    bins = FoldBins(family, rows if base is None else base, bin_params(family, native))
    return bins.fit(X, rows, y[rows], native, rounds, task=task, n_classes=k)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_fast_path_equals_make_estimator_on_the_same_rows(family, task):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1200, 5)).astype(np.float32)
    latent = X[:, 0] - X[:, 1] + rng.standard_normal(1200)
    if task == "regression":
        y = latent
    elif task == "binary":
        y = (latent > 0).astype(float)
    else:
        y = np.digitize(latent, [-1.0, 1.0]).astype(float)
    k = 0 if task == "regression" else len(np.unique(y))
    train, test = np.arange(900), np.arange(950, 1200)
    fast = _fast_fit(family, task, X, y, train, k, {"n_estimators": 25}).scores(X[test])
    est = make_estimator(family, task, {"n_estimators": 25}, random_state=0, n_jobs=1)
    est.fit(X[train], y[train].astype(int) if task != "regression" else y[train])
    if task == "regression":
        ref = est.predict(X[test])[:, None]
    else:
        ref = est.predict_proba(X[test])
        ref = ref[:, 1:] if task == "binary" else ref
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)
    # a subset of the base rows (a longer purge) trains on exactly those rows
    if family == "lightgbm":
        sub = np.arange(800)
        model = _fast_fit(family, task, X, y, sub, k, {"n_estimators": 25}, base=train)
        est.fit(X[sub], y[sub].astype(int) if task != "regression" else y[sub])
        ref_sub = est.predict(X[test]) if task == "regression" else est.predict_proba(X[test])
        ref_sub = ref_sub[:, 1] if task == "binary" else ref_sub
        assert np.corrcoef(np.ravel(model.scores(X[test])), np.ravel(ref_sub))[0, 1] > 0.95


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_user_seed_and_threads_win_over_the_stage(family):
    params = {"n_estimators": 10, "random_state": 7, "n_jobs": 2}
    native, _ = native_params(family, params, "regression", 0, random_state=0, n_threads=1)
    seed_key = "seed" if family == "lightgbm" else "random_state"
    threads_key = "num_threads" if family == "lightgbm" else "n_jobs"
    assert native.get(seed_key, native.get("random_state")) == 7
    assert native.get(threads_key, native.get("n_jobs")) == 2


def test_fold_bins_pickle_rebuilds_on_arrival():
    import pickle

    rng = np.random.default_rng(2)
    X = rng.standard_normal((500, 4)).astype(np.float32)
    y = X[:, 0] + rng.standard_normal(500)
    params = family_params("lightgbm", "regression", {"n_estimators": 10}, n_rows=400)
    native, rounds = lightgbm_native_params(params, "regression", 0, random_state=0, n_threads=1)
    rows = np.arange(400)
    bins = FoldBins("lightgbm", rows, bin_params("lightgbm", native))
    before = bins.fit(X, rows, y[rows], native, rounds, task="regression", n_classes=0).scores(
        X[400:]
    )
    clone_ = pickle.loads(pickle.dumps(bins))  # built base handle is not shipped
    assert clone_._base is None
    after = clone_.fit(X, rows, y[rows], native, rounds, task="regression", n_classes=0).scores(
        X[400:]
    )
    np.testing.assert_array_equal(before, after)


def test_validate_inputs_keeps_targets_with_string_names_without_a_copy():
    import pandas as pd

    from intelligent_training.ranking._inputs import validate_inputs

    X = pd.DataFrame({"f": [1.0, 2.0, 3.0]})
    Y = pd.DataFrame({"fwd_ret_5m": [0.1, 0.2, 0.3]})
    assert validate_inputs(X, Y)[1] is Y  # no copy of every target column
    renamed = validate_inputs(X, pd.DataFrame({5: [0.1, 0.2, 0.3]}))[1]
    assert list(renamed.columns) == ["5"]
