"""Several targets' fits at once: same results as one after another, cells share the cores."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from intelligent_training import IntelligentPipeline
from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.evaluation import _backend
from intelligent_training.pipeline import _per_target
from intelligent_training.pipeline import _stages as pipeline_module
from intelligent_training.pipeline._per_target import fit_per_target, targets_at_once
from intelligent_training.selection import FeatureSelector
from intelligent_training.training import ModelTrainer


def test_results_come_back_in_the_targets_order():
    delays = {"a": 0.06, "b": 0.0, "c": 0.03, "d": 0.0}
    seen_threads = set()

    def fit_one(target):
        seen_threads.add(threading.current_thread().name)
        time.sleep(delays[target])
        return target.upper()

    out = fit_per_target(list(delays), fit_one, at_once=2, n_cores=2, desc="x", verbose=False)
    assert out == ["A", "B", "C", "D"]
    assert len(seen_threads) == 2 and all(n.startswith("target") for n in seen_threads)
    seen_threads.clear()
    assert fit_per_target(list(delays), fit_one, at_once=1, n_cores=2, desc="x", verbose=False) == [
        "A",
        "B",
        "C",
        "D",
    ]
    assert seen_threads == {threading.current_thread().name}


def test_an_error_of_one_fit_is_raised():
    def fit_one(target):
        if target == "bad":
            raise ValueError("boom")
        return target

    with pytest.raises(ValueError, match="boom"):
        fit_per_target(["a", "bad", "c"], fit_one, at_once=2, n_cores=2, desc="x", verbose=False)


def test_targets_at_once_follows_the_stage_budget():
    assert targets_at_once(ModelTrainer(n_jobs=2), 5) == 2
    assert targets_at_once(ModelTrainer(n_jobs=4), 3) == 3
    assert targets_at_once(ModelTrainer(n_jobs=1), 5) == 1
    assert targets_at_once(ModelTrainer(n_jobs=2), 1) == 1
    assert targets_at_once(ModelTrainer(n_jobs=2, threads=2), 5) == 1  # its own rule
    assert targets_at_once(object(), 5) == 1  # a user's stage without n_jobs


@pytest.mark.parametrize("shared", [False, True])
def test_shared_cores_cap_the_cells_of_concurrent_fits(monkeypatch, shared):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def fake_execute(run, key, cell, data):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return cell

    monkeypatch.setattr(_backend, "execute", fake_execute)

    def one_fit(_target):  # a stage fit: its own 2 worker threads
        cells = list(range(6))
        return list(_backend.stream(None, cells, [""] * 6, None, workers=2))

    targets = ["a", "b", "c"]
    if shared:
        out = fit_per_target(targets, one_fit, at_once=3, n_cores=2, desc="x", verbose=False)
        assert state["max"] == 2  # 3 fits x 2 workers, never more than the 2 slots
    else:
        # without the shared slots the same three fits oversubscribe
        out = _per_target_unshared(targets, one_fit)
        assert state["max"] > 2
    assert all(sorted(c for c, _ in fit) == list(range(6)) for fit in out)


def _per_target_unshared(targets, one_fit):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(targets)) as pool:
        return list(pool.map(one_fit, targets))


@pytest.fixture(scope="module")
def small_panel():
    panel, _ = make_synthetic_panel(
        n_symbols=3, n_timestamps=500, n_features=12, random_state=3, n_redundant=0
    )
    targets = ["fwd_ret_5m", "y_up_15m", "fwd_ret_30m"]
    features = [c for c in panel.columns if c.startswith("f")]
    return panel[features].astype("float32"), panel[targets]


def _fit(X, Y, n_jobs):
    pipe = IntelligentPipeline(
        selector=FeatureSelector(
            families=["lightgbm", "linear"], top_m=4, cv=3, n_jobs=n_jobs, random_state=0
        ),
        trainer=ModelTrainer(families=["lightgbm", "linear"], cv=3, n_jobs=n_jobs, random_state=0),
        targets=list(Y.columns),
        verbose=False,
    )
    return pipe.fit(X, Y)


def test_concurrent_targets_give_the_sequential_results(small_panel, monkeypatch):
    X, Y = small_panel
    used = []
    real = _per_target.fit_per_target

    def spy(targets, fit_one, *, at_once, **kwargs):
        used.append(at_once)
        return real(targets, fit_one, at_once=at_once, **kwargs)

    monkeypatch.setattr(pipeline_module, "fit_per_target", spy)
    sequential = _fit(X, Y, n_jobs=1)
    assert used == [1, 1]
    used.clear()
    concurrent = _fit(X, Y, n_jobs=2)
    assert used == [2, 2]  # selection and training: two targets at a time
    assert concurrent.selected_targets_ == sequential.selected_targets_
    assert concurrent.selected_features_ == sequential.selected_features_
    assert list(concurrent.selected_features_) == list(Y.columns)  # the targets' order
    for target in Y.columns:
        a, b = sequential.selectors_[target], concurrent.selectors_[target]
        pd.testing.assert_frame_equal(a.importances_, b.importances_)
        pd.testing.assert_frame_equal(a.shadow_wins_, b.shadow_wins_)
        m_seq = sequential.trainers_[target].cv_metrics_.drop(columns="fit_seconds")
        m_con = concurrent.trainers_[target].cv_metrics_.drop(columns="fit_seconds")
        pd.testing.assert_frame_equal(m_seq, m_con)
    pd.testing.assert_frame_equal(sequential.predict(X), concurrent.predict(X))


def test_a_large_panel_fits_one_target_at_a_time(small_panel, monkeypatch):
    X, Y = small_panel
    monkeypatch.setattr(pipeline_module, "_CONCURRENT_TARGETS_MAX_BYTES", X.size * 4 - 1)
    trainer = ModelTrainer(n_jobs=2)
    assert IntelligentPipeline._targets_at_once(trainer, X, 3) == 1
    monkeypatch.setattr(pipeline_module, "_CONCURRENT_TARGETS_MAX_BYTES", X.size * 4)
    assert IntelligentPipeline._targets_at_once(trainer, X, 3) == 2
