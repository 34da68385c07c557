"""Artefacts that cannot lie: unique names, checksums checked before loading, confined paths."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from intelligent_training import IntelligentPipeline, ModelTrainer
from intelligent_training.exceptions import ArtefactError
from intelligent_training.io import file_stem, unique_stems
from intelligent_training.selection import FeatureSelector
from intelligent_training.training import _persistence

LGBM = {"lightgbm": {"n_estimators": 10, "num_leaves": 4, "min_child_samples": 5}}


def _panel(n_timestamps=300, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n_timestamps, freq="5min"), ["A", "B", "C"]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame(
        rng.standard_normal((len(index), 4)).astype("float32"), index, ["f0", "f1", "f2", "f3"]
    )
    noise = 0.3 * rng.standard_normal((len(index), 2))
    # two targets whose names give the same slug, with opposite signs: a swap shows
    Y = pd.DataFrame(
        {"fwd_ret_5m a": X["f0"] + noise[:, 0], "fwd_ret_5m_a": -X["f0"] + noise[:, 1]},
        index=index,
    )
    return X, Y


def _pipe(families=None):
    return IntelligentPipeline(
        selector=FeatureSelector(
            families=["linear"], importance=["native"], top_m=2, require_min_models=1, cv=2
        ),
        trainer=ModelTrainer(families=families or ["linear"], cv=2, threads=1),
        targets=["fwd_ret_5m a", "fwd_ret_5m_a"],
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, Y = _panel()
    out = tmp_path_factory.mktemp("saved") / "out"
    pipe = _pipe(families={"linear": {}, **LGBM}).fit(X, Y)
    pipe.save(out)
    return out, pipe, X, Y


def _copy(saved, tmp_path):
    """A private, flat copy of the saved run (so a test can damage it)."""
    out, *_ = saved
    dest = tmp_path / "copy"
    shutil.copytree(out / "current", dest, symlinks=False)
    return dest


def test_file_stems_are_unique_and_plain_names_stay_plain():
    assert file_stem("fwd_ret_5m") == "fwd_ret_5m"
    names = ["fwd_ret_5m a", "fwd_ret_5m_a", "FWD_RET_5M_A", "a/../b", "pipeline", "..", "con"]
    stems = unique_stems(names)
    assert len({s.casefold() for s in stems.values()}) == len(names)
    assert all("/" not in s and s not in {".", ".."} for s in stems.values())
    assert stems["pipeline"] != "pipeline"  # the layout's own file name is reserved


def test_targets_with_the_same_slug_keep_their_own_models(saved):
    out, pipe, X, Y = saved
    paths = json.loads((out / "manifest.json").read_text())["paths"]["trainers"]
    assert len({p["path"] for p in paths.values()}) == 2
    loaded = IntelligentPipeline.load(out)
    pred = loaded.predict(X)
    for target in Y.columns:
        assert np.corrcoef(pred[target], Y[target])[0, 1] > 0.9, target
    pd.testing.assert_frame_equal(pred, pipe.predict(X))


def test_every_artefact_is_listed_with_its_checksum(saved):
    out, *_ = saved
    manifest = json.loads((out / "manifest.json").read_text())
    run = out / "current"
    files = {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()}
    files.discard("manifest.json")
    assert set(manifest["artefacts"]) == files
    assert all(len(e["sha256"]) == 64 for e in manifest["artefacts"].values())


def test_truncated_lightgbm_model_is_an_error_not_a_crash(saved, tmp_path):
    out = _copy(saved, tmp_path)
    model = next(out.rglob("model.txt"))
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])
    with pytest.raises(ArtefactError, match=r"model\.txt does not match its SHA-256"):
        IntelligentPipeline.load(out)
    with pytest.raises(ArtefactError, match="truncated or modified"):
        ModelTrainer.load(model.parents[2])


def test_modified_pipeline_pickle_is_refused(saved, tmp_path):
    out = _copy(saved, tmp_path)
    path = out / "training_results" / "models" / "pipeline.joblib"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ArtefactError, match=r"pipeline\.joblib does not match"):
        IntelligentPipeline.load(out)


class _Marker:
    """Unpickling this writes a file: proof that foreign code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("where", ["trainer", "pipeline"])
@pytest.mark.parametrize("escape", ["../../evil", "/abs/evil"])
def test_paths_outside_the_directory_are_refused(saved, tmp_path, where, escape):
    out = _copy(saved, tmp_path)
    marker = tmp_path / "code_ran"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "estimator.joblib").write_bytes(pickle.dumps(_Marker(marker)))
    rel = escape if escape.startswith("../") else str(evil)
    if where == "trainer":
        trainer_dir = next((out / "training_results" / "models").glob("*/manifest.json")).parent
        manifest = json.loads((trainer_dir / "manifest.json").read_text())
        manifest["models"][0]["path"] = rel
        manifest["artefacts"][f"{rel}/estimator.joblib"] = {"sha256": "0" * 64}
        (trainer_dir / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ArtefactError, match="outside"):
            _persistence.load_trainer(trainer_dir)
    else:
        manifest = json.loads((out / "manifest.json").read_text())
        manifest["paths"]["pipeline"] = f"{rel}/estimator.joblib"
        manifest["artefacts"][f"{rel}/estimator.joblib"] = {"sha256": "0" * 64}
        (out / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ArtefactError, match="outside"):
            IntelligentPipeline.load(out)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda m: "{not json", "not valid JSON"),
        (lambda m: "[]", "must hold a JSON object"),
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "paths"}), "'paths'"),
        (lambda m: json.dumps({**m, "paths": {**m["paths"], "trainers": 3}}), "'trainers'"),
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "artefacts"}), "'artefacts'"),
        (lambda m: json.dumps({**m, "format_version": 1}), "without artefact checksums"),
    ],
)
def test_tampered_manifest_is_a_clear_error(saved, tmp_path, damage, needle):
    out = _copy(saved, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(damage(manifest))
    with pytest.raises(ArtefactError, match=needle):
        IntelligentPipeline.load(out)


def test_tampered_trainer_manifest_is_a_clear_error(saved, tmp_path):
    out = _copy(saved, tmp_path)
    trainer_dir = next((out / "training_results" / "models").glob("*/manifest.json")).parent
    manifest = json.loads((trainer_dir / "manifest.json").read_text())
    del manifest["models"][0]["parts"]
    (trainer_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtefactError, match=r"models\[0\] lacks the key 'parts'"):
        ModelTrainer.load(trainer_dir)
    (trainer_dir / "manifest.json").write_text("")
    with pytest.raises(ArtefactError, match="not valid JSON"):
        ModelTrainer.load(trainer_dir)


def test_load_docstrings_say_pickles_need_a_trusted_source():
    for func in (IntelligentPipeline.load, _persistence.load_trainer):
        assert "trust" in func.__doc__
