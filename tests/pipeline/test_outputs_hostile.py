"""A hostile output directory (issue 23 §2): symlinked control files, user files beside
the outputs, edited manifests, report paths, a full disk, outputs of the previous format."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from intelligent_training import IntelligentPipeline, ModelTrainer
from intelligent_training.exceptions import ArtefactError, IntelligentTrainingError
from intelligent_training.io import resolve_run
from intelligent_training.selection import FeatureSelector


def _panel(n_timestamps=240, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n_timestamps, freq="5min"), ["A", "B", "C"]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame(
        rng.standard_normal((len(index), 4)).astype("float32"), index, ["f0", "f1", "f2", "f3"]
    )
    noise = 0.3 * rng.standard_normal((len(index), 2))
    Y = pd.DataFrame(
        {"fwd_ret_5m": X["f0"] + noise[:, 0], "fwd_ret_15m": -X["f1"] + noise[:, 1]}, index=index
    )
    return X, Y


@pytest.fixture(scope="module")
def fitted():
    X, Y = _panel()
    pipe = IntelligentPipeline(
        selector=FeatureSelector(
            families=["linear"], importance=["native"], top_m=2, require_min_models=1, cv=2
        ),
        trainer=ModelTrainer(families=["linear"], cv=2, threads=1),
        targets=["fwd_ret_5m", "fwd_ret_15m"],
    ).fit(X, Y)
    return pipe, X


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "out"
    fitted[0].save(out)
    return out


@pytest.fixture
def copy(saved, tmp_path):
    """A private copy of the saved output directory (links kept), to damage."""
    dest = tmp_path / "out"
    shutil.copytree(saved, dest, symlinks=True)
    return dest


def _edit_manifest(out, edit):
    path = resolve_run(out) / "manifest.json"
    manifest = json.loads(path.read_text())
    text = edit(manifest)
    path.write_text(text if isinstance(text, str) else json.dumps(manifest))


# --------------------------------------------------------------- control files
def test_a_lock_symlink_is_refused_and_its_target_untouched(fitted, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, out / ".lock")
    with pytest.raises(ArtefactError, match=r"lock file .*\.lock is not a plain file.*symbolic"):
        fitted[0].save(out)
    assert victim.read_text() == "precious\n"
    assert not (out / "runs").exists()


def test_a_lock_hard_link_is_refused(fitted, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.link(victim, out / ".lock")
    with pytest.raises(ArtefactError, match="hard links"):
        fitted[0].save(out)
    assert victim.read_text() == "precious\n"


def test_a_lock_directory_is_a_clear_error(fitted, tmp_path):
    out = tmp_path / "out"
    (out / ".lock").mkdir(parents=True)
    with pytest.raises(ArtefactError, match=r"\.lock is not a plain file .*\(a directory\)"):
        fitted[0].save(out)


def test_a_manifest_symlink_is_not_followed_by_load(copy, tmp_path):
    flat = tmp_path / "flat"
    shutil.copytree(resolve_run(copy), flat)
    outside = tmp_path / "outside.json"
    (flat / "manifest.json").rename(outside)
    os.symlink(outside, flat / "manifest.json")
    with pytest.raises(ArtefactError, match="symbolic link"):
        IntelligentPipeline.load(flat)


# ------------------------------------------------------------------ user files
def test_user_files_beside_the_outputs_survive_runs(fitted, tmp_path):
    out = tmp_path / "DIR"
    out.mkdir()
    mine = [out / ".notes.old-2023", out / ".todo.link-x", tmp_path / ".DIR.partial-draft"]
    for path in mine:
        path.write_text("mine\n")
    for _ in range(3):
        fitted[0].save(out)
    assert all(path.read_text() == "mine\n" for path in mine)
    assert len(list((out / "runs").iterdir())) == 2


def test_a_directory_with_a_users_manifest_and_report_is_refused(fitted, tmp_path):
    out = tmp_path / "DIR"
    out.mkdir()
    (out / "manifest.json").write_text('{"mine": true}\n')
    (out / "report.html").write_text("<p>my report</p>\n")
    with pytest.raises(ArtefactError, match="did not write"):
        fitted[0].save(out)
    with pytest.raises(ArtefactError, match="did not write"):
        fitted[0].save(out)  # and again: nothing was moved away in between
    assert (out / "manifest.json").read_text() == '{"mine": true}\n'
    assert (out / "report.html").read_text() == "<p>my report</p>\n"
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())


# ---------------------------------------------------------- edited manifests
def test_a_deeply_nested_manifest_is_a_clear_error(copy):
    _edit_manifest(copy, lambda m: '{"a": ' * 200_000 + "1" + "}" * 200_000)
    with pytest.raises(ArtefactError, match="nested too deeply"):
        IntelligentPipeline.load(copy)


def test_a_trainer_entry_pointing_at_another_trainer_is_refused(copy):
    def swap(manifest):
        trainers = manifest["paths"]["trainers"]
        trainers["fwd_ret_5m"] = dict(trainers["fwd_ret_15m"])

    _edit_manifest(copy, swap)
    with pytest.raises(ArtefactError, match=r"holds the trainer of \['fwd_ret_15m'\]"):
        IntelligentPipeline.load(copy)


def test_a_trainer_entry_pointing_at_the_pipeline_file_is_refused(copy):
    def point(manifest):
        manifest["paths"]["trainers"]["fwd_ret_5m"] = {
            "format": "joblib",
            "path": manifest["paths"]["pipeline"],
        }

    _edit_manifest(copy, point)
    with pytest.raises(ArtefactError, match="not a ModelTrainer"):
        IntelligentPipeline.load(copy)


def test_a_trainer_entry_pointing_at_a_listed_json_file_is_refused(copy):
    def point(manifest):
        trainer_dir = manifest["paths"]["trainers"]["fwd_ret_15m"]["path"]
        manifest["paths"]["trainers"]["fwd_ret_5m"] = {
            "format": "joblib",
            "path": f"{trainer_dir}/manifest.json",  # listed, checksum fine, not a pickle
        }

    _edit_manifest(copy, point)
    with pytest.raises(ArtefactError, match=r"cannot read pickle .*manifest\.json"):
        IntelligentPipeline.load(copy)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda m: m["paths"]["trainers"].update({"fwd_ret_5m": 123}), "'fwd_ret_5m'"),
        (lambda m: m["paths"]["trainers"]["fwd_ret_5m"].update({"format": "x"}), "'format'"),
        (lambda m: m["paths"].update({"pipeline": 123}), "'pipeline'"),
        (lambda m: m["artefacts"].update({"x": {"sha256": 5}}), "'sha256'"),
        (lambda m: m.update({"library": "other"}), "not a manifest of intelligent-training"),
        (lambda m: m.update({"kind": "trainer"}), "manifest of a trainer"),
    ],
)
def test_the_manifest_schema_is_checked(copy, edit, needle):
    _edit_manifest(copy, edit)
    with pytest.raises(ArtefactError, match=needle):
        IntelligentPipeline.load(copy)


def test_paths_pipeline_pointing_at_a_listed_trainer_file_is_refused(copy):
    def point(manifest):
        trainer_dir = manifest["paths"]["trainers"]["fwd_ret_5m"]["path"]
        state = f"{trainer_dir}/trainer.joblib"
        run = resolve_run(copy)
        from intelligent_training.io import sha256_file

        manifest["paths"]["pipeline"] = state
        manifest["artefacts"][state] = {"sha256": sha256_file(run / state)[0]}

    _edit_manifest(copy, point)
    with pytest.raises(ArtefactError, match="holds a ModelTrainer, not a IntelligentPipeline"):
        IntelligentPipeline.load(copy)


# ------------------------------------------------------------------ report(path)
def test_report_to_an_existing_file_replaces_it(fitted, tmp_path):
    pytest.importorskip("jinja2")
    path = tmp_path / "mine.html"
    path.write_text("old")
    assert fitted[0].report(path) == path
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_to_a_new_html_path_writes_a_file(fitted, tmp_path):
    pytest.importorskip("jinja2")
    path = tmp_path / "sub" / "report.html"
    assert fitted[0].report(path) == path
    assert path.is_file() and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_to_a_directory_writes_html_and_json(fitted, tmp_path):
    pytest.importorskip("jinja2")
    assert fitted[0].report(tmp_path / "dir") == tmp_path / "dir" / "report.html"
    assert (tmp_path / "dir" / "report.json").is_file()


# ------------------------------------------------------------------ full disk
_FULL = textwrap.dedent(
    """
    import resource, signal, sys
    import joblib
    from intelligent_training.exceptions import IntelligentTrainingError
    pipe = joblib.load(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
    try:
        pipe.save(sys.argv[2])
    except IntelligentTrainingError as exc:
        print(type(exc).__name__, exc)
        sys.exit(3)
    """
)


def test_a_full_disk_while_saving_names_the_path_and_keeps_the_published_run(
    fitted, copy, tmp_path
):
    import joblib

    before = (copy / "manifest.json").read_text()
    joblib.dump(fitted[0], tmp_path / "pipe.joblib")
    proc = subprocess.run(
        [sys.executable, "-c", _FULL, str(tmp_path / "pipe.joblib"), str(copy)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 3, proc.stderr
    assert "no space left writing" in proc.stdout and str(copy) in proc.stdout
    assert "Traceback" not in proc.stderr
    assert (copy / "manifest.json").read_text() == before
    assert not list((copy / "runs").glob(".incomplete-*"))


# ------------------------------------------------------------ the previous format
def _as_format_2(out):
    """Rewrite the run the way the version before the io layer wrote it (format 2)."""
    from intelligent_training.io import MARKER, sha256_file

    run = resolve_run(out)
    top = run / "manifest.json"
    for path in run.rglob("manifest.json"):
        if path == top:
            continue
        manifest = json.loads(path.read_text())
        del manifest["kind"]
        versions = manifest.pop("versions")
        versions.pop("intelligent-training")
        manifest.update(
            format_version=2,
            created=manifest.pop("created_utc"),
            python=versions.pop("python"),
            dependencies=versions,
            files=manifest.pop("artefacts"),
        )
        path.write_text(json.dumps(manifest, indent=2))
    manifest = json.loads(top.read_text())
    del manifest["kind"]
    manifest["format_version"] = 2
    (run / MARKER).unlink()  # runs had no marker then
    del manifest["artefacts"][MARKER]
    for rel in manifest["artefacts"]:
        if rel.endswith("/manifest.json"):
            digest, size = sha256_file(run / rel)
            manifest["artefacts"][rel] = {"sha256": digest, "bytes": size}
    top.write_text(json.dumps(manifest, indent=2))


def test_outputs_of_the_previous_format_still_load(fitted, copy):
    pipe, X = fitted
    _as_format_2(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["format_version"] == 2 and "kind" not in manifest
    loaded = IntelligentPipeline.load(copy)
    pd.testing.assert_frame_equal(loaded.predict(X), pipe.predict(X))
    fitted[0].save(copy)  # and a new run replaces them as ours
    assert json.loads((copy / "manifest.json").read_text())["format_version"] == 3


def test_a_trainer_save_refuses_a_directory_with_a_foreign_manifest(fitted, tmp_path):
    trainer = next(iter(fitted[0].trainers_.values()))
    path = tmp_path / "t"
    path.mkdir()
    (path / "manifest.json").write_text('{"mine": true}')
    with pytest.raises(IntelligentTrainingError, match="not empty and does not hold"):
        trainer.save(path)
    assert (path / "manifest.json").read_text() == '{"mine": true}'
