"""The stages' ``_parameter_constraints``: every parameter checked at fit, one error type."""

from __future__ import annotations

import inspect
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from intelligent_training.discovery import all_estimators
from intelligent_training.exceptions import ConfigError, ParameterError
from intelligent_training.model_selection import PurgedTimeSeriesSplit
from intelligent_training.utils import STAGE_CONSTRAINTS, stage_constraints

STAGES = dict(all_estimators("stage"))


def _params(cls: type) -> list[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_stage_parameter_has_exactly_one_constraint(name):
    cls = STAGES[name]
    assert set(cls._parameter_constraints) == set(_params(cls)), (
        f"{name}: parameters without a constraint "
        f"{sorted(set(_params(cls)) - set(cls._parameter_constraints))}; constraints "
        f"without a parameter {sorted(set(cls._parameter_constraints) - set(_params(cls)))}"
    )


@pytest.mark.parametrize("name", sorted(STAGES))
def test_the_defaults_are_valid(name):
    STAGES[name]()._validate_params()


@pytest.mark.parametrize(
    ("name", "param"), [(n, p) for n in sorted(STAGES) for p in _params(STAGES[n])]
)
def test_a_bad_value_is_a_parameter_error_naming_stage_and_parameter(name, param):
    estimator = STAGES[name]().set_params(**{param: object()})
    with pytest.raises(
        ParameterError, match=rf"^The '{param}' parameter of {name} must be "
    ) as info:
        estimator.fit(None, None)  # checked before the data is looked at
    assert isinstance(info.value, ConfigError) and isinstance(info.value, InvalidParameterError)
    assert "Got <object object at" in str(info.value)


VALID: list[tuple[str, dict[str, Any]]] = [
    ("TargetRanker", {"cv": PurgedTimeSeriesSplit(n_splits=4, horizon=2)}),
    ("TargetRanker", {"cv": 3, "n_jobs": -2, "random_state": np.random.RandomState(0)}),
    ("TargetRanker", {"horizons": {"a": "15min", "b": 3, "c": pd.Timedelta("1h"), "d": "2b"}}),
    ("TargetRanker", {"default_horizon": "30min", "families": {"linear": None}}),
    ("TargetRanker", {"min_score": -0.5, "top_n": None, "verbose": 2}),
    ("FeatureSelector", {"importance": "shap", "correlation_threshold": None}),
    ("FeatureSelector", {"importance": ["native", "permutation"], "aggregate_symbols": True}),
    ("FeatureSelector", {"memory": joblib.Memory(None), "families": ("linear", "lightgbm")}),
    ("ModelTrainer", {"task": "classification", "strategy": "cascade", "threads": 2}),
    ("ModelTrainer", {"cpu_only": np.bool_(True), "max_rows_train": None, "n_jobs": None}),
    ("IntelligentPipeline", {"max_samples_per_symbol": {"ranking": None, "selection": 5}}),
    ("IntelligentPipeline", {"targets": ["fwd_ret_5m"], "features": {"fwd_ret_5m": ["f00"]}}),
]


@pytest.mark.parametrize(("name", "params"), VALID)
def test_valid_values_pass(name, params, tmp_path):
    STAGES[name](**params)._validate_params()
    STAGES[name](memory=tmp_path)._validate_params()  # a path


INVALID: list[tuple[str, str, Any, str]] = [
    ("TargetRanker", "top_n", True, r"an int in the range \[1, inf\) or None"),
    ("TargetRanker", "top_n", 0, r"an int in the range \[1, inf\)"),
    ("TargetRanker", "cv", 1, r"an int in the range \[2, inf\), a splitter"),
    ("TargetRanker", "cv", "five", "a splitter with a split"),
    ("TargetRanker", "horizons", {"t": -1}, r"a dict \{target: horizon\}"),
    ("TargetRanker", "horizons", ["5m"], r"a dict \{target: horizon\}"),
    ("TargetRanker", "default_horizon", "soon", "a horizon"),
    ("TargetRanker", "families", {"linear": 5}, r"a dict \{family: \{parameter: value\}\}"),
    ("TargetRanker", "min_score", float("nan"), "a float"),
    ("TargetRanker", "min_rows", 1, r"\[2, inf\)"),
    ("TargetRanker", "leakage_score", 0, r"\(0.0, inf\)"),
    ("TargetRanker", "n_jobs", 0, r"\(-inf, -1\]"),
    ("TargetRanker", "verbose", -1, "an int in the range"),
    ("TargetRanker", "memory", 3, r"cache\(\) method"),
    ("FeatureSelector", "importance", ("native", "native"), "distinct"),
    ("FeatureSelector", "importance", ("gain",), "'native', 'shap', 'permutation'"),
    ("FeatureSelector", "importance", (), "non-empty"),
    ("FeatureSelector", "correlation_threshold", 0.0, r"\(0.0, 1.0\]"),
    ("FeatureSelector", "aggregate_symbols", "yes", "bool"),
    ("FeatureSelector", "explain_rows", 0, r"\[1, inf\) or None"),
    ("ModelTrainer", "task", "binary", "'auto'"),
    ("ModelTrainer", "strategy", "joint", "'cascade'"),
    ("ModelTrainer", "threads", 0, r"\[1, inf\)"),
    ("IntelligentPipeline", "targets", [], "non-empty list of target names"),
    ("IntelligentPipeline", "features", {"t": []}, r"\{target: \[feature names\]\}"),
    ("IntelligentPipeline", "max_samples_per_symbol", {"rank": 3}, "'ranking'"),
    ("IntelligentPipeline", "trainer", "lightgbm", "implementing 'fit' and 'predict'"),
]


@pytest.mark.parametrize(("name", "param", "value", "valid"), INVALID)
def test_invalid_values_say_what_is_valid(name, param, value, valid):
    with pytest.raises(ParameterError, match=rf"'{param}' parameter of {name} must be .*{valid}"):
        STAGES[name](**{param: value})._validate_params()


def test_shared_constraints_are_one_definition():
    # The four stages use the very same objects for the parameters they share.
    for name, cls in STAGES.items():
        for param, constraint in cls._parameter_constraints.items():
            if param in STAGE_CONSTRAINTS:
                assert constraint is STAGE_CONSTRAINTS[param], (name, param)
    with pytest.raises(KeyError, match="no shared constraint"):
        stage_constraints("n_jobz")
