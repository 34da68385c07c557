"""The seed design's own usage, verbatim: its three commands and its two YAML files.

The design note (shared/reference) shows ``python TRAINING/train.py`` with these flags
and ``CONFIG/training_config/target_ranking_config.yaml`` /
``CONFIG/multi_model_feature_selection.yaml``; here the console script runs them on a
small hive data directory with the seed's symbols and column names. In the default
suite a ``--config`` with small models is added (it only shrinks the models; every
flag and both files are used as written); the slow test runs them exactly as written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from intelligent_training.cli import main

#: The seed design's two YAML files, verbatim.
SEED = Path(__file__).resolve().parents[1] / "seed"

#: The seed's commands, with ``python TRAINING/train.py`` and its data path replaced.
SEED_COMMANDS = {
    "basic": "--data-dir {data} --symbols AAPL MSFT GOOGL",
    "overrides": (
        "--data-dir {data} --symbols AAPL MSFT GOOGL --top-n-targets 10 --top-m-features 50 "
        "--families lightgbm xgboost mlp --strategy single_task"
    ),
    "manual": (
        "--data-dir {data} --symbols AAPL MSFT --targets fwd_ret_5m fwd_ret_15m "
        "--features feat1 feat2 feat3 --no-auto-targets --no-auto-features"
    ),
}

#: Small models for the default suite (the flags and seed files stay as they are).
SMALL_MODELS = {
    "target_ranking": {
        "families": {
            "lightgbm": {"n_estimators": 20, "num_leaves": 7},
            "xgboost": {"n_estimators": 20, "max_depth": 3},
            "random_forest": {"n_estimators": 20},
        }
    },
    "feature_selection": {
        "importance": ["native"],
        "families": {
            "lightgbm": {"n_estimators": 20, "num_leaves": 7},
            "random_forest": {"n_estimators": 20},
            "mlp": {"max_epochs": 3},
        },
    },
    "training": {"n_splits": 3},
    "runtime": {"threads": 1},
}


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory):
    """``data/data_labeled/interval=5m/symbol=<SYM>/<SYM>.parquet`` with the seed's names."""
    root = tmp_path_factory.mktemp("seed")
    data = root / "data" / "data_labeled" / "interval=5m"
    rng = np.random.default_rng(0)
    n = 400
    ts = pd.date_range("2024-01-02 09:30", periods=n, freq="5min")
    for symbol in ("AAPL", "MSFT", "GOOGL"):
        f = rng.standard_normal((n, 3))
        frame = pd.DataFrame({"ts": ts, "feat1": f[:, 0], "feat2": f[:, 1], "feat3": f[:, 2]})
        frame["fwd_ret_5m"] = 0.8 * frame.feat1 + 0.6 * rng.standard_normal(n)
        frame["fwd_ret_15m"] = 0.6 * frame.feat2 - 0.3 * frame.feat1 + 0.7 * rng.standard_normal(n)
        (data / f"symbol={symbol}").mkdir(parents=True)
        frame.to_parquet(data / f"symbol={symbol}" / f"{symbol}.parquet", index=False)
    for name in ("target_ranking_config.yaml", "multi_model_feature_selection.yaml"):
        shutil.copy(SEED / name, root / name)
    (root / "small.yaml").write_text(yaml.safe_dump(SMALL_MODELS))
    return root


def _argv(seed_dir, name, out, *extra):
    command = SEED_COMMANDS[name].format(data=seed_dir / "data" / "data_labeled" / "interval=5m")
    files = [
        "--target-ranking-config", str(seed_dir / "target_ranking_config.yaml"),
        "--multi-model-config", str(seed_dir / "multi_model_feature_selection.yaml"),
    ]  # fmt: skip
    return [*command.split(), *files, "--output-dir", str(out), "-q", *extra]


