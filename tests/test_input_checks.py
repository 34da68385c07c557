"""Inputs that silently lose information get a clear error or a warning (issue 12, §3)."""

from __future__ import annotations

import pytest

from intelligent_training import FeatureSelector, TargetRanker
from intelligent_training.data import split_features_targets
from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.exceptions import DataError, DataWarning


@pytest.fixture(scope="module")
def xy():
    panel, _ = make_synthetic_panel(n_symbols=3, n_timestamps=150, n_features=12, random_state=0)
    return split_features_targets(panel)


def test_duplicate_feature_names_are_named(xy):
    X, Y = xy
    X = X.rename(columns={"f01": "f00"})
    with pytest.raises(DataError, match=r"duplicate feature names \['f00'\]"):
        TargetRanker(families=["linear"]).fit(X, Y)


def test_fitting_a_panel_without_its_index_warns(xy):
    X, Y = xy
    selector = FeatureSelector(
        families=["linear"], importance=["native"], top_m=3, require_min_models=1, cv=2
    )
    with pytest.warns(DataWarning, match="no timestamps"):
        selector.fit(X.values, Y["fwd_ret_5m"].values)
