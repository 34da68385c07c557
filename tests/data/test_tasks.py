"""infer_task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intelligent_training.data import infer_task


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 1.0, 1.0, 0.0], "binary"),
        ([0.0, 1.0, np.nan, 1.0], "binary"),
        ([-1, 1, 1, -1], "binary"),
        ([True, False, True], "binary"),
        ([1.0, 1.0, 1.0], "binary"),  # a constant 0/1 column is still a label
        ([0, 1, 2, 2, 1, 0], "multiclass"),
        ([-1.0, 0.0, 1.0, 1.0], "multiclass"),
        (list(range(11)), "regression"),  # too many classes
        ([0.1, 0.5, -0.3], "regression"),
        ([0.5, 1.5, 2.5], "regression"),  # few values but not integers
        ([3.2, 3.2], "regression"),  # constant, not a label
        ([np.nan, np.nan], "regression"),
        (["a", "b", "a"], "binary"),
        (["a", "b", "c"], "multiclass"),
    ],
)
def test_infer_task(values, expected):
    assert infer_task(pd.Series(values)) == expected
    assert infer_task(np.asarray(values)) == expected


def test_infer_task_max_classes():
    y = pd.Series(np.arange(20) % 5)
    assert infer_task(y) == "multiclass"
    assert infer_task(y, max_classes=4) == "regression"


def test_infer_task_on_synthetic(synthetic):
    panel, truth = synthetic
    for target, task in truth.tasks.items():
        assert infer_task(panel[target]) == task
