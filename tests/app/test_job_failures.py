"""run_job's failure policy: errors that need no work come first, disk full names the path,
a ranking that keeps nothing still publishes its reasons, and the cache's own failures."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from intelligent_training.app import run_job
from intelligent_training.cache import DiskCacheMemory, _memory
from intelligent_training.cli import main
from intelligent_training.config import load_config
from intelligent_training.exceptions import ArtefactError, CacheError, ConfigError, DataError

FAST = {
    "target_ranking": {"families": ["linear"], "n_splits": 2, "top_n": 2},
    "feature_selection": {"enabled": False},
    "training": {"families": ["linear"], "n_splits": 2},
    "runtime": {"threads": 1, "verbose": 0},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from intelligent_training.datasets import write_synthetic_data_dir

    root = tmp_path_factory.mktemp("failure_data")
    write_synthetic_data_dir(root, n_symbols=3, n_timestamps=300, n_features=12, random_state=2)
    return root / "interval=5m"


@pytest.fixture
def poisoned(data_dir, tmp_path):
    """The data plus a corrupt table: any attempt to read the data fails on it."""
    import shutil

    dest = tmp_path / "poisoned"
    shutil.copytree(data_dir, dest)
    (dest / "symbol=ZZZ").mkdir()
    (dest / "symbol=ZZZ" / "ZZZ.parquet").write_bytes(b"PAR1 garbage")
    return dest


def _cfg(data_dir, out, **sections):
    layers = {k: dict(v) for k, v in FAST.items()}
    for section, values in sections.items():
        layers.setdefault(section, {}).update(values)
    layers.setdefault("data", {})["data_dir"] = str(data_dir)
    layers["runtime"]["output_dir"] = str(out)
    return load_config(layers)


# ------------------------------------------------------------------ errors before any work
def test_unknown_family_fails_before_the_data_is_read(poisoned, tmp_path):
    with pytest.raises(ConfigError, match=r"(?i)unknown model family 'lightgbmm'.*did you mean"):
        run_job(_cfg(poisoned, tmp_path / "o", training={"families": ["lightgbmm"]}))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("no_cache", [False, True])
def test_unwritable_output_directory_fails_first(poisoned, tmp_path, no_cache):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    cfg = _cfg(poisoned, blocker / "out", cache={"enabled": not no_cache})
    with pytest.raises(ConfigError, match=r"cannot write to the output directory .*a_file/out"):
        run_job(cfg)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_read_only_output_directory_fails_first(poisoned, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="cannot write to the output directory"):
            run_job(_cfg(poisoned, ro / "out", cache={"enabled": False}))
    finally:
        ro.chmod(0o700)


def test_unknown_symbol_fails_before_the_data_is_read(poisoned, tmp_path):
    with pytest.raises(DataError, match=r"unknown symbol\(s\) \['NOPE'\]"):
        run_job(_cfg(poisoned, tmp_path / "o", data={"symbols": ["SYM000", "NOPE"]}))


# ------------------------------------------------------------------ no target survives
def test_no_surviving_target_publishes_the_rankings_with_each_reason(data_dir, tmp_path, capsys):
    out = tmp_path / "o"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        json.dumps({**FAST, "target_ranking": {**FAST["target_ranking"], "min_score": 5}})
    )
    rc = main(["--data-dir", str(data_dir), "--output-dir", str(out), "--config", str(cfg), "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    line = next(x for x in err.splitlines() if x.startswith("error: "))
    for target in ("fwd_ret_5m", "y_up_15m", "fwd_ret_60m"):
        assert f"{target}: " in line
    assert "below min_score=5" in line or "<= 0" in line
    assert "target_predictability_rankings.csv" in line
    ranks = (out / "target_rankings" / "target_predictability_rankings.csv").read_text()
    assert "fwd_ret_5m" in ranks
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "no_target_selected" and manifest["selected_targets"] == []
    with pytest.raises(ArtefactError, match="holds no fitted pipeline"):
        from intelligent_training import IntelligentPipeline

        IntelligentPipeline.load(out)


# ------------------------------------------------------------------ disk full
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


def test_disk_full_names_the_path_and_keeps_the_published_run(data_dir, tmp_path):
    out = tmp_path / "o"
    base = ["--data-dir", str(data_dir), "--output-dir", str(out), "--no-cache", "-q"]
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps(FAST))
    assert main([*base, "--config", str(fast)]) == 0
    before = (out / "manifest.json").read_text()
    proc = subprocess.run(
        [sys.executable, "-c", _FULL, "20000", *base, "--config", str(fast), "--seed", "3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no space left writing" in proc.stderr and str(out) in proc.stderr
    assert (out / "manifest.json").read_text() == before  # nothing published
    assert not list((out / "runs").glob(".incomplete-*"))


# ------------------------------------------------------------------ max_rows_train
def test_a_final_fit_smaller_than_the_cv_folds_warns_and_is_recorded(data_dir, tmp_path):
    cfg = _cfg(
        data_dir,
        tmp_path / "o",
        target_ranking={"enabled": False},
        data={"targets": ["fwd_ret_5m"]},
        training={"max_rows_train": 3},
        cache={"enabled": False},
    )
    manifest = run_job(cfg).manifest
    assert manifest["summary"][0]["n_rows_final"] <= 3
    assert any("fitted on" in w and "max_rows_train" in w for w in manifest["warnings"])


def test_a_failing_family_is_reported_as_its_failure_not_as_max_rows_train(data_dir, tmp_path):
    """lightgbm + xgboost {max_depth: -3} warned "fitted on 0 rows (training.max_rows_train)
    ... raise --max-rows-train" although max_rows_train was never set."""
    cfg = _cfg(
        data_dir,
        tmp_path / "o",
        target_ranking={"enabled": False},
        data={"targets": ["fwd_ret_5m"]},
        training={"families": {"linear": {}, "xgboost": {"max_depth": -3}}},
        cache={"enabled": False},
    )
    manifest = run_job(cfg).manifest
    warnings = manifest["warnings"]
    assert not any("max_rows_train" in w or "max-rows-train" in w for w in warnings), warnings
    (failure,) = [w for w in warnings if "'xgboost' failed" in w]
    assert "['fwd_ret_5m']" in failure and "XGBoostError" in failure and "max_depth" in failure
    assert "training.families.xgboost" in failure
    assert manifest["summary"][0]["n_rows_final"] > 0  # the linear model's final fit


