"""MLflow tracking of a run (--mlflow-uri / runtime.mlflow_uri), against a real file store."""

from __future__ import annotations

import importlib.util

import pytest

from intelligent_training.app import run_job
from intelligent_training.config import load_config
from intelligent_training.exceptions import MissingDependencyError

MINIMAL = {
    "target_ranking": {"enabled": False},
    "feature_selection": {"enabled": False},
    "training": {"families": ["linear"], "n_splits": 2},
    "data": {"targets": ["fwd_ret_5m", "y_up_15m"]},
}
HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from intelligent_training.datasets import write_synthetic_data_dir

    root = tmp_path_factory.mktemp("tracking_data")
    write_synthetic_data_dir(root, n_symbols=3, n_timestamps=300, n_features=12, random_state=2)
    return root / "interval=5m"


def _cfg(data_dir, out, uri, **extra):
    return load_config(
        {**MINIMAL, **extra},
        overrides={
            "data": {"data_dir": str(data_dir)},
            "runtime": {"output_dir": str(out), "mlflow_uri": uri},
        },
    )


@pytest.mark.skipif(HAS_MLFLOW, reason="checks the message shown when mlflow is missing")
def test_missing_mlflow_fails_before_any_work(data_dir, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(MissingDependencyError, match=r"intelligent-training\[mlflow\]"):
        run_job(_cfg(data_dir, out, f"file://{tmp_path / 'mlruns'}"))
    assert not (out / "runs").exists()  # nothing was fitted or published


@pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is not installed (the 'mlflow' extra)")
def test_run_is_logged_to_a_local_mlflow_store(data_dir, tmp_path, monkeypatch):
    import mlflow

    # MLflow 3 keeps the file store behind this switch (a database URI needs none)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")

    store = tmp_path / "mlruns"
    tuning = {"training": {**MINIMAL["training"], "tuning": {"n_trials": 3}}}
    if importlib.util.find_spec("optuna") is None:
        tuning = {}
    result = run_job(_cfg(data_dir, tmp_path / "out", store.as_uri(), **tuning))
    run_id = result.manifest["mlflow_run_id"]
    client = mlflow.MlflowClient(tracking_uri=store.as_uri())
    run = client.get_run(run_id)
    assert run.data.params["training.families"] == "['linear']"
    assert run.data.params["runtime.random_state"] == "0"
    assert run.data.tags["run_id"] == result.manifest["run_id"]
    assert "fwd_ret_5m/linear/skill" in run.data.metrics
    assert "y_up_15m/linear/skill" in run.data.metrics
    if tuning:
        assert run.data.metrics["fwd_ret_5m/linear/n_trials"] == 3
        assert "fwd_ret_5m/linear/oof_skill_deflated" in run.data.metrics
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"report.json", "manifest.json", "resolved_config.yaml", "training_results"} <= names
    local = client.download_artifacts(run_id, "report.json", str(tmp_path / "dl"))
    assert (result.output_dir / "report.json").read_bytes() == open(local, "rb").read()
