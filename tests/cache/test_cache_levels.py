"""Every memoisation level through the console script: the whole job, each stage fit and
each cell check the type of what the cache hands back, and a full disk under the cache is
reported as a full disk."""

from __future__ import annotations

import json
import pickle
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from intelligent_training.cli import main

FAST = {
    "target_ranking": {"families": ["linear"], "n_splits": 2, "top_n": 1},
    "feature_selection": {
        "families": ["linear"],
        "importance": ["native"],
        "require_min_models": 1,
        "n_splits": 2,
    },
    "training": {"families": ["linear"], "n_splits": 2},
    "runtime": {"threads": 1, "verbose": 0},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from intelligent_training.datasets import write_synthetic_data_dir

    root = tmp_path_factory.mktemp("levels_data")
    write_synthetic_data_dir(root, n_symbols=3, n_timestamps=300, n_features=12, random_state=4)
    return root / "interval=5m"


def _argv(data_dir, out, tmp_path):
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps(FAST))
    return ["--data-dir", str(data_dir), "--output-dir", str(out), "--config", str(fast)]


def test_cache_rows_of_the_wrong_type_are_misses_at_every_level(data_dir, tmp_path, capsys):
    import diskcache

    out = tmp_path / "o"
    argv = _argv(data_dir, out, tmp_path)
    assert main(argv) == 0
    first = (out / "target_rankings" / "target_predictability_rankings.csv").read_text()
    features = (out / "feature_selections" / "fwd_ret_5m").exists()
    with sqlite3.connect(out / "cache" / "cache.db") as con:
        names = [key for (key,) in con.execute("SELECT key FROM Cache")]
        con.execute(
            "UPDATE Cache SET mode = ?, value = ?, filename = NULL",
            (diskcache.core.MODE_PICKLE, pickle.dumps({"pipeline": 42})),
        )
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected" not in err
    for level in ("_fit_job", "_fit_estimator", "cached_cell"):  # job, stage fits, cells
        assert any(f".{level}:" in n for n in map(str, names)), level
        assert f"CacheWarning: the cache at {out / 'cache'} holds a " in err
        assert f"for {level}; that entry is ignored, recomputed and replaced" in err, level
    again = (out / "target_rankings" / "target_predictability_rankings.csv").read_text()
    assert again == first
    assert (out / "feature_selections" / "fwd_ret_5m").exists() == features
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cache"]["hits"] == 0 and manifest["cache"]["misses"] > 0
    capsys.readouterr()
    assert main(argv) == 0  # the entries were replaced: a plain hit, no warning
    assert "CacheWarning" not in capsys.readouterr().err


_FULL = textwrap.dedent(
    """
    import resource, signal, sys
    from intelligent_training.cli import main
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.exit(main(sys.argv[2:]))
    """
)


def test_a_full_disk_under_the_cache_is_reported_as_full(data_dir, tmp_path):
    """A file size limit (the cache fills up during the run's cells): SQLite only says
    "disk I/O error"; the message must say the disk is full, not that the cache is
    damaged or that the families failed, and must not advise deleting it."""
    limit = 300_000
    out = tmp_path / "o"
    proc = subprocess.run(
        [sys.executable, "-c", _FULL, str(limit), *_argv(data_dir, out, tmp_path), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, proc.stderr
    assert f"the disk holding the cache at {out / 'cache'} is full" in lines[0]
    assert "damaged" not in lines[0].replace("not damaged", "") and "delete" not in lines[0]
    assert (out / "cache" / "cache.db").exists()
