"""save/load of fitted trainers: native formats, manifest, identical predictions, atomicity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from intelligent_training.exceptions import IntelligentTrainingError
from intelligent_training.training import ModelTrainer, _persistence

from ._helpers import FAST_LGBM, FAST_TORCH, FAST_XGB

TARGETS = ["fwd_ret_5m", "y_up_15m"]


def _roundtrip(trainer, X, tmp_path):
    path = tmp_path / "trainer"
    assert trainer.save(path) == str(path)
    loaded = ModelTrainer.load(path)
    pd.testing.assert_frame_equal(trainer.predict_all(X), loaded.predict_all(X), check_exact=True)
    pd.testing.assert_frame_equal(trainer.predict(X), loaded.predict(X), check_exact=True)
    pd.testing.assert_frame_equal(trainer.cv_metrics_, loaded.cv_metrics_)
    pd.testing.assert_frame_equal(trainer.oof_predictions_, loaded.oof_predictions_)
    return path, loaded, json.loads((path / "manifest.json").read_text())


def _files(path):
    return sorted(p.name for p in path.rglob("*") if p.is_file())


def test_roundtrip_tree_and_linear_models_in_native_formats(xy, tmp_path):
    X, Y, _ = xy
    families = {"lightgbm": FAST_LGBM, "xgboost": FAST_XGB, "linear": {}}
    trainer = ModelTrainer(threads=1, families=families, cv=2, random_state=0).fit(X, Y[TARGETS])
    path, _, manifest = _roundtrip(trainer, X, tmp_path)
    files = _files(path)
    assert files.count("model.txt") == 2  # LightGBM text, one per target
    assert files.count("model.json") == 2  # XGBoost JSON
    assert {"manifest.json", "cv_metrics.csv", "trainer.joblib"} <= set(files)
    by_family = {m["family"]: m for m in manifest["models"] if m["target"] == "fwd_ret_5m"}
    assert by_family["lightgbm"]["parts"][0]["format"] == "lightgbm-text"
    assert by_family["xgboost"]["parts"][0]["format"] == "xgboost-json"
    assert by_family["linear"]["format"] == "joblib"
    assert manifest["targets"] == TARGETS
    assert manifest["tasks"] == {"fwd_ret_5m": "regression", "y_up_15m": "binary"}
    assert manifest["features"] == list(X.columns)
    assert (
        manifest["versions"]["lightgbm"] and manifest["version"] and manifest["kind"] == "trainer"
    )
    assert manifest["params"]["families"]["lightgbm"] == FAST_LGBM
    assert {r["family"] for r in manifest["metrics_summary"]} == set(families)
    # The native files are the real models: LightGBM alone reproduces the predictions.
    import lightgbm

    entry = by_family["lightgbm"]
    booster = lightgbm.Booster(model_file=str(path / entry["path"] / "model.txt"))
    np.testing.assert_array_equal(
        booster.predict(X), trainer.models_[("fwd_ret_5m", "lightgbm")].predict(X)
    )


def test_roundtrip_series_classifier(xy, tmp_path):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families={"xgboost": FAST_XGB, "linear": {}}, cv=2).fit(
        X, Y["y_up_15m"]
    )
    path = tmp_path / "clf"
    trainer.save(path)
    loaded = ModelTrainer.load(path)
    np.testing.assert_array_equal(trainer.predict_proba(X), loaded.predict_proba(X))
    np.testing.assert_array_equal(trainer.predict(X), loaded.predict(X))
    np.testing.assert_array_equal(loaded.classes_, trainer.classes_)


def test_roundtrip_torch_models_as_state_dicts(xy, tmp_path):
    pytest.importorskip("torch")
    X, Y, _ = xy
    X, Y = X.iloc[:600], Y.iloc[:600]
    families = {
        "mlp": {"hidden_sizes": [16], **FAST_TORCH, "max_epochs": 2},
        "multi_task": {"trunk_sizes": [8], "head_sizes": [4], **FAST_TORCH, "max_epochs": 2},
    }
    trainer = ModelTrainer(threads=1, families=families, strategy="multi_task", cv=2, cpu_only=True)
    trainer.fit(X, Y[TARGETS])
    path, loaded, manifest = _roundtrip(trainer, X, tmp_path)
    files = _files(path)
    assert sum(f.endswith(".state_dict.pt") for f in files) == 3  # 2 mlp + 1 shared multi_task
    assert "config.json" in files
    shared = [m for m in manifest["models"] if m["family"] == "multi_task"]
    assert len({m["path"] for m in shared}) == 1
    assert loaded.models_[(TARGETS[0], "multi_task")] is loaded.models_[(TARGETS[1], "multi_task")]


def test_cascade_roundtrip(xy, tmp_path):
    X, Y, _ = xy
    trainer = ModelTrainer(
        threads=1, families={"lightgbm": FAST_LGBM, "linear": {}}, strategy="cascade", cv=2
    )
    trainer.fit(X, Y[TARGETS])
    _, _, manifest = _roundtrip(trainer, X, tmp_path)
    assert manifest["cascade_columns"]["y_up_15m"] == ["__cascade__fwd_ret_5m"]


def test_save_is_atomic(xy, tmp_path, monkeypatch):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, Y[TARGETS])
    path = tmp_path / "out" / "trainer"
    trainer.save(path)
    before = _files(path)
    real = _persistence.save_model
    calls = []

    def failing(model, directory):
        calls.append(directory)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(model, directory)

    monkeypatch.setattr(_persistence, "save_model", failing)
    with pytest.raises(OSError, match="disk full"):
        trainer.save(path)
    # The earlier save is intact and no temporary directory is left behind.
    assert _files(path) == before
    assert [p.name for p in path.parent.iterdir()] == ["trainer"]
    monkeypatch.setattr(_persistence, "save_model", real)
    with pytest.raises(OSError, match="disk full"):
        monkeypatch.setattr(_persistence, "save_model", failing)
        calls.clear()
        trainer.save(tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_save_refuses_a_foreign_directory(xy, tmp_path):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, Y["fwd_ret_5m"])
    (tmp_path / "data.csv").write_text("precious")
    with pytest.raises(IntelligentTrainingError, match="not empty"):
        trainer.save(tmp_path)
    assert (tmp_path / "data.csv").read_text() == "precious"
    with pytest.raises(IntelligentTrainingError, match="manifest.json"):
        ModelTrainer.load(tmp_path)


class _Stack:
    """A toy estimator holding boosters inside a dict and a list."""

    def fit(self, X, y):
        from lightgbm import LGBMRegressor

        def model(seed):
            return LGBMRegressor(
                n_estimators=5, num_leaves=4, random_state=seed, n_jobs=1, verbose=-1
            )

        self.by_name_ = {"a": model(0).fit(X, y)}
        self.chain_ = [model(1).fit(X, y)]
        return self

    def predict(self, X):
        return self.by_name_["a"].predict(X) + self.chain_[0].predict(X)


def test_save_model_finds_boosters_in_dicts_and_lists(xy, tmp_path):
    X, Y, _ = xy
    model = _Stack().fit(X, Y["fwd_ret_5m"])
    info = _persistence.save_model(model, tmp_path / "m")
    assert sorted(p["attr"] for p in info["parts"]) == ["by_name_.a._Booster", "chain_.0._Booster"]
    assert {p["format"] for p in info["parts"]} == {"lightgbm-text"}
    # The caller's model is untouched; the loaded one predicts the same.
    assert model.by_name_["a"].booster_ is not None and model.chain_[0].booster_ is not None
    loaded = _persistence.load_model(tmp_path / "m", info)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
