"""Fixtures of the family tests: the shared synthetic panel, split in time, plus i.i.d. noise."""

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


@pytest.fixture(scope="session")
def family_data(
    synthetic_xy: tuple[pd.DataFrame, pd.DataFrame, object],
) -> TimeSplitData:
    """The synthetic panel with a 70/30 time split and extra derived targets.

    Added targets: ``noise_reg`` / ``noise_bin`` (i.i.d. per row, unrelated to X) and
    ``ret_3class`` (terciles of ``fwd_ret_5m``, labels -1/0/1).
    """
    X, Y, _ = synthetic_xy
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
