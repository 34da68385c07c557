"""Leakage demonstration: a pure-noise overlapping target fools shuffled K-fold, not us."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.model_selection import KFold, cross_val_score

from intelligent_training.model_selection import PurgedTimeSeriesSplit

datasets = pytest.importorskip("intelligent_training.datasets")


def test_noise_target_scores_only_under_shuffled_kfold() -> None:
    panel, truth = datasets.make_synthetic_panel(
        n_symbols=3, n_timestamps=800, n_features=12, random_state=0
    )
    target = next(t for t in truth.noise_targets if truth.tasks[t] == "regression")
    data = panel.dropna(subset=[target])
    X = data.filter(regex=r"^f\d+$")
    y = data[target]
    model = ExtraTreesRegressor(n_estimators=30, min_samples_leaf=1, random_state=0, n_jobs=1)

    leaky = cross_val_score(model, X, y, cv=KFold(5, shuffle=True, random_state=0), scoring="r2")
    purged = cross_val_score(
        model, X, y, cv=PurgedTimeSeriesSplit(5, horizon=truth.horizons[target]), scoring="r2"
    )
    # Overlapping labels + persistent features: neighbours in time leak the label.
    assert leaky.mean() > 0.3 and leaky.min() > 0.1
    # Walk-forward, purged: no skill on noise.
    assert purged.mean() < 0.02
    assert np.all(purged < 0.05)
