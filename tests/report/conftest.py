"""A small fitted pipeline on the synthetic panel, shared by the report tests."""

from __future__ import annotations

import warnings

import pytest

from intelligent_training import FeatureSelector, IntelligentPipeline, ModelTrainer, TargetRanker
from intelligent_training.data import split_features_targets
from intelligent_training.datasets import make_synthetic_panel

FAST = {"lightgbm": {"n_estimators": 25}, "xgboost": {"n_estimators": 25}}


@pytest.fixture(scope="session")
def panel_xy():
    panel, truth = make_synthetic_panel(
        n_symbols=4, n_timestamps=360, n_features=12, random_state=0
    )
    X, Y = split_features_targets(panel)
    return X, Y, truth


@pytest.fixture(scope="session")
def fitted(panel_xy):
    X, Y, _ = panel_xy
    pipe = IntelligentPipeline(
        TargetRanker(families=FAST, top_n=3, random_state=0),
        FeatureSelector(
            families={"lightgbm": FAST["lightgbm"], "linear": {}},
            importance=("native", "permutation"),
            top_m=4,
            random_state=0,
        ),
        ModelTrainer(
            families={"lightgbm": {"n_estimators": 25}, "linear": {}}, cv=3, random_state=0
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, Y)
    return pipe


@pytest.fixture(scope="session")
def saved_dir(fitted, tmp_path_factory):
    """``fitted`` written by ``IntelligentPipeline.save`` (with its report)."""
    out = tmp_path_factory.mktemp("report-run") / "out"
    fitted.save(out)
    return out
