"""run_job: the CLI's engine, from a PipelineConfig to the written outputs."""

from __future__ import annotations

import pytest

from intelligent_training.app import run_job
from intelligent_training.config import load_config

MINIMAL = {
    "target_ranking": {"enabled": False},
    "feature_selection": {"enabled": False},
    "training": {"families": ["linear"], "n_splits": 2},
    "data": {"targets": ["fwd_ret_5m", "y_up_15m"]},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from intelligent_training.datasets import write_synthetic_data_dir

    root = tmp_path_factory.mktemp("job_data")
    write_synthetic_data_dir(root, n_symbols=3, n_timestamps=400, n_features=14, random_state=1)
    return root / "interval=5m"


def _cfg(data_dir, out, **runtime):
    return load_config(
        MINIMAL,
        overrides={
            "data": {"data_dir": str(data_dir)},
            "runtime": {"output_dir": str(out), **runtime},
        },
    )


def test_run_job_writes_outputs_and_loads_back(data_dir, tmp_path):
    result = run_job(_cfg(data_dir, tmp_path / "out"))
    manifest = result.manifest
    assert manifest["selected_targets"] == ["fwd_ret_5m", "y_up_15m"]
    assert [row["target"] for row in manifest["summary"]] == ["fwd_ret_5m", "y_up_15m"]
    assert manifest["summary"][0]["families"] == ["linear"]
    assert manifest["data"]["n_features"] == 14
    pipe = result.load_pipeline()
    assert pipe.selected_targets_ == manifest["selected_targets"]
    assert len(pipe.selected_features_["fwd_ret_5m"]) == 14


def test_missing_data_dir_setting(tmp_path):
    from intelligent_training.exceptions import ConfigError

    with pytest.raises(ConfigError, match="--data-dir"):
        run_job(load_config(overrides={"runtime": {"output_dir": str(tmp_path)}}))


@pytest.mark.slow
def test_dask_scheduler_runs_the_job(data_dir, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        local = run_job(_cfg(data_dir, tmp_path / "local"))
        remote = run_job(
            _cfg(data_dir, tmp_path / "dask", dask_scheduler=cluster.scheduler_address)
        )
    assert remote.manifest["selected_targets"] == local.manifest["selected_targets"]
    assert remote.manifest["summary"] == local.manifest["summary"]


def test_bad_local_cluster_size_is_a_config_error(data_dir, tmp_path):
    from intelligent_training.exceptions import ConfigError

    pytest.importorskip("dask.distributed")
    with pytest.raises(ConfigError, match="local:N"):
        run_job(_cfg(data_dir, tmp_path / "o", dask_scheduler="local:zero"))


@pytest.mark.slow
def test_local_cluster_runs_the_job(data_dir, tmp_path):
    pytest.importorskip("dask.distributed")
    local = run_job(_cfg(data_dir, tmp_path / "local"))
    cluster = run_job(_cfg(data_dir, tmp_path / "cluster", dask_scheduler="local:1"))
    assert cluster.manifest["summary"] == local.manifest["summary"]
