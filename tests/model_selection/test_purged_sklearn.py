"""PurgedTimeSeriesSplit inside scikit-learn: cross_val_score, GridSearchCV, routing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate

from intelligent_training.model_selection import PurgedTimeSeriesSplit


@pytest.fixture
def panel_xy() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=120, freq="5min"), ["A", "B", "C"]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame(rng.normal(size=(len(index), 3)), index=index, columns=["a", "b", "c"])
    y = pd.Series(X["a"].to_numpy() * 2.0 + 0.1 * rng.normal(size=len(index)), index=index)
    return X, y


class RecordingRidge(Ridge):
    """Ridge that records the timestamps it was fitted on (to check what CV passed)."""

    def fit(self, X, y, sample_weight=None):
        self.fit_timestamps_ = np.unique(X.index.get_level_values("timestamp"))
        return super().fit(X, y, sample_weight)


def test_cross_val_score_with_groups_matches_index_timestamps(panel_xy) -> None:
    X, y = panel_xy
    cv = PurgedTimeSeriesSplit(4, horizon=3)
    groups = X.index.get_level_values("timestamp")
    by_groups = cross_val_score(Ridge(), X.to_numpy(), y.to_numpy(), cv=cv, groups=groups)
    by_index = cross_val_score(Ridge(), X, y, cv=cv)
    assert len(by_groups) == 4
    np.testing.assert_allclose(by_groups, by_index)
    assert by_groups.min() > 0.9  # a linear signal is learned out of sample


def test_grid_search_with_groups(panel_xy) -> None:
    X, y = panel_xy
    cv = PurgedTimeSeriesSplit(3, horizon="15min")
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 1e4]}, cv=cv)
    search.fit(X.to_numpy(), y.to_numpy(), groups=X.index.get_level_values("timestamp"))
    assert search.n_splits_ == 3
    assert search.best_params_ == {"alpha": 0.1}
    assert cv.get_params()["horizon"] == "15min"  # the search cloned nothing into it


def test_each_fold_fits_only_on_purged_history(panel_xy) -> None:
    X, y = panel_xy
    cv = PurgedTimeSeriesSplit(3, horizon="15min")
    result = cross_validate(
        RecordingRidge(), X, y, cv=cv, return_estimator=True, return_indices=True
    )
    timestamps = X.index.get_level_values("timestamp")
    for estimator, test in zip(result["estimator"], result["indices"]["test"]):
        assert estimator.fit_timestamps_.max() + pd.Timedelta("15min") < timestamps[test].min()


def test_metadata_routing_passes_groups(panel_xy) -> None:
    X, y = panel_xy
    groups = np.repeat(np.arange(len(X) // 3), 3)  # bar numbers instead of datetimes
    cv = PurgedTimeSeriesSplit(3, horizon=2)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            Ridge(),
            X.to_numpy(),
            y.to_numpy(),
            cv=cv,
            params={"groups": groups},
            return_indices=True,
        )
    expected = list(cv.split(X.to_numpy(), groups=groups))
    for got, (_, test) in zip(result["indices"]["test"], expected):
        assert np.array_equal(got, test)
