"""The three stages purge every target identically: an overridden horizon, a default
horizon for a name without a token, and a horizon parsed from the name; from the Python
API and through the CLI's configuration path (``build_pipeline``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from intelligent_training import FeatureSelector, IntelligentPipeline, ModelTrainer, TargetRanker
from intelligent_training.datasets import make_synthetic_panel

HORIZONS = {"tgt_beta_30m": "120min"}
DEFAULT = "60min"
EXPECTED = {
    "fwd_ret_5m": pd.Timedelta("5min"),  # from the name
    "tgt_beta_30m": pd.Timedelta("120min"),  # the override wins over the name
    "tgt_beta": pd.Timedelta("60min"),  # no token: the default
}
FOLD_COLUMNS = [
    "fold",
    "horizon",
    "horizon_bars",
    "n_train",
    "n_test",
    "train_digest",
    "test_digest",
]


@pytest.fixture(scope="module")
def xy():
    panel, truth = make_synthetic_panel(
        n_symbols=3, n_timestamps=600, n_features=12, random_state=4
    )
    rng = np.random.default_rng(0)
    signal = panel["fwd_ret_5m"]
    Y = pd.DataFrame(
        {
            "fwd_ret_5m": signal,
            "tgt_beta_30m": signal + 0.5 * rng.standard_normal(len(signal)),
            "tgt_beta": signal + 0.8 * rng.standard_normal(len(signal)),
        },
        index=panel.index,
    )
    Y.iloc[-6:, 2] = np.nan  # missing labels change no stage's folds differently
    return panel[truth.features], Y


def _folds(stage, target):
    table = stage.folds_
    return table[table["target"] == target][FOLD_COLUMNS].reset_index(drop=True)


def _check_identical(ranker, selectors, trainers):
    for target, horizon in EXPECTED.items():
        assert ranker.horizons_[target] == horizon
        assert selectors[target].horizons_ == {target: horizon}
        assert trainers[target].horizons_[target] == horizon
        reference = _folds(ranker, target)
        assert len(reference) == 3
        assert (reference["horizon"] == horizon).all()
        pd.testing.assert_frame_equal(_folds(selectors[target], target), reference)
        pd.testing.assert_frame_equal(_folds(trainers[target], target), reference)
    bars = _folds(ranker, "tgt_beta_30m")["horizon_bars"].iloc[0]
    assert bars == 24  # 120 minutes of 5-minute bars


def test_python_api_stages_purge_identically(xy):
    X, Y = xy
    common = {"horizons": HORIZONS, "default_horizon": DEFAULT, "random_state": 0, "cv": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranker = TargetRanker(families={"lightgbm": {"n_estimators": 20}}, **common).fit(X, Y)
        selectors = {
            t: FeatureSelector(
                families=["linear", "lightgbm"], importance=("native",), top_m=3, **common
            ).fit(X, Y[t])
            for t in Y
        }
        trainer = ModelTrainer(families=["linear"], **common).fit(X, Y)
    _check_identical(ranker, selectors, {t: trainer for t in Y})


def test_cli_configuration_path_purges_identically(xy):
    from intelligent_training.app import build_pipeline
    from intelligent_training.config import load_config

    X, Y = xy
    cfg = load_config(
        {
            "target_ranking": {
                "horizons": {"tgt_beta_30m": "120min"},
                "default_horizon": "60min",
                "families": {"lightgbm": {"n_estimators": 20}},
                "n_splits": 3,
                "top_n": 3,
            },
            "feature_selection": {
                "families": {"lightgbm": {"n_estimators": 20}, "linear": {}},
                "importance": ["native"],
                "n_splits": 3,
                "top_m": 4,
            },
            "training": {"families": ["linear"], "n_splits": 3},
        }
    )
    pipe = build_pipeline(cfg)
    assert isinstance(pipe, IntelligentPipeline)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, Y)
    assert sorted(pipe.selected_targets_) == sorted(EXPECTED)
    _check_identical(pipe.ranker_, pipe.selectors_, pipe.trainers_)