# ------------------------------------------------------------------ the cache
def test_damaged_cache_names_its_path_and_force_refresh_rebuilds_it(data_dir, tmp_path, capsys):
    out = tmp_path / "o"
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps(FAST))
    argv = ["--data-dir", str(data_dir), "--output-dir", str(out), "--config", str(fast), "-q"]
    assert main(argv) == 0
    (out / "cache" / "cache.db").write_bytes(b"this is not a database" * 100)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert str(out / "cache") in err and "--force-refresh" in err and "damaged" in err
    assert main([*argv, "--force-refresh"]) == 0
    assert main(argv) == 0
    assert json.loads((out / "manifest.json").read_text())["cache"]["misses"] == 0


def test_damaged_cache_value_is_a_cache_error(tmp_path):
    def big(x):
        return {"x": x, "values": list(range(50_000))}  # a pickle in its own file

    memory = DiskCacheMemory(tmp_path / "c")
    memory.cache(big)(1)
    value_file = next(p for p in (tmp_path / "c").rglob("*.val"))
    value_file.write_bytes(value_file.read_bytes()[:100])
    with pytest.raises(CacheError, match=r"cache at .*/c is damaged.*--force-refresh"):
        DiskCacheMemory(tmp_path / "c").cache(big)(1)
    assert DiskCacheMemory(tmp_path / "c", refresh=True).cache(big)(1)["x"] == 1
    assert DiskCacheMemory(tmp_path / "c").cache(big)(1)["x"] == 1


def test_dependency_versions_are_part_of_the_key(tmp_path, monkeypatch):
    calls = []
    memory = DiskCacheMemory(tmp_path / "c")
    f = memory.cache(lambda x: calls.append(x) or x)
    f(1)
    f(1)
    assert calls == [1]
    other = {**_memory.dependency_versions(), "lightgbm": "0.0.1"}
    monkeypatch.setattr(_memory, "dependency_versions", lambda: other)
    f(1)
    assert calls == [1, 1]


def test_cache_files_are_never_world_writable(data_dir, tmp_path):
    out = tmp_path / "o"
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps(FAST))
    code = textwrap.dedent(
        """
        import os, sys
        from intelligent_training.cli import main
        os.umask(0)  # the most permissive umask: group-writable is fine, world-writable not
        sys.exit(main(sys.argv[1:]))
        """
    )
    argv = ["--data-dir", str(data_dir), "--output-dir", str(out), "--config", str(fast), "-q"]
    subprocess.run([sys.executable, "-c", code, *argv], check=True)
    paths = [out / "cache", *(out / "cache").rglob("*")]
    assert len(paths) > 5
    for path in paths:
        mode = path.stat().st_mode
        assert not mode & stat.S_IWOTH, (path, oct(mode))
    assert any(p.stat().st_mode & stat.S_IWGRP for p in paths)  # the umask is honoured


def test_mirrors_and_versions_of_the_cached_results(data_dir, tmp_path):
    cfg = _cfg(data_dir, tmp_path / "o", feature_selection={"enabled": True,
               "families": ["linear"], "importance": ["native"], "require_min_models": 1,
               "n_splits": 2, "top_m": 3})  # fmt: skip
    manifest = run_job(cfg).manifest
    computed = manifest["cache"]["computed_with"]
    assert computed["scikit-learn"] and computed["numpy"] and "lightgbm" in computed
    cache = tmp_path / "o" / "cache"
    rankings = json.loads((cache / "target_rankings.json").read_text())
    assert rankings["selected_targets"] == manifest["selected_targets"]
    assert rankings["job_key"] == manifest["job_key"] and rankings["computed_with"] == computed
    for target in manifest["selected_targets"]:
        mirror = json.loads((cache / "feature_selections" / f"{target}.json").read_text())
        listed = tmp_path / "o" / "feature_selections" / target / "selected_features.txt"
        assert mirror["selected_features"] == listed.read_text().split()
        assert len(mirror["importances"]) >= 3
