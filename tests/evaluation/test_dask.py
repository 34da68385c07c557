"""Cells on a Dask cluster of worker processes: every stage, identical results, data
scattered once, cache on the client, threads per task, failures and lost workers."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.evaluation import record_cells, run_cells, use_dask
from intelligent_training.evaluation._dask import pack_rows, unpack_rows
from intelligent_training.exceptions import ConfigError
from intelligent_training.pipeline import IntelligentPipeline
from intelligent_training.ranking import TargetRanker
from intelligent_training.selection import FeatureSelector
from intelligent_training.training import ModelTrainer

distributed = pytest.importorskip("distributed")

RANK = {"lightgbm": {"n_estimators": 15}, "xgboost": {"n_estimators": 15}, "linear": {}}


@pytest.fixture(scope="module")
def panel():
    panel, truth = make_synthetic_panel(
        n_symbols=3, n_timestamps=300, n_features=12, random_state=5
    )
    return panel[truth.features], panel[truth.targets[:3]]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes with one thread each (the issue's cluster)."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        yield client


def _worker_pids(client) -> set[int]:
    return set(client.run(os.getpid).values())


# ---------------------------------------------------------------------------- rows
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5000), max_size=300),
    st.booleans(),
    st.sampled_from([np.int64, np.intp, np.int32]),
)
def test_packed_rows_come_back_identical(values, ordered, dtype):
    rows = np.asarray(sorted(set(values)) if ordered else values, dtype=dtype)
    back = unpack_rows(pack_rows(rows))
    assert back.dtype == rows.dtype
    np.testing.assert_array_equal(back, rows)


def test_fold_rows_travel_as_runs():
    rows = np.r_[np.arange(0, 40_000), np.arange(40_100, 90_000)]
    packed = pack_rows(rows)
    assert packed[0] == "runs" and len(packed[2]) == 2  # two blocks, four integers


# ------------------------------------------------------------------- every stage
def test_ranking_cells_run_in_both_worker_processes_with_identical_results(panel, cluster):
    # The fast one of the default suite; every stage is checked by the slow test below.
    X, Y = panel

    def ranker():
        return TargetRanker(families=RANK, random_state=0, n_jobs=2)

    local = ranker().fit(X, Y)
    with use_dask(cluster), record_cells() as log:
        remote = ranker().fit(X, Y)
    pids = {row["pid"] for row in log.cells}
    assert os.getpid() not in pids
    assert pids == _worker_pids(cluster)  # only worker processes, and both of them
    assert all(row["error"] is None for row in log.cells)
    assert log.transfers["scatters"] == 2  # the features went once to each worker
    assert log.transfers["tasks"] == len(log.cells)
    pd.testing.assert_frame_equal(local.rankings_, remote.rankings_)
    for target in Y.columns:
        pd.testing.assert_frame_equal(
            local.oof_predictions_[target], remote.oof_predictions_[target]
        )


def test_joblib_dask_backend_sends_the_cells_to_the_workers(panel, cluster):
    import joblib

    X, Y = panel
    with (
        joblib.parallel_config(backend="dask", client=cluster),
        record_cells() as log,
    ):
        TargetRanker(families={"lightgbm": {"n_estimators": 10}}, random_state=0).fit(
            X, Y.iloc[:, :1]
        )
    assert log.cells and {row["pid"] for row in log.cells} <= _worker_pids(cluster)


@pytest.mark.slow
def test_every_stage_runs_in_worker_processes_with_identical_results(panel, cluster):
    X, Y = panel

    def pipeline():
        return IntelligentPipeline(
            TargetRanker(families=RANK, top_n=2, random_state=0, n_jobs=2),
            FeatureSelector(
                families={"lightgbm": {"n_estimators": 15}, "linear": {}},
                top_m=4,
                random_state=0,
                n_jobs=2,
            ),
            ModelTrainer(
                families={"lightgbm": {"n_estimators": 15}, "linear": {}},
                random_state=0,
                n_jobs=2,
            ),
        )

    local = pipeline().fit(X, Y)
    with use_dask(cluster), record_cells() as log:
        remote = pipeline().fit(X, Y)

    workers = _worker_pids(cluster)
    cells = pd.DataFrame(log.cells)
    assert set(cells["stage"]) == {"rank", "select", "train"}
    train = cells[cells["stage"] == "train"]
    assert set(train["family"]) == {"lightgbm", "linear"}
    assert set(train["fold"].isna()) == {True, False}  # CV folds and final fits
    assert cells["error"].isna().all()
    for stage, rows in cells.groupby("stage"):
        pids = set(rows["pid"])
        assert os.getpid() not in pids, stage
        assert pids <= workers, stage  # every cell ran in a worker process
        assert pids == workers, stage  # and both workers ran cells
    assert (cells["threads"] == 1).all()  # one-thread workers: one thread per cell
    # Each matrix crossed to each worker once, never per cell: the ranker's X, then per
    # selected target the selector's X with its shadows and the trainer's chosen columns.
    n_matrices = 1 + 2 * len(remote.selected_targets_)
    assert log.transfers["scatters"] <= 2 * n_matrices < len(cells)
    assert log.transfers["tasks"] == len(cells)
    assert log.transfers["task_bytes"] < 4_000 * len(cells)

    pd.testing.assert_frame_equal(local.rankings_, remote.rankings_)
    assert local.selected_features_ == remote.selected_features_
    for target in local.selected_targets_:
        _same_training(local.trainers_[target], remote.trainers_[target])
    pd.testing.assert_frame_equal(local.predict(X), remote.predict(X))


def _same_training(left, right):
    timing = ["fit_seconds"]
    pd.testing.assert_frame_equal(
        left.cv_metrics_.drop(columns=timing), right.cv_metrics_.drop(columns=timing)
    )
    pd.testing.assert_frame_equal(left.oof_predictions_, right.oof_predictions_)


@pytest.mark.slow
def test_torch_families_train_on_the_workers(panel, cluster):
    X, Y = panel
    fams = {"mlp": {"max_epochs": 2, "hidden_sizes": [8]}}

    def trainer():
        return ModelTrainer(families=fams, random_state=0, n_jobs=2, cpu_only=True)

    local = trainer().fit(X, Y)
    with use_dask(cluster), record_cells() as log:
        remote = trainer().fit(X, Y)
    pids = {row["pid"] for row in log.cells}
    assert pids == _worker_pids(cluster)
    assert {row["fold"] is None for row in log.cells} == {True, False}  # folds and finals
    _same_training(local, remote)
    pd.testing.assert_frame_equal(local.predict(X), remote.predict(X))


# ------------------------------------------------------------------------- cache
def test_cache_stays_on_the_client_and_resumes_cell_by_cell(panel, cluster, tmp_path):
    X, Y = panel
    memory = tmp_path / "cache"
    with use_dask(cluster):
        with record_cells() as first:
            TargetRanker(families=RANK, random_state=0, memory=memory).fit(X, Y.iloc[:, :1])
        with record_cells() as second:  # one more target: only its cells are sent
            remote = TargetRanker(families=RANK, random_state=0, memory=memory).fit(X, Y)
    assert first.transfers["tasks"] == len(first.cells) > 0
    n_new = sum(not row["cached"] for row in second.cells)
    assert second.transfers["tasks"] == n_new == len(second.cells) - len(first.cells)
    with record_cells() as local_log:  # every cell computed on the cluster is a local hit
        local = TargetRanker(families=RANK, random_state=0, memory=memory).fit(X, Y)
    assert all(row["cached"] for row in local_log.cells)
    assert not list(memory.glob("**/*dask-worker-space*"))
    pd.testing.assert_frame_equal(local.rankings_, remote.rankings_)


# ---------------------------------------------------------------------- failures
def test_a_failing_cell_is_recorded_with_the_worker_that_ran_it(panel, cluster):
    X, Y = panel
    families = {"lightgbm": {"n_estimators": 10}, "xgboost": {"max_depth": "deep"}}
    with use_dask(cluster), record_cells() as log:
        ranker = TargetRanker(families=families, random_state=0).fit(X, Y.iloc[:, :1])
    cells = pd.DataFrame(log.cells)
    failed = cells[cells["family"] == "xgboost"]
    assert len(failed) and failed["error"].notna().all()
    assert set(failed["pid"]) <= _worker_pids(cluster)
    assert cells.loc[cells["family"] == "lightgbm", "error"].isna().all()
    assert np.isfinite(ranker.rankings_["score"]).all()


def _planned(panel, family, params):
    """An EvalData of the panel and the fold cells of ``family`` on its targets."""
    from intelligent_training.evaluation import (
        CellPlanner,
        EvalData,
        Measure,
        resolve_cv,
        resolve_targets,
    )
    from intelligent_training.model_selection import get_timestamps

    X, Y = panel
    data = EvalData.from_features(X, {})
    targets = resolve_targets(
        Y,
        X,
        timestamps=get_timestamps(X),
        cv=resolve_cv(5, default_n_splits=5, owner="t"),
        owner="t",
    )
    data.targets.update(targets.specs)
    planner = CellPlanner("rank", targets, data, seed=0, threads=1)
    cells = [
        c for t in Y.columns for c in planner.fold_cells(t, family, params, Measure(scores=True))
    ]
    return data, cells


def test_an_interrupted_run_resumes_from_the_finished_cells(panel, cluster, tmp_path):
    from intelligent_training.evaluation import resolve_memory

    data, cells = _planned(panel, "lightgbm", {"n_estimators": 40})
    memory = resolve_memory(tmp_path / "cache", "test")
    with use_dask(cluster):
        with record_cells() as first:
            stream = run_cells(cells, data, memory=memory)
            for _ in range(3):
                next(stream)
            stream.close()  # the run is stopped: the other cells are cancelled
        with record_cells() as second:
            resumed = {c.name: r for c, r in run_cells(cells, data, memory=memory)}
    assert len(first.cells) == 3
    cached = [row for row in second.cells if row["cached"]]
    assert 3 <= len(cached) < len(cells)  # the finished cells came from the client's cache
    assert second.transfers["tasks"] == len(cells) - len(cached)  # only the rest was sent
    assert all(r.ok for r in resumed.values())
    for cell, result in run_cells(cells, data):  # local, no cache: the same numbers
        np.testing.assert_array_equal(resumed[cell.name].scores, result.scores)


def test_closing_the_stream_early_cancels_the_rest(panel, cluster):
    data, cells = _planned(panel, "xgboost", {"n_estimators": 200})
    with use_dask(cluster):
        stream = run_cells(cells, data)
        _, first = next(stream)
        stream.close()
    assert first.ok
    deadline = time.monotonic() + 20
    while cluster.processing() and any(cluster.processing().values()):
        assert time.monotonic() < deadline, "cells still running after the stream closed"
        time.sleep(0.2)


# ----------------------------------------------------------------------- threads
def test_a_cell_gets_the_workers_threads_and_holds_the_worker():
    panel, truth = make_synthetic_panel(
        n_symbols=2, n_timestamps=200, n_features=12, random_state=1
    )
    X, Y = panel[truth.features], panel[truth.targets[:1]]
    with distributed.Client(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as client:
        with use_dask(client), record_cells() as log, distributed.get_task_stream(client) as ts:
            TargetRanker(families={"lightgbm": {"n_estimators": 30}}, random_state=0).fit(X, Y)
        assert {row["threads"] for row in log.cells} == {2}  # not stuck at one thread
        spans = sorted(
            (s["start"], s["stop"])
            for task in ts.data
            if str(task["key"]).startswith("cell-")
            for s in task["startstops"]
            if s["action"] == "compute"
        )
        assert len(spans) == len(log.cells)
        # A two-thread cell holds the two-thread worker: cells never overlap.
        assert all(stop <= start for (_, stop), (start, _) in zip(spans, spans[1:]))
        with use_dask(client, threads_per_task=1), record_cells() as log:
            TargetRanker(families={"lightgbm": {"n_estimators": 30}}, random_state=0).fit(X, Y)
        assert {row["threads"] for row in log.cells} == {1}


def test_use_dask_settings_are_checked():
    with pytest.raises(ConfigError, match="threads_per_task"):
        with use_dask("local:1", threads_per_task=0):
            pass
    with pytest.raises(ConfigError, match="local:N"):
        with use_dask("local:none"):
            pass


# ---------------------------------------------------------------- local clusters
@pytest.mark.slow
def test_a_local_cluster_lives_for_the_block_only(panel):
    X, Y = panel
    with use_dask("local:2") as runtime:
        client = runtime.client
        env = set(client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values())
        with record_cells() as log:
            TargetRanker(families=RANK, random_state=0).fit(X, Y.iloc[:, :1])
        assert {row["pid"] for row in log.cells} <= _worker_pids(client)
    assert env == {"1"}
    assert client.status == "closed"
    with pytest.raises(ZeroDivisionError):
        with use_dask("local:1") as runtime:
            client = runtime.client
            raise ZeroDivisionError
    assert client.status == "closed"  # closed on errors too


# ------------------------------------------------------------------- lost worker
@pytest.mark.slow
def test_a_killed_worker_s_cells_are_retried(panel):
    X, Y = panel
    families = {"xgboost": {"n_estimators": 150}, "lightgbm": {"n_estimators": 150}}
    local = TargetRanker(families=families, random_state=0, n_jobs=2).fit(X, Y)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as local_cluster,
        distributed.Client(local_cluster, set_as_default=False) as client,
    ):
        before = client.run(os.getpid)
        victim = sorted(before)[0]
        killed: list[str] = []

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                busy = client.processing(workers=[victim]).get(victim)
                if busy and any(str(k).startswith("cell-") for k in busy):
                    killed.extend(map(str, busy))
                    with contextlib.suppress(Exception):  # the worker never answers
                        client.run(os._exit, 1, workers=[victim])
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_busy)
        with use_dask(client), record_cells() as log:
            killer.start()
            remote = TargetRanker(families=families, random_state=0).fit(X, Y)
        killer.join()
        assert killed, "the worker was never seen running a cell"
        client.wait_for_workers(2, timeout=30)
        after = client.run(os.getpid)
    assert before[victim] not in after.values()  # the worker really died (and restarted)
    cells = pd.DataFrame(log.cells)
    assert cells["error"].isna().all()  # nothing dropped, nothing failed
    assert set(cells["pid"]) <= set(before.values()) | set(after.values())
    pd.testing.assert_frame_equal(local.rankings_, remote.rankings_)
    for target in Y.columns:
        pd.testing.assert_frame_equal(
            local.oof_predictions_[target], remote.oof_predictions_[target]
        )


def test_torch_cells_in_threads_give_the_results_of_one_thread(panel):
    # torch's generators are process-wide: cells in threads (locally, or on a Dask
    # worker with several threads) must not draw from each other's streams.
    X, Y = panel
    fams = {"mlp": {"max_epochs": 2, "hidden_sizes": [8]}}
    one, two = (
        ModelTrainer(families=fams, random_state=0, n_jobs=n, cpu_only=True).fit(X, Y.iloc[:, :2])
        for n in (1, 2)
    )
    pd.testing.assert_frame_equal(
        one.cv_metrics_.drop(columns="fit_seconds"), two.cv_metrics_.drop(columns="fit_seconds")
    )
