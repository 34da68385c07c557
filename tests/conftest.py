"""Shared fixtures: the default small synthetic panel with known truth.

Session-scoped and read-only: tests that need to modify the data must copy it first.
"""

from __future__ import annotations

import pandas as pd
import pytest

from intelligent_training.data import split_features_targets
from intelligent_training.datasets import SyntheticTruth, make_synthetic_panel


@pytest.fixture(scope="session")
def synthetic() -> tuple[pd.DataFrame, SyntheticTruth]:
    """``(panel, truth)``: 6 symbols x 1500 timestamps x 24 features, ``random_state=0``."""
    return make_synthetic_panel(random_state=0)


@pytest.fixture(scope="session")
def synthetic_xy(
    synthetic: tuple[pd.DataFrame, SyntheticTruth],
) -> tuple[pd.DataFrame, pd.DataFrame, SyntheticTruth]:
    """``(X, Y, truth)`` of the ``synthetic`` panel, via ``split_features_targets``."""
    panel, truth = synthetic
    X, Y = split_features_targets(panel)
    return X, Y, truth
