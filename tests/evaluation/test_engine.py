"""The cell engine: thread budget, streaming, failures, per-cell cache and resume,
n_jobs invariance, and the fast path against the registry path."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.evaluation import (
    CellPlanner,
    EvalData,
    Measure,
    cell_threads,
    resolve_cv,
    resolve_targets,
    run_cells,
)
from intelligent_training.evaluation import _run as run_module
from intelligent_training.model_selection import get_timestamps
from intelligent_training.selection import FeatureSelector
from intelligent_training.training import ModelTrainer

FAST = {"lightgbm": {"n_estimators": 30}, "linear": {}}


@pytest.fixture(scope="module")
def panel():
    panel, truth = make_synthetic_panel(
        n_symbols=3, n_timestamps=400, n_features=12, random_state=3
    )
    return panel[truth.features], panel[truth.targets], truth


@pytest.fixture
def counted(monkeypatch):
    """Counts the cells that really run (cache hits do not)."""
    calls: list[str] = []
    real = run_module.run_cell

    def counting(cell, data):
        calls.append(cell.name)
        return real(cell, data)

    monkeypatch.setattr(run_module, "run_cell", counting)
    return calls


def test_thread_budget_never_oversubscribes():
    assert cell_threads(2, n_cells=10) == 1  # two one-thread cells at a time
    assert cell_threads(4, n_cells=2) == 2  # fewer cells than cores: more threads each
    assert cell_threads(None, n_cells=1) == 1
    assert cell_threads(4, n_cells=1, threads=3) == 3  # a stage's explicit choice wins


def _plan(X, Y, stage="select", families=FAST, measure=None, n_jobs=1):
    resolved = resolve_targets(
        Y,
        X,
        timestamps=get_timestamps(X),
        cv=resolve_cv(3, default_n_splits=3, owner="t"),
        owner="t",
    )
    data = EvalData.from_features(X, resolved.specs)
    n_cells = len(families) * sum(len(s.folds) for s in resolved.specs.values())
    planner = CellPlanner(stage, resolved, data, seed=0, threads=cell_threads(n_jobs, n_cells))
    cells = [
        c
        for t in resolved.specs
        for fam, params in families.items()
        for c in planner.fold_cells(t, fam, params, measure or Measure(scores=True))
    ]
    return cells, data


def test_run_cells_yields_every_cell_once_and_captures_failures(panel, caplog):
    X, Y, _ = panel
    families = {**FAST, "xgboost": {"max_depth": "deep"}}  # xgboost fails on every fold
    cells, data = _plan(X, Y[["fwd_ret_5m", "y_up_15m"]], families=families)
    with caplog.at_level(logging.WARNING):
        out = list(run_cells(cells, data, n_jobs=2))
    assert sorted(c.name for c, _ in out) == sorted(c.name for c in cells)
    failed = [(c, r) for c, r in out if not r.ok]
    assert {c.family for c, _ in failed} == {"xgboost"}
    assert all("max_depth" in r.error and r.scores is None for _, r in failed)
    assert "xgboost fold" in caplog.text
    for cell, result in out:
        if result.ok:
            assert result.scores.shape == (len(cell.test), 1)


def test_fast_path_matches_the_registry_path(panel):
    X, Y, _ = panel
    cells, data = _plan(X, Y[["fwd_ret_5m"]], families={"lightgbm": {"n_estimators": 40}})
    assert all(c.bins is not None for c in cells)
    fast = {c.name: r for c, r in run_cells(cells, data)}
    from dataclasses import replace

    registry = {c.name: r for c, r in run_cells([replace(c, bins=None) for c in cells], data)}
    assert set(fast) == set(registry) and len(fast) == 3
    for name in fast:
        a, b = fast[name].scores[:, 0], registry[name].scores[:, 0]
        # same trees up to the bin boundaries (from the fold base, not the training rows)
        assert np.corrcoef(a, b)[0, 1] > 0.98


def test_selector_resumes_cell_by_cell(panel, tmp_path, counted):
    joblib = pytest.importorskip("joblib")
    X, Y, _ = panel
    y = Y["fwd_ret_5m"]
    kwargs = {"importance": ("native", "permutation"), "n_repeats": 1, "random_state": 0}
    plain = FeatureSelector(families=FAST, **kwargs).fit(X, y)
    memory = joblib.Memory(tmp_path, verbose=0)
    counted.clear()
    partial = FeatureSelector(
        families={"linear": {}}, require_min_models=1, memory=memory, **kwargs
    )
    partial.fit(X, y)
    assert len(counted) == 3  # the linear family's three folds
    counted.clear()
    full = FeatureSelector(families=FAST, memory=memory, **kwargs).fit(X, y)
    assert len(counted) == 3 and all("lightgbm" in name for name in counted)
    report = full.fold_report_.set_index("family")
    assert report.loc["linear", "cached"].all() and not report.loc["lightgbm", "cached"].any()
    counted.clear()
    again = FeatureSelector(families=FAST, memory=memory, **kwargs).fit(X, y)
    assert counted == [] and again.fold_report_["cached"].all()
    for fitted in (full, again):
        np.testing.assert_array_equal(fitted.feature_importances_, plain.feature_importances_)
        assert fitted.selected_features_ == plain.selected_features_


def test_trainer_resumes_cell_by_cell(panel, tmp_path, counted):
    X, Y, _ = panel
    Y2 = Y[["fwd_ret_5m", "y_up_15m"]]
    plain = ModelTrainer(families=FAST, cv=3, random_state=0).fit(X, Y2)
    counted.clear()
    memory = str(tmp_path / "cache")
    ModelTrainer(families=FAST, cv=3, random_state=0, memory=memory).fit(X, Y2[["fwd_ret_5m"]])
    assert len(counted) == 2 * (3 + 1)  # two families, three folds and a final fit
    counted.clear()
    cached = ModelTrainer(families=FAST, cv=3, random_state=0, memory=memory).fit(X, Y2)
    assert len(counted) == 2 * (3 + 1)  # only the new target's cells
    counted.clear()
    again = ModelTrainer(families=FAST, cv=3, random_state=0, memory=memory).fit(X, Y2)
    assert counted == []
    for fitted in (cached, again):
        pd.testing.assert_frame_equal(fitted.oof_predictions_, plain.oof_predictions_)
        pd.testing.assert_frame_equal(fitted.predict(X), plain.predict(X))


def test_n_jobs_does_not_change_results(panel):
    X, Y, _ = panel
    y = Y["y_up_15m"]
    kwargs = {
        "families": FAST,
        "importance": ("native", "shap", "permutation"),
        "n_repeats": 2,
        "explain_rows": 100,
        "random_state": 0,
    }
    one = FeatureSelector(n_jobs=1, **kwargs).fit(X, y)
    two = FeatureSelector(n_jobs=2, **kwargs).fit(X, y)
    pd.testing.assert_frame_equal(one.importances_, two.importances_)
    assert one.selected_features_ == two.selected_features_


def test_user_seed_and_threads_win_on_the_fast_path(panel):
    from intelligent_training.ranking import TargetRanker

    X, Y, _ = panel
    families = {
        "xgboost": {"n_estimators": 30, "random_state": 0, "n_jobs": 2},
        "lightgbm": {"n_estimators": 30, "random_state": 0, "n_jobs": 1},
    }
    ranker = TargetRanker(families=families, random_state=5).fit(X, Y[["fwd_ret_5m"]])
    assert np.isfinite(ranker.rankings_.loc["fwd_ret_5m", "xgboost_score"])
    again = TargetRanker(families=families, random_state=6).fit(X, Y[["fwd_ret_5m"]])
    # the user's random_state wins over the stage's: the stage's seed changes nothing
    pd.testing.assert_frame_equal(ranker.rankings_, again.rankings_)


def test_dask_backend_uses_the_same_cells_and_cache(panel, tmp_path, counted):
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    from intelligent_training.ranking import TargetRanker

    X, Y, _ = panel
    Y2 = Y[["fwd_ret_5m", "y_up_15m"]]
    memory = joblib.Memory(tmp_path, verbose=0)
    families = {"lightgbm": {"n_estimators": 20}, "linear": {}}
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2):
        with joblib.parallel_config(backend="dask"):
            remote = TargetRanker(families=families, random_state=0, memory=memory).fit(X, Y2)
    assert len(counted) == 2 * 2 * 3
    counted.clear()
    local = TargetRanker(families=families, random_state=0, memory=memory).fit(X, Y2)
    assert counted == []  # every cell computed on the cluster is a cache hit locally
    pd.testing.assert_frame_equal(local.rankings_, remote.rankings_)