def _check_outputs(out, name):
    manifest = json.loads((out / "manifest.json").read_text())
    resolved = yaml.safe_load((out / "resolved_config.yaml").read_text())
    # the seed's keys resolved into ours
    assert resolved["target_ranking"]["min_score"] == 0.1
    assert resolved["target_ranking"]["max_samples_per_symbol"] == 10000
    assert resolved["feature_selection"]["require_min_models"] == 2
    assert "top_n_targets" not in (out / "resolved_config.yaml").read_text()
    selected = manifest["selected_targets"]
    assert set(selected) == {"fwd_ret_5m", "fwd_ret_15m"}
    ranks = pd.read_csv(out / "target_rankings" / "target_predictability_rankings.csv")
    assert set(ranks["target"]) == {"fwd_ret_5m", "fwd_ret_15m"}
    for target in selected:
        features = (out / "feature_selections" / target / "selected_features.txt").read_text()
        assert set(features.split()) <= {"feat1", "feat2", "feat3"}
    if name == "manual":
        assert manifest["data"]["symbols"] == ["AAPL", "MSFT"]
        assert resolved["target_ranking"]["enabled"] is False
    else:
        assert manifest["data"]["symbols"] == ["AAPL", "GOOGL", "MSFT"]
        assert set(resolved["target_ranking"]["families"]) == {
            "lightgbm",
            "xgboost",
            "random_forest",
        }
        # the planted signal: fwd_ret_5m is feat1 plus noise
        assert (out / "feature_selections/fwd_ret_5m/selected_features.txt").read_text().split()[
            0
        ] == "feat1"
    if name == "overrides":
        assert resolved["training"]["families"] == ["lightgbm", "xgboost", "mlp"]
        assert {row["target"]: row["families"] for row in manifest["summary"]} == {
            t: ["lightgbm", "mlp", "xgboost"] for t in selected
        }
    # the seed layout's cache mirrors
    assert json.loads((out / "cache" / "target_rankings.json").read_text())["rankings"]
    for target in selected:
        mirror = json.loads((out / "cache" / "feature_selections" / f"{target}.json").read_text())
        assert mirror["selected_features"] == features_of(out, target)


def features_of(out, target):
    return (out / "feature_selections" / target / "selected_features.txt").read_text().split()


@pytest.mark.parametrize("name", list(SEED_COMMANDS))
def test_seed_command_with_seed_yaml_files(seed_dir, tmp_path, name):
    out = tmp_path / "intelligent_output"
    assert main(_argv(seed_dir, name, out, "--config", str(seed_dir / "small.yaml"))) == 0
    _check_outputs(out, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SEED_COMMANDS))
def test_seed_command_exactly_as_written(seed_dir, tmp_path, name):
    """No extra settings at all: the packaged defaults plus the seed's files (minutes)."""
    out = tmp_path / "intelligent_output"
    assert main(_argv(seed_dir, name, out)) == 0
    _check_outputs(out, name)


def test_every_flag_setting_works_from_the_config_file_alone(seed_dir, tmp_path):
    """``data.data_dir`` (and every other flag's key) set in --config, no flags."""
    out = tmp_path / "from_config"
    config = {
        **SMALL_MODELS,
        "data": {
            "data_dir": str(seed_dir / "data" / "data_labeled" / "interval=5m"),
            "symbols": ["AAPL", "MSFT"],
            "targets": ["fwd_ret_5m"],
            "features": ["feat1", "feat2"],
        },
        "target_ranking": {"enabled": False},
        "feature_selection": {"enabled": False},
        "training": {"families": ["linear"], "n_splits": 2, "max_rows_train": 500},
        "runtime": {"output_dir": str(out), "random_state": 7, "threads": 1, "verbose": 0},
        "cache": {"enabled": False},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["--config", str(path)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["selected_targets"] == ["fwd_ret_5m"]
    assert manifest["data"]["symbols"] == ["AAPL", "MSFT"]
    assert manifest["data"]["n_features"] == 2
    assert manifest["summary"][0]["n_rows_final"] == 500
    assert not (out / "cache").exists()
    assert (
        yaml.safe_load((out / "resolved_config.yaml").read_text())["runtime"]["random_state"] == 7
    )
