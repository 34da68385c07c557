"""The console script under a hostile output directory (issue 23 §2): damaged run files
for ``intelligent-train report``, a symlinked or directory ``.lock``, user files beside
the outputs, a directory holding a user's own manifest."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import yaml

from intelligent_training.cli import main

#: linear models only: the run's files are under test, not the models
LINEAR = {
    "target_ranking": {"families": ["linear"], "n_splits": 2, "top_n": 2},
    "feature_selection": {
        "families": ["linear"],
        "importance": ["native"],
        "require_min_models": 1,
        "top_m": 4,
        "n_splits": 2,
    },
    "training": {"families": ["linear"], "n_splits": 2},
    "runtime": {"threads": 1},
}


@pytest.fixture(scope="module")
def linear_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile_cfg") / "linear.yaml"
    path.write_text(yaml.safe_dump(LINEAR))
    return path


def _argv(data_dir, out, config):
    return ["--data-dir", str(data_dir), "--output-dir", str(out), "--config", str(config)]


@pytest.fixture(scope="module")
def published(data_dir, linear_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile_run") / "out"
    assert main([*_argv(data_dir, out, linear_config), "--no-cache", "-q"]) == 0
    return out


@pytest.fixture
def run_copy(published, tmp_path):
    dest = tmp_path / "out"
    shutil.copytree(published, dest, symlinks=True)
    return dest


def _one_error_line(capsys, needle):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0], err
    return lines[0]


_RANDOM = np.random.default_rng(0).integers(0, 256, 600, dtype=np.uint8).tobytes() + b"\xff\xfe"
_DAMAGE = {
    "empty rankings": ("target_rankings/target_predictability_rankings.csv", b""),
    "random bytes in a CSV": ("feature_selections/{t}/feature_importance_multi_model.csv", _RANDOM),
    "random bytes in cv_metrics": ("training_results/metrics/cv_metrics.csv", _RANDOM),
    "random bytes in features": ("feature_selections/{t}/selected_features.txt", _RANDOM),
    "garbage parquet": ("training_results/metrics/skill_by_timestamp.parquet", b"PAR1garbagePAR1"),
    "unterminated quote": (
        "feature_selections/{t}/fold_importances.csv",
        b'feature,family,method,fold,importance\n"f0,linear,native,0,1.0\n',
    ),
}


@pytest.mark.parametrize("verified", [True, False], ids=["listed", "unlisted"])
@pytest.mark.parametrize("damage", list(_DAMAGE))
def test_report_of_a_damaged_run_is_one_line_naming_the_file(run_copy, capsys, damage, verified):
    run = run_copy / "current"
    manifest = json.loads((run / "manifest.json").read_text())
    rel, content = _DAMAGE[damage]
    rel = rel.format(t=manifest["paths"]["targets"][manifest["selected_targets"][0]])
    (run / rel).write_bytes(content)
    if not verified:  # no checksums to compare: the parser's failure must be clear too
        del manifest["artefacts"]
        (run / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(run_copy), "--json-only"]) == 1
    _one_error_line(capsys, os.path.basename(rel))


@pytest.mark.parametrize("text", ["{nope", '{"a": ' * 100_000 + "}" * 100_000])
def test_report_of_a_damaged_manifest_is_one_line(run_copy, capsys, text, tmp_path):
    (run_copy / "current" / "manifest.json").write_text(text)
    assert main(["report", str(run_copy), "--json-only"]) == 1
    _one_error_line(capsys, "manifest.json")
    assert main(["report", str(run_copy), "--out", str(tmp_path / "r"), "--json-only"]) == 1
    _one_error_line(capsys, "manifest.json")


def test_a_lock_symlink_leaves_its_target_untouched(data_dir, linear_config, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, out / ".lock")
    assert main([*_argv(data_dir, out, linear_config), "--no-cache", "-q"]) == 1
    _one_error_line(capsys, "symbolic link")
    assert victim.read_text() == "precious\n"


def test_a_lock_directory_is_a_clear_error(data_dir, linear_config, tmp_path, capsys):
    out = tmp_path / "out"
    (out / ".lock").mkdir(parents=True)
    assert main([*_argv(data_dir, out, linear_config), "--no-cache", "-q"]) == 1
    _one_error_line(
        capsys, ".lock is not a plain file written by intelligent-training (a directory)"
    )


def test_user_files_survive_runs(data_dir, linear_config, tmp_path):
    out = tmp_path / "DIR"
    out.mkdir()
    mine = [out / ".notes.old-2023", out / ".todo.link-x", tmp_path / ".DIR.partial-draft"]
    for path in mine:
        path.write_text("mine\n")
    for _ in range(2):
        assert main([*_argv(data_dir, out, linear_config), "-q"]) == 0
    assert all(path.read_text() == "mine\n" for path in mine)


def test_a_users_manifest_and_report_are_refused_not_moved(
    data_dir, linear_config, tmp_path, capsys
):
    out = tmp_path / "DIR"
    out.mkdir()
    (out / "manifest.json").write_text('{"mine": true}\n')
    (out / "report.html").write_text("<p>mine</p>\n")
    for _ in range(2):
        assert main([*_argv(data_dir, out, linear_config), "--no-cache", "-q"]) == 1
        _one_error_line(capsys, "did not write")
    assert (out / "manifest.json").read_text() == '{"mine": true}\n'
    assert (out / "report.html").read_text() == "<p>mine</p>\n"
