"""Fixtures of the end-to-end CLI tests: a tiny synthetic data dir and a fast config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

#: Fast settings: few, small models; the CLI flags and files are what is under test.
FAST_CONFIG = {
    "target_ranking": {
        "top_n": 2,
        "families": {"lightgbm": {"n_estimators": 10, "num_leaves": 7}, "linear": {}},
        "n_splits": 2,
    },
    "feature_selection": {
        "top_m": 6,
        "families": {"lightgbm": {"n_estimators": 10, "num_leaves": 7}, "linear": {}},
        "importance": ["native"],
        "require_min_models": 1,
        "n_splits": 2,
    },
    "training": {
        "families": {"lightgbm": {"n_estimators": 10, "num_leaves": 7}, "linear": {}},
        "n_splits": 2,
    },
    "runtime": {"threads": 1},
}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """4 symbols x 600 timestamps of the synthetic panel, hive layout."""
    from intelligent_training.datasets import write_synthetic_data_dir

    root = tmp_path_factory.mktemp("cli_data")
    write_synthetic_data_dir(root, n_symbols=4, n_timestamps=600, n_features=14, random_state=0)
    return root / "interval=5m"


@pytest.fixture(scope="session")
def fast_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli_config") / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST_CONFIG))
    return path


def symbol_files(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("symbol=*/*.parquet"))


def copy_data(data_dir: Path, dest: Path, edit=None) -> Path:
    """Copy the data dir; ``edit(symbol, frame) -> frame`` changes each table."""
    for file in symbol_files(data_dir):
        target = dest / file.parent.name / file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.read_parquet(file)
        if edit is not None:
            frame = edit(file.parent.name.split("=", 1)[1], frame)
        if frame is not None:
            frame.to_parquet(target, index=False)
    return dest


def assert_nothing_published(out: Path) -> None:
    """A failed run leaves no results: at most the lock, the cache and an empty runs/."""
    if not out.exists():
        return
    assert {p.name for p in out.iterdir()} <= {".lock", "cache", "runs"}, list(out.iterdir())
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())
    assert not list(out.parent.glob(f".{out.name}.partial-*"))
