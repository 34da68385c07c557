"""Fixtures of the family tests: the synthetic panel, split in time, plus i.i.d. noise.

Uses the shared ``synthetic_xy`` fixture (``tests/conftest.py``) when it exists, else
builds the same panel with ``make_synthetic_panel``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest


@dataclass(frozen=True)
class TimeSplitData:
    """Features and targets, with the first 70% of timestamps as the training side."""

    X: pd.DataFrame
    Y: pd.DataFrame
    train: np.ndarray  # boolean masks over rows
    test: np.ndarray

    def target(self, name: str) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
        """``(X_train, y_train, X_test, y_test)`` of one target, NaN labels dropped."""
        y = self.Y[name].to_numpy()
        ok = ~pd.isna(y)
        tr, te = self.train & ok, self.test & ok
        return self.X[tr], y[tr], self.X[te], y[te]


def _xy_from_shared(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        X, Y, _ = request.getfixturevalue("synthetic_xy")
    except pytest.FixtureLookupError:
        from intelligent_training.datasets import make_synthetic_panel

        panel, truth = make_synthetic_panel(random_state=0)
        targets = list(truth.tasks)
        X, Y = panel.drop(columns=targets), panel[targets]
    return X, Y


@pytest.fixture
def family_data(request: pytest.FixtureRequest) -> TimeSplitData:
    """The synthetic panel with a 70/30 time split and extra derived targets.

    Added targets: ``noise_reg`` / ``noise_bin`` (i.i.d. per row, unrelated to X) and
    ``ret_3class`` (terciles of ``fwd_ret_5m``, labels -1/0/1).
    """
    X, Y = _xy_from_shared(request)
    rng = np.random.default_rng(12345)
    Y = Y.copy()
    Y["noise_reg"] = rng.normal(size=len(Y))
    Y["noise_bin"] = (rng.random(len(Y)) < 0.5).astype(np.float64)
    Y["ret_3class"] = np.digitize(Y["fwd_ret_5m"], Y["fwd_ret_5m"].quantile([1 / 3, 2 / 3]))
    Y["ret_3class"] -= 1
    timestamps = X.index.get_level_values("timestamp")
    grid = np.sort(timestamps.unique())
    cut = grid[int(0.7 * len(grid))]
    train = np.asarray(timestamps < cut)
    return TimeSplitData(X=X, Y=Y, train=train, test=~train)
