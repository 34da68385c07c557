"""Shared constants and helpers of the trainer tests."""

from __future__ import annotations

import pandas as pd

#: Fast, lightly regularised LightGBM for tests.
FAST_LGBM = {
    "n_estimators": 25,
    "num_leaves": 7,
    "min_child_samples": 20,
    "learning_rate": 0.1,
}
FAST_XGB = {"n_estimators": 20, "max_depth": 3, "learning_rate": 0.2}
FAST_TORCH = {
    "max_epochs": 10,
    "learning_rate": 0.01,
    "batch_size": 256,
    "patience": 3,
    "validation_fraction": 0.0,
}


def summary(trainer, family=None) -> pd.DataFrame:
    """The fold='mean' rows of ``cv_metrics_`` indexed by target (one family)."""
    m = trainer.cv_metrics_
    m = m[m["fold"] == "mean"]
    if family is not None:
        m = m[m["family"] == family]
    return m.set_index("target")
