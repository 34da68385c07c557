"""Small fixtures for the trainer tests: a tiny synthetic panel and fast families."""

from __future__ import annotations

import pytest

from intelligent_training.datasets import make_synthetic_panel


@pytest.fixture(scope="session")
def panel_xy():
    """(X, Y, truth): 3 symbols x 500 five-minute bars, 14 features, the default targets."""
    panel, truth = make_synthetic_panel(
        n_symbols=3, n_timestamps=500, n_features=14, random_state=7
    )
    targets = list(truth.tasks)
    X = panel.drop(columns=targets)
    Y = panel[targets]
    return X, Y, truth


@pytest.fixture()
def xy(panel_xy):
    """Fresh copies, so a test can check that the trainer does not modify its input."""
    X, Y, truth = panel_xy
    return X.copy(), Y.copy(), truth
