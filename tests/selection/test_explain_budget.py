"""The ``explain_rows`` budget: importances rank features like the full computation.

On the synthetic truth, importances measured on a stratified sample of each test fold
must order the features like those measured on every test row and select the same
features. SHAP (deterministic given the model) and the consensus importance must reach
Spearman >= 0.9 over the features. Permutation importance of the ~20 noise features is
itself noise (the full computation under another seed orders them with Spearman
0.3-0.7), so there the budgeted ranking must agree with the full one at least as well
as the full one agrees with itself under another seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.evaluation._importance import explain_sample
from intelligent_training.selection import FeatureSelector

FAMILIES = {"linear": {}, "lightgbm": {"n_estimators": 60}}


@pytest.fixture(scope="module")
def panel_truth():
    # 4 symbols x 1200 timestamps: 3 test folds of ~1600 rows, explained on 400
    return make_synthetic_panel(n_symbols=4, n_timestamps=1200, random_state=1)


def _fit(panel, truth, target, explain_rows, seed=0):
    return FeatureSelector(
        families=FAMILIES,
        importance=("shap", "permutation"),
        top_m=len(truth.informative_features[target]),
        explain_rows=explain_rows,
        n_repeats=2,
        random_state=seed,
    ).fit(panel[truth.features], panel[target])


@pytest.mark.parametrize("target", ["fwd_ret_5m", "tgt_nonlin_10m"])
def test_budgeted_importances_rank_and_select_like_the_full_ones(panel_truth, target):
    panel, truth = panel_truth
    full = _fit(panel, truth, target, None)
    again = _fit(panel, truth, target, None, seed=1)
    budget = _fit(panel, truth, target, 400)
    assert list(full.importances_.columns) == list(budget.importances_.columns)

    def rho(a, b):
        return spearmanr(a, b).statistic

    for column in full.importances_.columns:
        got = rho(full.importances_[column], budget.importances_[column])
        if column[1] == "shap":
            assert got >= 0.9, (column, got)
        else:
            floor = rho(full.importances_[column], again.importances_[column])
            assert got >= min(0.9, floor), (column, got, floor)
    assert rho(full.feature_importances_, budget.feature_importances_) >= 0.9
    assert budget.selected_features_ == full.selected_features_
    assert set(budget.selected_features_) <= set(truth.informative_features[target]) | set(
        truth.redundant_features
    )


def test_the_sample_is_stratified_in_time():
    rng = np.random.RandomState(0)
    rows = explain_sample(10_000, 50, rng)
    assert len(rows) == 50 and (np.diff(rows) > 0).all()
    # one row in each of 50 consecutive strata of 200 rows
    np.testing.assert_array_equal(rows // 200, np.arange(50))
    np.testing.assert_array_equal(explain_sample(30, 50, rng), np.arange(30))
    np.testing.assert_array_equal(explain_sample(30, None, rng), np.arange(30))


def test_every_family_explains_the_same_rows(panel_truth, monkeypatch):
    """The sample depends on the seed, target and fold, not on the family."""
    from intelligent_training.evaluation import _run

    panel, truth = panel_truth
    seen: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    original = _run.explain_sample

    def recording(n_rows, budget, rng):
        stream = tuple(int(v) for v in rng.get_state()[1][:4])  # which stream draws
        rows = original(n_rows, budget, rng)
        seen.setdefault(stream, []).append(tuple(rows))
        return rows

    monkeypatch.setattr(_run, "explain_sample", recording)
    selector = _fit(panel, truth, "fwd_ret_5m", 300)
    n_folds = len(selector.folds_)
    assert len(seen) == n_folds  # one stream per fold, whatever the family
    for draws in seen.values():
        assert len(draws) == len(FAMILIES) and len(set(draws)) == 1
