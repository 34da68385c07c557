"""``--dask-scheduler local:2``: the whole job on two worker processes, same outputs."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from intelligent_training.evaluation import record_cells

from .test_cli_end_to_end import _run, _snapshot


@pytest.mark.slow
def test_local_cluster_runs_every_stage_with_the_local_results(data_dir, fast_config, tmp_path):
    pytest.importorskip("distributed")
    rc, _ = _run(data_dir, tmp_path / "local", fast_config, "--no-cache")
    assert rc == 0
    with record_cells() as log:
        rc, _ = _run(
            data_dir, tmp_path / "dask", fast_config, "--no-cache", "--dask-scheduler", "local:2"
        )
    assert rc == 0
    pids = {row["pid"] for row in log.cells}
    assert os.getpid() not in pids and len(pids) == 2  # two worker processes ran the cells
    assert {row["stage"] for row in log.cells} == {"rank", "select", "train"}
    *remote, remote_preds = _snapshot(tmp_path / "dask")
    *local, local_preds = _snapshot(tmp_path / "local")
    assert remote == local  # rankings, selected features, selected targets
    assert remote_preds.keys() == local_preds.keys() and remote_preds
    for name, frame in local_preds.items():
        pd.testing.assert_frame_equal(remote_preds[name], frame)
    run_log = (tmp_path / "dask" / "training_results/logs/run.log").read_text()
    assert "Dask cluster at local:2 (2 workers)" in run_log
