"""Per-timestamp skill series against loop oracles (scikit-learn, scipy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from intelligent_training.exceptions import DataError
from intelligent_training.metrics import rank_ic_by_timestamp
from intelligent_training.stats import (
    MIN_ROWS_CROSS_SECTION,
    auc_by_timestamp,
    pooled_skill_by_timestamp,
    skill_by_timestamp,
    skill_test,
)


def _binary_panel(seed: int = 0, n_ts: int = 60, n_sym: int = 7):
    rng = np.random.default_rng(seed)
    ts = np.repeat(np.arange(n_ts), n_sym)
    score = rng.standard_normal(len(ts))
    y = (0.8 * score + rng.standard_normal(len(ts)) > 0.9).astype(float)
    score[::9] = np.round(score[::9])  # ties
    y[::17] = np.nan
    perm = rng.permutation(len(ts))  # unsorted rows
    return y[perm], score[perm], ts[perm]


def test_binary_auc_matches_sklearn_per_timestamp() -> None:
    y, score, ts = _binary_panel()
    auc = auc_by_timestamp(y, score, ts)
    assert list(auc.index) == sorted(set(ts))
    n_defined = 0
    for t in np.unique(ts):
        m = (ts == t) & np.isfinite(y)
        if len(set(y[m])) < 2:
            assert np.isnan(auc.loc[t])  # one class: no AUC
        else:
            assert auc.loc[t] == pytest.approx(roc_auc_score(y[m], score[m]), abs=1e-12)
            n_defined += 1
    assert 10 < n_defined < 60  # both cases occur
    # A probability matrix gives the same as the score of the larger class.
    matrix = np.column_stack([1 - score, score])
    pd.testing.assert_series_equal(auc_by_timestamp(y, matrix, ts), auc)


def test_multiclass_auc_is_the_macro_over_classes_present() -> None:
    rng = np.random.default_rng(1)
    ts = np.repeat(np.arange(40), 9)
    y = rng.integers(0, 3, size=len(ts)).astype(float)
    proba = rng.dirichlet([1, 1, 1], size=len(ts))
    proba[np.arange(len(ts)), y.astype(int)] += 0.3
    auc = auc_by_timestamp(y, proba, ts, classes=[0.0, 1.0, 2.0])
    for t in np.unique(ts):
        m = ts == t
        per_class = [
            roc_auc_score(y[m] == j, proba[m, j])
            for j in range(3)
            if 0 < (y[m] == j).sum() < m.sum()
        ]
        assert auc.loc[t] == pytest.approx(np.mean(per_class), abs=1e-12)
    assert auc.mean() > 0.6


def test_pooled_skill_averages_to_the_pooled_spearman() -> None:
    rng = np.random.default_rng(2)
    ts = np.repeat(np.arange(80), 5)
    y = rng.standard_normal(len(ts))
    p = 0.4 * y + rng.standard_normal(len(ts))
    series = pooled_skill_by_timestamp(y, p, ts)
    assert series.mean() == pytest.approx(spearmanr(y, p).statistic, rel=1e-10)
    # Binary outcome: the same, with tied ranks for the two classes.
    yb = (y > 0).astype(float)
    assert pooled_skill_by_timestamp(yb, p, ts).mean() == pytest.approx(
        spearmanr(yb, p).statistic, rel=1e-10
    )
    # One row per timestamp: a single time series.
    single = pooled_skill_by_timestamp(y[:80], p[:80], np.arange(80))
    assert single.mean() == pytest.approx(spearmanr(y[:80], p[:80]).statistic, rel=1e-10)


def test_auto_method_is_cross_sectional_on_panels_and_pooled_on_a_series() -> None:
    rng = np.random.default_rng(3)
    ts = np.repeat(np.arange(50), MIN_ROWS_CROSS_SECTION)
    y = rng.standard_normal(len(ts))
    p = y + rng.standard_normal(len(ts))
    panel = skill_by_timestamp(y, p, ts, task="regression")
    assert panel.name == "rank_ic"
    pd.testing.assert_series_equal(panel, rank_ic_by_timestamp(y, p, ts))  # one implementation
    assert skill_by_timestamp(y, p, np.arange(len(y)), task="regression").name == "pooled"
    yb = (y > 0).astype(float)
    binary = skill_by_timestamp(yb, p, ts, task="binary")
    assert binary.name == "auc"
    pd.testing.assert_series_equal(binary, (auc_by_timestamp(yb, p, ts) - 0.5).rename("auc"))
    assert skill_by_timestamp(yb, p, ts, task="binary", method="pooled").name == "pooled"


def test_skill_test_reports_the_method_and_finds_skill() -> None:
    rng = np.random.default_rng(4)
    ts = np.repeat(np.arange(400), 6)
    y = rng.standard_normal(len(ts))
    result = skill_test(
        y, 0.2 * y + rng.standard_normal(len(ts)), ts, task="regression", horizon_bars=3
    )
    assert result.method == "rank_ic" and result.n == 400 and result.df == 21
    assert result.mean > 0.1 and result.p_value < 1e-5
    flipped = skill_test(y, -y, ts, task="regression")
    assert flipped.p_value > 0.999


def test_constant_forecast_has_no_test() -> None:
    ts = np.repeat(np.arange(30), 4)
    y = np.random.default_rng(5).standard_normal(len(ts))
    result = skill_test(y, np.zeros(len(ts)), ts, task="regression")
    assert result.n == 0 and np.isnan(result.p_value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "ranking"}, "Unknown task"),
        ({"task": "regression", "method": "gini"}, "Unknown skill method"),
        ({"task": "regression", "method": "auc"}, "does not fit a regression"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        skill_by_timestamp([1.0, 2.0], [1.0, 2.0], [0, 0], **kwargs)


def test_shapes_and_labels_are_checked() -> None:
    with pytest.raises(DataError, match="one entry per row"):
        auc_by_timestamp([0, 1], [0.1, 0.2, 0.3], [0, 0])
    with pytest.raises(DataError, match="timestamps"):
        auc_by_timestamp([0, 1], [0.1, 0.2], [0])
    with pytest.raises(DataError, match="not in `classes`"):
        auc_by_timestamp([0, 2], [0.1, 0.2], [0, 0], classes=[0, 1])
    with pytest.raises(DataError, match="probability matrix"):
        auc_by_timestamp([0, 1, 2], [0.1, 0.2, 0.3], [0, 0, 0])
