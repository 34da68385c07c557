"""Family parameters: unknown names fail early, the precedence rule, row-scaled leaf sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intelligent_training.exceptions import ConfigError, FamilyError, ParameterError
from intelligent_training.families import (
    family_params,
    get_family,
    make_estimator,
    resolve_families,
    split_runtime_params,
    validate_family_params,
)
from intelligent_training.families._row_scaling import scaled_leaf_size


# ------------------------------------------------------------------ unknown parameters
@pytest.mark.parametrize(
    ("family", "typo", "meant"),
    [
        ("lightgbm", "n_estimatorz", "n_estimators"),
        ("xgboost", "max_dpeth", "max_depth"),
        ("random_forest", "min_samples_lef", "min_samples_leaf"),
        ("extra_trees", "n_estimator", "n_estimators"),
        ("linear", "alpah", "alpha"),
        ("ngboost", "minibatch_frax", "minibatch_frac"),
        ("meta_learning", "final_familly", "final_family"),
        ("mlp", "hiden_sizes", "hidden_sizes"),
        ("lstm", "lookbak", "lookback"),
        ("multi_task", "trunk_size", "trunk_sizes"),
    ],
)
def test_a_typo_names_the_parameter_the_family_and_a_close_match(family, typo, meant):
    with pytest.raises(FamilyError) as info:
        validate_family_params(family, {typo: 1})
    message = str(info.value)
    assert repr(typo) in message and repr(family) in message and repr(meant) in message


def test_every_family_accepts_its_packaged_defaults_and_runtime_keys():
    from intelligent_training.families import available_families

    for name in available_families():
        for task in get_family(name).tasks:
            if task == "multi":
                continue
            params = {**family_params(name, task), "random_state": 0, "n_jobs": 1}
            validate_family_params(name, params, task)


def test_native_library_names_are_valid():
    validate_family_params("lightgbm", {"min_data_in_leaf": 5, "bagging_fraction": 0.5})
    validate_family_params("xgboost", {"eta": 0.1, "lambda": 2.0}, "regression")
    with pytest.raises(FamilyError, match="'etaa'"):
        validate_family_params("xgboost", {"etaa": 0.1})


def test_the_task_narrows_the_valid_names():
    validate_family_params("random_forest", {"class_weight": "balanced"})  # some task has it
    validate_family_params("random_forest", {"class_weight": "balanced"}, "binary")
    with pytest.raises(FamilyError, match="class_weight.*regression"):
        validate_family_params("random_forest", {"class_weight": "balanced"}, "regression")


def test_nested_stacking_parameters_are_checked():
    with pytest.raises(FamilyError, match="base_params.*n_estimatorz.*lightgbm"):
        validate_family_params("meta_learning", {"base_params": {"lightgbm": {"n_estimatorz": 3}}})


def test_resolve_families_and_make_estimator_check_before_building():
    with pytest.raises(FamilyError, match="n_estimatorz"):
        resolve_families({"lightgbm": {"n_estimatorz": 30}})
    with pytest.raises(FamilyError, match="n_estimatorz"):
        make_estimator("lightgbm", "regression", {"n_estimatorz": 30})


def test_a_stage_fails_on_a_typo_before_any_model_is_fit(monkeypatch):
    from intelligent_training.datasets import make_synthetic_panel
    from intelligent_training.families import _trees
    from intelligent_training.ranking import TargetRanker

    fits: list[str] = []
    original = _trees.AutoLGBMRegressor.fit
    monkeypatch.setattr(
        _trees.AutoLGBMRegressor,
        "fit",
        lambda self, *a, **k: fits.append("x") or original(self, *a, **k),
    )
    import lightgbm

    monkeypatch.setattr(lightgbm, "train", lambda *a, **k: fits.append("native"))
    panel, truth = make_synthetic_panel(n_symbols=2, n_timestamps=200, random_state=0)
    X, Y = panel.drop(columns=list(truth.tasks)), panel[["fwd_ret_5m"]]
    with pytest.raises(FamilyError, match="n_estimatorz"):
        TargetRanker(families={"lightgbm": {"n_estimatorz": 30}}, cv=2).fit(X, Y)
    assert fits == []


# ------------------------------------------------------------------------ precedence
def test_user_params_win_over_the_stage_random_state_and_n_jobs():
    est = make_estimator(
        "xgboost", "regression", {"random_state": 3, "n_jobs": 2}, random_state=5, n_jobs=1
    )
    assert (est.random_state, est.n_jobs) == (3, 2)
    est = make_estimator("lightgbm", "binary", {"random_state": 3}, random_state=5, n_jobs=1)
    assert (est.random_state, est.n_jobs) == (3, 1)
    assert make_estimator("random_forest", "regression", random_state=5).random_state == 5
    assert split_runtime_params({"n_jobs": 4, "a": 1}, random_state=0, n_jobs=1) == ({"a": 1}, 0, 4)


def test_user_params_win_in_the_torch_and_stacking_builders():
    pytest.importorskip("torch")
    assert (
        make_estimator("mlp", "regression", {"random_state": 3}, random_state=5).random_state == 3
    )
    meta = make_estimator("meta_learning", "regression", {"n_jobs": 2}, random_state=1, n_jobs=1)
    assert (meta.random_state, meta.n_jobs) == (1, 2)


def test_ranker_fast_path_takes_user_random_state_and_n_jobs():
    from intelligent_training.datasets import make_synthetic_panel
    from intelligent_training.ranking import TargetRanker

    panel, truth = make_synthetic_panel(n_symbols=2, n_timestamps=300, random_state=0)
    X, Y = panel.drop(columns=list(truth.tasks)), panel[["fwd_ret_5m", "y_up_15m"]]
    families = {
        "xgboost": {"n_estimators": 20, "random_state": 0, "n_jobs": 2},
        "lightgbm": {"n_estimators": 20, "random_state": 0, "n_jobs": 2},
    }
    first = TargetRanker(families=families, cv=2, random_state=1).fit(X, Y).rankings_
    again = TargetRanker(families=families, cv=2, random_state=9).fit(X, Y).rankings_
    # the families' own seed wins over the stage's: same models, same scores
    pd.testing.assert_series_equal(first["score"], again["score"])


# --------------------------------------------------------------------- "auto" leaves
AUTO = [
    ("lightgbm", "regression", "min_child_samples", 100),
    ("xgboost", "regression", "min_child_weight", 50),
    ("xgboost", "binary", "min_child_weight", 50),
    ("random_forest", "regression", "min_samples_leaf", 50),
    ("extra_trees", "binary", "min_samples_leaf", 50),
    ("ngboost", "regression", "min_samples_leaf", 50),
]


def _xy(n: int, task: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = X[:, 0] + 0.5 * rng.normal(size=n)
    return X, (y > 0).astype(int) if task != "regression" else y


@pytest.mark.parametrize(("family", "task", "param", "cap"), AUTO)
@pytest.mark.parametrize("n", [60, 400, 3000])
def test_auto_leaf_size_is_resolved_at_fit_without_changing_params(family, task, param, cap, n):
    if not get_family(family).is_available():
        pytest.skip("optional dependency missing")
    est = make_estimator(family, task, {"n_estimators": 5}, random_state=0, n_jobs=1)
    assert est.get_params()[param] == "auto"
    est.fit(*_xy(n, task))
    assert est.get_params()[param] == "auto"  # never changed in fit
    used = est.auto_params_[param]
    # the registry's resolution (what native-API code uses) is the fitted value
    assert family_params(family, task, n_rows=n)[param] == used
    assert 1 <= used <= cap
    assert used == scaled_leaf_size(cap, est._rows_per_tree(n))


def test_auto_reaches_the_trees_of_a_forest():
    est = make_estimator("random_forest", "regression", {"n_estimators": 3}, random_state=0)
    est.fit(*_xy(300, "regression"))
    assert {tree.min_samples_leaf for tree in est.estimators_} == {6}  # 300 * 0.2 // 10


@pytest.mark.parametrize(
    ("family", "param", "cap", "n"),
    [
        ("lightgbm", "min_child_samples", 100, 1500),
        ("random_forest", "min_samples_leaf", 50, 3000),
        ("xgboost", "min_child_weight", 50.0, 800),
    ],
)
def test_large_training_sets_fit_exactly_as_with_the_fixed_number(family, param, cap, n):
    X, y = _xy(n, "regression")
    auto = make_estimator(family, "regression", {"n_estimators": 10}, random_state=0, n_jobs=1)
    fixed = make_estimator(
        family, "regression", {"n_estimators": 10, param: cap}, random_state=0, n_jobs=1
    )
    np.testing.assert_array_equal(auto.fit(X, y).predict(X), fixed.fit(X, y).predict(X))


def test_small_data_trees_can_split():
    X, y = _xy(120, "regression")
    est = make_estimator("lightgbm", "regression", {"n_estimators": 30}, random_state=0, n_jobs=1)
    assert est.fit(X, y).booster_.trees_to_dataframe()["split_feature"].notna().any()
    assert np.corrcoef(est.predict(X), y)[0, 1] > 0.5


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_native_mappers_refuse_unresolved_auto(family):
    from intelligent_training.evaluation._fast import native_params

    with pytest.raises(FamilyError, match="n_rows"):
        native_params(
            family,
            family_params(family, "regression"),
            "regression",
            0,
            random_state=0,
            n_threads=1,
        )


# ------------------------------------------------------------------- value checks
def test_torch_value_errors_are_config_and_sklearn_errors():
    pytest.importorskip("torch")
    from sklearn.utils._param_validation import InvalidParameterError

    from intelligent_training.families.torch import MLPRegressor

    with pytest.raises(ParameterError, match="'max_epochs' parameter of MLPRegressor") as info:
        MLPRegressor(max_epochs=0).fit(np.zeros((10, 2)), np.arange(10.0))
    assert isinstance(info.value, ConfigError) and isinstance(info.value, InvalidParameterError)
    with pytest.raises(ConfigError, match="hidden_sizes"):
        MLPRegressor(hidden_sizes=(8, 0)).fit(np.zeros((10, 2)), np.arange(10.0))


def test_job_rejects_config_keys_an_estimator_does_not_take():
    from intelligent_training.app._build import _make
    from intelligent_training.selection import FeatureSelector

    with pytest.raises(ConfigError, match="FeatureSelector does not take.*'n_estimatorz'"):
        _make(FeatureSelector, top_m=5, n_estimatorz=3)
    assert _make(FeatureSelector, top_m=None).top_m == FeatureSelector().top_m


def test_xgboost_family_lives_in_its_own_module_and_old_pickles_still_load():
    """XGBoost is imported only by runs that use it; models pickled when its classes
    lived in ``families._trees`` still unpickle (the old path forwards to the new)."""
    import pickle
    import subprocess
    import sys

    from intelligent_training.families import _trees, _xgboost, make_estimator

    assert _trees.AutoXGBRegressor is _xgboost.AutoXGBRegressor
    estimator = make_estimator("xgboost", "regression", {"n_estimators": 3}, random_state=0)
    old = pickle.dumps(estimator, protocol=0).replace(
        b"intelligent_training.families._xgboost", b"intelligent_training.families._trees"
    )
    assert b"families._trees\nAutoXGBRegressor" in old
    restored = pickle.loads(old)
    assert type(restored) is _xgboost.AutoXGBRegressor
    assert restored.get_params()["n_estimators"] == 3
    code = (
        "import sys\n"
        "from intelligent_training.families import make_estimator\n"
        "make_estimator('lightgbm', 'regression', {}, random_state=0)\n"
        "print('xgboost' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
