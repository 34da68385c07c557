"""FeatureSelector on the synthetic panel with known truth, and its sklearn behaviour."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.exceptions import ConfigError, DataError, FamilyError
from intelligent_training.model_selection import PurgedTimeSeriesSplit
from intelligent_training.selection import FeatureSelector

# Small, fast family settings; the selection logic does not depend on model size.
FAST = {
    "linear": {},
    "lightgbm": {"n_estimators": 60},
    "random_forest": {"n_estimators": 30},
}


@pytest.fixture(scope="module")
def panel_truth():
    return make_synthetic_panel(n_symbols=3, n_timestamps=800, random_state=0)


@pytest.fixture(scope="module")
def X(panel_truth):
    panel, truth = panel_truth
    return panel[truth.features]


def _selector(**kwargs):
    params = {
        "families": FAST,
        "importance": ("native", "permutation"),
        "n_repeats": 2,
        "random_state": 0,
    }
    params.update(kwargs)
    return FeatureSelector(**params)


def _check_planted(selector, truth, target):
    planted = set(truth.informative_features[target])
    selected = set(selector.selected_features_)
    precision = len(selected & planted) / len(selected)
    assert precision >= 0.75, (target, selector.selected_features_, sorted(planted))
    assert not selected & set(truth.noise_features)
    scores = pd.Series(selector.feature_importances_, index=selector.feature_names_in_)
    assert scores[sorted(planted)].mean() > scores[truth.noise_features].mean() + 0.3


def test_linear_target_planted_features_with_all_methods(panel_truth, X):
    panel, truth = panel_truth
    target = truth.linear_target
    n_planted = len(truth.informative_features[target])
    selector = _selector(
        families={"linear": {}, "lightgbm": {"n_estimators": 60}},
        importance=("native", "shap", "permutation"),
        explain_rows=150,
        top_m=n_planted,
    ).fit(X, panel[target])
    _check_planted(selector, truth, target)
    assert len(selector.selected_features_) == n_planted
    assert selector.task_ == "regression"

    table = selector.importances_
    assert list(table.index) == list(X.columns)
    assert set(table.columns) == {
        (f, m) for f in ("linear", "lightgbm") for m in ("native", "shap", "permutation")
    }
    np.testing.assert_allclose(table.sum(axis=0), 1.0)  # normalised per family x method
    assert selector.feature_importances_.shape == (X.shape[1],)

    agree = selector.agreement_matrix_
    assert agree.shape == (2, 2)
    assert list(agree.index) == ["linear", "lightgbm"] == list(agree.columns)
    np.testing.assert_allclose(np.diag(agree), 1.0)
    assert agree.loc["linear", "lightgbm"] > 0  # both see the same linear signal


def test_nonlinear_target_planted_features(panel_truth, X):
    panel, truth = panel_truth
    target = truth.nonlinear_target
    n_planted = len(truth.informative_features[target])
    # SHAP and permutation importance on a 300-row sample of each 600-row test fold.
    selector = _selector(top_m=n_planted, explain_rows=300).fit(X, panel[target])
    _check_planted(selector, truth, target)
    assert selector.families_ == ["linear", "lightgbm", "random_forest"]
    assert selector.family_errors_ == {}
    assert selector.agreement_matrix_.shape == (3, 3)
    report = selector.fold_report_
    assert len(report) == 9 and report.error.isna().all()
    assert (report.n_test > 0).all() and (report.fit_seconds <= report.seconds).all()
    assert np.isfinite(report.test_loss).all()


def test_binary_target(panel_truth, X):
    panel, truth = panel_truth
    target = next(t for t in truth.target_order if truth.tasks[t] == "binary")
    n_planted = len(truth.informative_features[target])
    selector = _selector(top_m=n_planted).fit(X, panel[target])
    assert selector.task_ == "binary"
    _check_planted(selector, truth, target)


def test_redundant_copies_are_clustered_on_the_panel(panel_truth, X):
    panel, truth = panel_truth
    target = truth.linear_target
    selector = _selector(top_m=len(truth.informative_features[target])).fit(X, panel[target])
    clusters = selector.feature_clusters_
    for copy, original in truth.redundant_features.items():
        assert clusters[copy] == clusters[original]
        # Never both a feature and its near-copy.
        assert not {copy, original} <= set(selector.selected_features_)


def _crowding_data(seed=0):
    """Signal ``a`` (with three near-copies) and a weaker distinct signal ``b``."""
    rng = np.random.RandomState(seed)
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=500, freq="5min"), ["S1", "S2"]],
        names=["timestamp", "symbol"],
    )
    n = len(index)
    a, b = rng.standard_normal((2, n))
    data = {"a": a, "b": b}
    for k in range(3):
        data[f"a_copy{k}"] = a + 0.1 * rng.standard_normal(n)
    for k in range(5):
        data[f"noise{k}"] = rng.standard_normal(n)
    X = pd.DataFrame(data, index=index).astype(np.float32)
    y = pd.Series(a + 0.5 * b + 0.5 * rng.standard_normal(n), index=index, name="y_signal")
    return X, y


# The packaged large-panel leaf sizes, fixed (the "auto" default scales them down on
# these 1,000 rows, where the models then find ``b`` even among the copies).
LARGE_LEAVES = {
    "linear": {},
    "lightgbm": {"n_estimators": 60, "min_child_samples": 100},
    "random_forest": {"n_estimators": 30, "min_samples_leaf": 50},
}


def test_redundant_copies_do_not_crowd_out_a_distinct_signal():
    X, y = _crowding_data()
    clustered = _selector(top_m=2, families=LARGE_LEAVES).fit(X, y)
    selected = set(clustered.selected_features_)
    assert "b" in selected
    assert len(selected & {"a", "a_copy0", "a_copy1", "a_copy2"}) == 1
    a_cluster = clustered.feature_clusters_[["a", "a_copy0", "a_copy1", "a_copy2"]]
    assert a_cluster.nunique() == 1
    assert clustered.feature_clusters_["b"] != a_cluster.iloc[0]
    # Without clustering the copies of ``a`` take both places.
    unclustered = _selector(top_m=2, correlation_threshold=None, families=LARGE_LEAVES).fit(X, y)
    assert "b" not in unclustered.selected_features_


def test_failing_family_is_reported_and_skipped(panel_truth, X, caplog):
    panel, truth = panel_truth
    families = {**FAST, "random_forest": {"max_depth": "not-a-depth"}}
    with caplog.at_level(logging.WARNING, logger="intelligent_training.selection"):
        selector = _selector(families=families, top_m=3).fit(X, panel[truth.linear_target])
    assert list(selector.family_errors_) == ["random_forest"]
    assert "max_depth" in selector.family_errors_["random_forest"]
    assert selector.families_ == ["linear", "lightgbm"]
    assert "random_forest" in caplog.text
    report = selector.fold_report_
    assert report.loc[report.family == "random_forest", "error"].notna().all()
    assert report.loc[report.family != "random_forest", "error"].isna().all()
    assert "random_forest" not in selector.importances_.columns.get_level_values("family")


def test_family_failing_on_some_folds_keeps_the_others(panel_truth, X, caplog):
    panel, truth = panel_truth
    # Binary target whose first 30% of rows are one class: fold 0 trains on one class,
    # which the classifiers reject; folds 1 and 2 work.
    target = next(t for t in truth.target_order if truth.tasks[t] == "binary")
    y = panel[target].copy()
    y.iloc[: int(0.3 * len(y))] = y.min()
    with caplog.at_level(logging.WARNING, logger="intelligent_training.selection"):
        selector = _selector(families=["linear", "lightgbm"], top_m=3).fit(X, y)
    assert selector.family_errors_ == {}
    report = selector.fold_report_.set_index(["family", "fold"])
    assert report.loc[("linear", 0), "error"] is not None
    assert report.loc[[("linear", 1), ("linear", 2)], "error"].isna().all()
    assert "fold 0" in caplog.text
    assert len(set(selector.selected_features_) & set(truth.informative_features[target])) >= 2


def test_too_few_succeeding_families_raise(panel_truth, X):
    panel, truth = panel_truth
    families = {"linear": {}, "random_forest": {"max_depth": "not-a-depth"}}
    with pytest.raises(FamilyError, match=r"random_forest.*require_min_models"):
        _selector(families=families).fit(X, panel[truth.linear_target])


def test_require_min_models_above_family_count_is_a_config_error(panel_truth, X):
    panel, truth = panel_truth
    with pytest.raises(ConfigError, match="require_min_models=3"):
        _selector(families=["linear", "lightgbm"], require_min_models=3).fit(
            X, panel[truth.linear_target]
        )


def test_family_without_the_task_is_reported(panel_truth, X):
    panel, truth = panel_truth
    # A multiclass target; the gan family handles regression and binary only (it is
    # skipped before being built, so torch is not needed).
    y = pd.Series(np.tile([0, 1, 2], len(X) // 3 + 1)[: len(X)], index=X.index)
    selector = _selector(families={**FAST, "gan": {}}, top_m=3).fit(X, y)
    assert selector.task_ == "multiclass"
    assert "multiclass" in selector.family_errors_["gan"]
    assert selector.families_ == ["linear", "lightgbm", "random_forest"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("importance", ("native", "gain")),
        ("importance", ()),
        ("top_m", 0),
        ("require_min_models", 1.5),
        ("correlation_threshold", 1.5),
        ("n_repeats", 0),
        ("explain_rows", -1),
        ("explain_rows", 0),
        ("aggregate_symbols", "yes"),
        ("cv", "five"),
        ("cv", 1),
    ],
)
def test_invalid_parameters_raise_config_error(panel_truth, X, param, value):
    panel, truth = panel_truth
    with pytest.raises(ConfigError, match=param if param != "cv" else "cv"):
        _selector(**{param: value}).fit(X, panel[truth.linear_target])


@pytest.fixture(scope="module")
def fitted(panel_truth, X):
    panel, truth = panel_truth
    return _selector(top_m=3).fit(X, panel[truth.linear_target])


def test_transform_uses_the_X_it_is_given(fitted, X):
    other = (X.iloc[::-1] * 2.0 + 1.0).astype(np.float32)
    out = fitted.transform(other)
    expected = other[fitted.get_feature_names_out()].to_numpy()
    np.testing.assert_array_equal(out, expected)
    assert out.shape == (len(X), 3)
    mask = fitted.get_support()
    assert mask.dtype == bool and mask.sum() == 3
    assert list(np.asarray(X.columns)[mask]) == sorted(fitted.selected_features_)
    assert set(fitted.get_feature_names_out()) == set(fitted.selected_features_)


def test_set_output_pandas_keeps_panel_index(fitted, X):
    selector = clone(fitted).set_output(transform="pandas")
    selector.fit(X, fitted_y(X))
    part = X.iloc[:50]
    out = selector.transform(part)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(part.index)
    assert list(out.columns) == list(selector.get_feature_names_out())


def fitted_y(X):
    rng = np.random.RandomState(0)
    return pd.Series(X["f04"].to_numpy() + rng.standard_normal(len(X)), index=X.index)


def test_transform_rejects_other_columns(fitted, X):
    with pytest.raises(ValueError, match="feature names"):
        fitted.transform(X[X.columns[::-1]])
    with pytest.raises(ValueError, match="features"):
        fitted.transform(X.to_numpy()[:, :5])


def test_array_input_uses_row_order_and_generic_names(panel_truth, X):
    panel, truth = panel_truth
    target = truth.linear_target
    selector = _selector(top_m=3).fit(X.to_numpy(), panel[target].to_numpy())
    assert not hasattr(selector, "feature_names_in_")
    assert list(selector.importances_.index) == [f"x{i}" for i in range(X.shape[1])]
    chosen = {X.columns[int(name[1:])] for name in selector.get_feature_names_out()}
    assert len(chosen & set(truth.informative_features[target])) >= 2


def test_deterministic_and_clone_safe(fitted, panel_truth, X):
    panel, truth = panel_truth
    again = clone(fitted).fit(X, panel[truth.linear_target])
    np.testing.assert_array_equal(again.feature_importances_, fitted.feature_importances_)
    assert again.selected_features_ == fitted.selected_features_
    assert clone(fitted).get_params() == fitted.get_params()


def test_does_not_mutate_inputs(panel_truth):
    panel, truth = panel_truth
    X = panel[truth.features].copy()
    y = panel[truth.linear_target].copy()
    X_before, y_before = X.copy(), y.copy()
    _selector(top_m=3, families=["linear", "lightgbm"]).fit(X, y)
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_series_equal(y, y_before)


def test_missing_target_rows_are_left_out(panel_truth, X):
    # Folds are cut on every row's timestamp (as in every stage); rows whose target is
    # NaN are then in no fold, so their feature values cannot change anything.
    panel, truth = panel_truth
    y = panel[truth.linear_target].copy()
    y.iloc[-60:] = np.nan
    y.iloc[300:330] = np.nan
    families = {"linear": {}, "random_forest": {"n_estimators": 30}}
    with_nan = _selector(top_m=3, families=families).fit(X, y)
    X_wild = X.copy()
    X_wild.loc[y.isna().to_numpy()] = 1e6
    wild = _selector(top_m=3, families=families).fit(X_wild, y)
    np.testing.assert_allclose(with_nan.feature_importances_, wild.feature_importances_)
    assert with_nan.selected_features_ == wild.selected_features_
    folds = with_nan.folds_
    full = _selector(top_m=3, families=families).fit(X, panel[truth.linear_target]).folds_
    np.testing.assert_array_equal(folds.n_test, full.n_test - [0, 0, 60])
    assert (folds.n_train == full.n_train - 30).all()


def test_missing_feature_values_are_allowed(panel_truth, X):
    panel, truth = panel_truth
    X_nan = X.copy()
    planted = truth.informative_features[truth.linear_target]
    X_nan.iloc[::5, X.columns.get_indexer([planted[0], truth.noise_features[0]])] = np.nan
    selector = _selector(top_m=len(planted)).fit(X_nan, panel[truth.linear_target])
    _check_planted(selector, truth, truth.linear_target)
    assert selector.transform(X_nan).shape == (len(X_nan), len(planted))


def test_horizon_is_parsed_from_the_target_name(panel_truth, X):
    panel, truth = panel_truth
    y = panel[truth.linear_target].rename("fwd_ret_60m_custom")
    selector = _selector(top_m=3, cv=2, families=["linear", "lightgbm"]).fit(X, y)
    assert isinstance(selector.cv_, PurgedTimeSeriesSplit)
    assert selector.cv_.n_splits == 2
    assert pd.Timedelta(selector.cv_.horizon) == pd.Timedelta("60min")


def test_aggregate_symbols(panel_truth, X):
    panel, truth = panel_truth
    target = truth.linear_target
    selector = _selector(aggregate_symbols=True, top_m=3).fit(X, panel[target])
    _check_planted(selector, truth, target)
    with pytest.raises(DataError, match="symbol"):
        _selector(aggregate_symbols=True).fit(X.to_numpy(), panel[target].to_numpy())


def test_pipeline_and_grid_search(panel_truth, X):
    panel, truth = panel_truth
    y = panel[truth.linear_target]
    pipe = Pipeline(
        [
            ("select", _selector(families={"linear": {}, "lightgbm": {"n_estimators": 30}})),
            ("model", Ridge()),
        ]
    )
    search = GridSearchCV(
        pipe, {"select__top_m": [1, 3]}, cv=PurgedTimeSeriesSplit(n_splits=2), error_score="raise"
    )
    search.fit(X, y)
    assert search.best_params_ == {"select__top_m": 3}
    predictions = search.predict(X)
    assert predictions.shape == (len(X),)
    assert search.best_estimator_["select"].n_features_in_ == X.shape[1]


def test_torch_mlp_family(panel_truth, X):
    pytest.importorskip("torch")
    panel, truth = panel_truth
    target = truth.linear_target
    selector = _selector(
        families={"mlp": {}, "lightgbm": {"n_estimators": 60}},
        importance=("native", "permutation"),
        top_m=3,
    ).fit(X, panel[target])
    assert selector.family_errors_ == {}
    # mlp has no native importance: only its permutation column exists.
    assert ("mlp", "native") not in selector.importances_.columns
    assert ("mlp", "permutation") in selector.importances_.columns
    _check_planted(selector, truth, target)


@pytest.mark.slow
def test_parallel_jobs_match_sequential(panel_truth, X):
    panel, truth = panel_truth
    y = panel[truth.linear_target]
    sequential = _selector(top_m=3).fit(X, y)
    parallel = _selector(top_m=3, n_jobs=2).fit(X, y)
    np.testing.assert_allclose(parallel.feature_importances_, sequential.feature_importances_)
    assert parallel.selected_features_ == sequential.selected_features_


def test_exact_linear_shap_on_a_panel_raises_no_feature_name_warning(X, panel_truth):
    import warnings

    panel, truth = panel_truth
    y = panel[truth.linear_target]
    selector = FeatureSelector(
        families=["linear"], importance=("shap",), require_min_models=1, n_jobs=1, cv=2
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        selector.fit(X, y)
    assert not [w for w in caught if "feature names" in str(w.message)]
    assert set(truth.informative_features[truth.linear_target]) & set(selector.selected_features_)


# ------------------------------------------------------------------ X / y rows
def _misaligned(y, how):
    if how == "reversed":
        return y.iloc[::-1]
    stamps = y.index.get_level_values("timestamp") + pd.Timedelta("1min")
    return y.set_axis(
        pd.MultiIndex.from_arrays([stamps, y.index.get_level_values("symbol")], names=y.index.names)
    )


@pytest.mark.parametrize("how", ["reversed", "shifted"])
def test_y_on_other_rows_than_X_is_refused_like_every_estimator(panel_truth, X, how):
    """Never fit y by position: y in reversed order selected [] instead of the planted
    features, and y with timestamps a minute off was fitted to the wrong rows."""
    from intelligent_training import IntelligentPipeline, ModelTrainer, TargetRanker

    panel, truth = panel_truth
    y = _misaligned(panel[truth.linear_target], how)
    row = "row 0" if how == "shifted" else "row 0: X has"
    for fit in (
        lambda: _selector(families={"linear": {}}, require_min_models=1).fit(X, y),
        lambda: TargetRanker(families=["linear"]).fit(X, y.to_frame()),
        lambda: ModelTrainer(families=["linear"]).fit(X, y),
        lambda: IntelligentPipeline(targets=[truth.linear_target]).fit(X, y.to_frame()),
    ):
        with pytest.raises(DataError, match=rf"y is not on the same index as X .*{row}"):
            fit()
    # the same target on X's own rows is fitted as before, whatever its order was
    realigned = y.iloc[::-1] if how == "reversed" else panel[truth.linear_target]
    selector = _selector(families={"linear": {}}, require_min_models=1, top_m=5)
    _check_planted(selector.fit(X, realigned), truth, truth.linear_target)
