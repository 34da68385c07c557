"""sample_weight="uniqueness": computed once by the target contract, reaching every fit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from intelligent_training import FeatureSelector, ModelTrainer, TargetRanker
from intelligent_training.evaluation import resolve_targets
from intelligent_training.evaluation._fast import FoldBins, bin_params, native_params
from intelligent_training.exceptions import ParameterError
from intelligent_training.families import available_families, get_family, make_estimator
from intelligent_training.model_selection import PurgedTimeSeriesSplit
from intelligent_training.stats import average_uniqueness


def _panel(n_t: int = 240, n_s: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n_t, freq="5min"), [f"S{i}" for i in range(n_s)]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame(rng.standard_normal((len(index), 4)), index=index, columns=list("abcd"))
    y = X["a"].to_numpy() + rng.standard_normal(len(index))
    y[rng.random(len(y)) < 0.2] = np.nan  # gaps: the overlap differs from row to row
    Y = pd.DataFrame({"fwd_ret_15m": y, "fwd_ret_5m": y}, index=index)
    return X, Y


def test_the_target_contract_computes_the_weights_once():
    X, Y = _panel()
    ts = X.index.get_level_values("timestamp").to_numpy()
    targets = resolve_targets(
        Y, X, timestamps=ts, cv=PurgedTimeSeriesSplit(3), owner="test", sample_weight="uniqueness"
    )
    spec = targets["fwd_ret_15m"]
    assert spec.horizon_bars == 3
    codes = pd.factorize(ts, sort=True)[0]
    symbols = pd.factorize(X.index.get_level_values("symbol"))[0]
    expected = average_uniqueness(codes, symbols, spec.labelled, 3)
    np.testing.assert_array_equal(spec.weights, expected)
    assert np.ptp(spec.weights[spec.labelled]) > 0.5  # gaps make some labels more unique
    rows = spec.folds[0].train
    np.testing.assert_array_equal(spec.fit_weights(rows), expected[rows])
    # one bar: every label is unique, all weights would be 1: the fits stay unweighted
    assert targets["fwd_ret_5m"].weights is None
    plain = resolve_targets(Y, X, timestamps=ts, cv=PurgedTimeSeriesSplit(3), owner="test")
    assert plain["fwd_ret_15m"].weights is None and plain["fwd_ret_15m"].fit_weights(rows) is None


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_fast_path_boosters_are_trained_with_the_weights(family):
    pytest.importorskip(family)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((800, 5)).astype(np.float32)
    y = X[:, 0] + 0.5 * rng.standard_normal(800)
    params = {"n_estimators": 20, "num_leaves": 7, "max_depth": 3, "max_bin": 31}
    if family == "xgboost":
        params.pop("num_leaves")
    native, rounds = native_params(family, params, "regression", 2, random_state=0, n_threads=1)
    base, train, test = np.arange(700), np.arange(10, 690), np.arange(700, 800)
    bins = FoldBins(family, base, bin_params(family, native))

    def fit(weight):
        model = bins.fit(
            X, train, y[train], native, rounds, task="regression", n_classes=0, weight=weight
        )
        return np.asarray(model.scores(X[test]))

    unweighted = fit(None)
    np.testing.assert_array_equal(fit(np.ones(len(train))), unweighted)  # weight 1 = none
    varied = rng.uniform(0.2, 3.0, len(train))
    assert not np.allclose(fit(varied), unweighted)  # the weights reach the booster


def _fit_takes_sample_weight(estimator) -> bool:
    """Whether ``estimator.fit`` accepts ``sample_weight``, following ``fit(X, y, **kw)``
    overrides that pass their keywords on to the next ``fit`` of the class hierarchy."""
    import inspect

    for cls in type(estimator).__mro__:
        fit = cls.__dict__.get("fit")
        if fit is None:
            continue
        parameters = inspect.signature(fit).parameters
        if "sample_weight" in parameters:
            return True
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return False
    return False


def test_the_families_that_declare_weights_take_them_in_fit():
    # the engine trusts the family's accepts_sample_weight; the estimators must honour it
    declared = {}
    for name in available_families(installed_only=True):
        spec = get_family(name)
        if "regression" not in spec.tasks or spec.joint_output:
            continue
        estimator = make_estimator(name, "regression", {}, random_state=0, n_jobs=1)
        declared[name] = spec.accepts_sample_weight
        if spec.accepts_sample_weight:
            assert _fit_takes_sample_weight(estimator), name
    assert {n for n, takes in declared.items() if takes} >= {
        "lightgbm",
        "xgboost",
        "random_forest",
    }
    assert declared["linear"] is False


def test_every_stage_takes_the_option_and_checks_it():
    X, Y = _panel()
    fam = {"random_forest": {"n_estimators": 10, "max_depth": 3}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = TargetRanker(families=fam, top_n=2, random_state=0, verbose=False).fit(X, Y)
        weighted = TargetRanker(
            families=fam, top_n=2, random_state=0, verbose=False, sample_weight="uniqueness"
        ).fit(X, Y)
        # the registry path: the forest sees the weights (3-bar labels with gaps differ) ...
        assert weighted.rankings_.loc["fwd_ret_15m", "score"] != pytest.approx(
            plain.rankings_.loc["fwd_ret_15m", "score"], abs=1e-12
        )
        # ... and one-bar labels, all weighted 1, give the unweighted model exactly
        assert weighted.rankings_.loc["fwd_ret_5m", "score"] == pytest.approx(
            plain.rankings_.loc["fwd_ret_5m", "score"], abs=1e-12
        )
        selector = FeatureSelector(
            families={"lightgbm": {"n_estimators": 10}, "random_forest": {"n_estimators": 10}},
            importance="native",
            top_m=2,
            relevance=None,
            random_state=0,
            verbose=False,
            sample_weight="uniqueness",
        ).fit(X, Y["fwd_ret_15m"])
        assert "a" in selector.selected_features_
        trainer = ModelTrainer(
            families=["lightgbm", "linear"], random_state=0, verbose=False,
            sample_weight="uniqueness",
        ).fit(X, Y[["fwd_ret_15m"]])  # fmt: skip
        assert trainer.targets_ == ["fwd_ret_15m"]
    for stage in (TargetRanker, FeatureSelector, ModelTrainer):
        with pytest.raises(ParameterError, match="'sample_weight' parameter"):
            stage(sample_weight="equal").fit(X, Y[["fwd_ret_15m"]])
