"""`intelligent-train report OUTPUT_DIR`, and report.html/report.json written by every run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from intelligent_training.cli import main

FAST = {"lightgbm": {"n_estimators": 10, "num_leaves": 7}, "linear": {}}
CONFIG = {
    "target_ranking": {"top_n": 2, "families": FAST, "n_splits": 2},
    "feature_selection": {
        "top_m": 5,
        "families": FAST,
        "importance": ["native"],
        "require_min_models": 1,
        "n_splits": 2,
    },
    "training": {"families": FAST, "n_splits": 2},
    "runtime": {"threads": 1},
    "report": {"quantiles": 3, "cost_bps": 20.0},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A whole CLI run on a tiny synthetic data dir."""
    from intelligent_training.datasets import write_synthetic_data_dir

    root = tmp_path_factory.mktemp("report_cli")
    write_synthetic_data_dir(
        root / "data", n_symbols=4, n_timestamps=300, n_features=12, random_state=0
    )
    config = root / "fast.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    out = root / "out"
    argv = [
        "--data-dir",
        str(root / "data" / "interval=5m"),
        "--config",
        str(config),
        "--output-dir",
        str(out),
        "--no-cache",
        "-q",
    ]
    assert main(argv) == 0
    return out


def test_a_run_writes_the_report(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    data = json.loads((run_dir / "report.json").read_text())
    html = (run_dir / "report.html").read_text()
    assert data["selected_targets"] == manifest["selected_targets"]
    assert data["run"]["data"]["fingerprint"] == manifest["data"]["fingerprint"]
    assert data["run"]["versions"] == manifest["versions"]
    assert data["run"]["cache"] == manifest["cache"]
    assert "target_ranking:" in data["run"]["config"]  # the resolved configuration
    assert manifest["selected_targets"][0] in html
    assert manifest["data"]["fingerprint"][:12] in html
    # the tearsheet with the run's report options, from the evidence in the run directory
    assert data["tearsheet"]["options"] == {"quantiles": 3, "cost_bps": 20.0}
    sheet = data["tearsheet"]["targets"][manifest["selected_targets"][0]]
    assert len(sheet["bucket_mean_return"]) == 3 and sheet["cost_bps"] == 20.0
    assert 'id="tearsheet-1"' in html


def test_report_subcommand_rerenders_from_the_files(run_dir, tmp_path, capsys):
    before = json.loads((run_dir / "report.json").read_text())
    out = tmp_path / "again"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out / 'report.html'}"
    assert json.loads((out / "report.json").read_text()) == before
    assert (out / "report.html").read_text() == (run_dir / "report.html").read_text()


def test_report_subcommand_json_only_through_python_m(run_dir, tmp_path):
    out = tmp_path / "json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "intelligent_training",
            "report",
            str(run_dir),
            "--out",
            str(out),
            "--json-only",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (out / "report.json").is_file() and not (out / "report.html").exists()


def test_report_subcommand_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 1
    assert "is not a directory" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "output directory" in err and "Traceback" not in err
    assert main(["report"]) == 2
    assert "OUTPUT_DIR" in capsys.readouterr().err


def test_a_return_column_that_is_not_in_the_data_is_refused(tmp_path, capsys):
    from intelligent_training.datasets import write_synthetic_data_dir

    write_synthetic_data_dir(tmp_path / "data", n_symbols=3, n_timestamps=60, random_state=0)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "report": {"return_column": "fwd_ret_nope"}}))
    argv = ["--data-dir", str(tmp_path / "data" / "interval=5m"), "--config", str(config),
            "--output-dir", str(tmp_path / "out"), "--no-cache", "-q"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "report.return_column" in err and "fwd_ret_nope" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "report.html").exists()


def test_flag_only_form_is_unchanged(capsys):
    assert main(["--version"]) == 0
    assert main([]) == 2  # still asks for --data-dir
    assert "--data-dir" in capsys.readouterr().err


def test_report_subcommand_in_place_keeps_the_published_run_verifiable(run_dir, capsys):
    """Without --out the published run is rewritten under its lock: the report links stay
    links into the current run, the manifest lists the new files' checksums and the
    pipeline still loads (every checksum verified)."""
    import os

    from intelligent_training import IntelligentPipeline
    from intelligent_training.io import sha256_file

    html = run_dir / "report.html"
    assert html.is_symlink()
    run = html.resolve().parent
    before = json.loads((run / "manifest.json").read_text())["artefacts"]
    assert main(["report", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {run_dir / 'report.html'}"
    assert html.is_symlink() and os.readlink(html) == "current/report.html"
    after = json.loads((run / "manifest.json").read_text())["artefacts"]
    for name in ("report.html", "report.json"):
        assert after[name]["sha256"] == sha256_file(run / name)[0]
    # every other file keeps its recorded checksum (nothing else is re-blessed)
    assert {k: v for k, v in after.items() if not k.startswith("report.")} == {
        k: v for k, v in before.items() if not k.startswith("report.")
    }
    assert IntelligentPipeline.load(run_dir).selected_targets_
    assert not (run_dir / ".lock").exists() or (run_dir / ".lock").read_text() == ""
