"""The whole job through the console script: layout, cache reuse and invalidation."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
import yaml

from intelligent_training import IntelligentPipeline
from intelligent_training.cli import main

from .conftest import copy_data

LAYOUT = (
    "target_rankings/target_predictability_rankings.csv",
    "target_rankings/target_predictability_rankings.yaml",
    "training_results/models/pipeline.joblib",
    "training_results/metrics/cv_metrics.csv",
    "training_results/logs/run.log",
    "training_results/logs/warnings.txt",
    "resolved_config.yaml",
    "manifest.json",
)


def _run(data_dir, out, config, *extra):
    argv = ["--data-dir", str(data_dir), "--output-dir", str(out), "--config", str(config)]
    start = time.perf_counter()
    rc = main([*argv, "-q", *extra])
    return rc, time.perf_counter() - start


def _manifest(out):
    return json.loads((out / "manifest.json").read_text())


def _snapshot(out):
    """The results that must not change between a cold and a cached run."""
    manifest = _manifest(out)
    preds = {p.name: pd.read_parquet(p) for p in (out / "training_results/predictions").glob("*")}
    return (
        (out / "target_rankings/target_predictability_rankings.csv").read_text(),
        {
            p.parent.name: p.read_text()
            for p in (out / "feature_selections").glob("*/selected_features.txt")
        },
        manifest["selected_targets"],
        preds,
    )


_COLD_TOTALS: dict[str, float] = {}


def cold_manifest_total(out) -> float:
    """The cold run's fit seconds (from its manifest)."""
    return _COLD_TOTALS[str(out)]


@pytest.fixture(scope="module")
def cold(data_dir, fast_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_run") / "out"
    rc, seconds = _run(data_dir, out, fast_config)
    assert rc == 0
    _COLD_TOTALS[str(out)] = _manifest(out)["timings_s"]["fit"]
    return out, seconds


def test_cold_run_writes_the_layout(cold):
    out, _ = cold
    for rel in LAYOUT:
        assert (out / rel).is_file(), rel
    assert (out / "cache").is_dir()
    assert (out / "target_rankings/feature_importances").is_dir()
    manifest = _manifest(out)
    targets = manifest["selected_targets"]
    assert 1 <= len(targets) <= 2
    for target in targets:
        sel = out / "feature_selections" / target
        for name in (
            "selected_features.txt",
            "feature_importance_multi_model.csv",
            "model_agreement_matrix.csv",
        ):
            assert (sel / name).is_file()
        features = (sel / "selected_features.txt").read_text().split()
        assert 1 <= len(features) <= 6
    assert manifest["data"]["n_rows"] == 4 * 600
    assert manifest["data"]["symbols"] == ["SYM000", "SYM001", "SYM002", "SYM003"]
    assert manifest["versions"]["intelligent-training"]
    assert manifest["cache"]["misses"] > 0
    assert "total" in manifest["timings_s"]
    resolved = yaml.safe_load((out / "resolved_config.yaml").read_text())
    assert resolved["target_ranking"]["top_n"] == 2
    assert not list(out.parent.glob(".out.partial-*"))
    ranks = pd.read_csv(out / "target_rankings/target_predictability_rankings.csv")
    assert len(ranks) == 6 and ranks["target"].iloc[0] == targets[0] == "fwd_ret_5m"
    assert not {"fwd_ret_60m", "y_will_peak_60m_0.8"} & set(targets)  # the planted noise
    # the significance columns travel into the CSV and the YAML (issue 11)
    columns = ("t_stat", "p_value", "q_value", "significant", "stopped_after_folds")
    assert set(columns) <= set(ranks.columns)
    assert ranks.set_index("target").loc[targets, "significant"].all()
    doc = yaml.safe_load((out / "target_rankings/target_predictability_rankings.yaml").read_text())
    assert set(columns) <= set(doc["rankings"][0])
    assert "lightgbm_t_stat" in doc["rankings"][0] and "lightgbm_ic_tstat" not in ranks
    if len(targets) == 2:
        assert manifest["ranking_note"] == ""
    else:  # the run says why it kept fewer than top_n
        assert manifest["ranking_note"].startswith("selected 1 of top_n=2 targets")


def test_cached_rerun_is_fast_and_identical(cold, data_dir, fast_config):
    out, cold_seconds = cold
    before = _snapshot(out)
    rc, seconds = _run(data_dir, out, fast_config)
    assert rc == 0
    manifest = _manifest(out)
    assert manifest["cache"]["misses"] == 0 and manifest["cache"]["hits"] > 0
    assert seconds < 0.5 * cold_seconds, (seconds, cold_seconds)
    # the computation is served from the cache (writing the outputs and the report remains)
    cold_fit = cold_manifest_total(out)
    assert manifest["timings_s"]["fit"] <= 0.1 * cold_fit, (manifest["timings_s"], cold_fit)
    after = _snapshot(out)
    assert after[:3] == before[:3]
    for name, frame in before[3].items():
        pd.testing.assert_frame_equal(after[3][name], frame)
    loaded = IntelligentPipeline.load(out)
    assert loaded.selected_targets_ == manifest["selected_targets"]


def test_force_refresh_recomputes(cold, data_dir, fast_config):
    out, _ = cold
    rc, _ = _run(data_dir, out, fast_config, "--force-refresh")
    assert rc == 0
    cache = _manifest(out)["cache"]
    assert cache["hits"] == 0 and cache["misses"] > 0


def test_changed_data_recomputes(cold, data_dir, fast_config, tmp_path):
    out, _ = cold

    def bump(symbol, frame):
        frame = frame.copy()
        frame.loc[frame.index[5], "f00"] += 1.0
        return frame

    changed = copy_data(data_dir, tmp_path / "changed", bump)
    rc, _ = _run(changed, out, fast_config)
    assert rc == 0
    manifest = _manifest(out)
    assert manifest["cache"]["misses"] > 0
    assert manifest["data"]["data_dir"] == str(changed)


def test_no_cache_writes_no_cache(data_dir, fast_config, tmp_path):
    out = tmp_path / "nocache"
    rc, _ = _run(data_dir, out, fast_config, "--no-cache", "--no-auto-targets",
                 "--targets", "fwd_ret_5m", "--no-auto-features", "--families", "linear")  # fmt: skip
    assert rc == 0
    assert not (out / "cache").exists()
    assert (out / "manifest.json").is_file()
    assert _manifest(out)["cache"]["enabled"] is False
    assert (out / "feature_selections/fwd_ret_5m/selected_features.txt").read_text().split()


def test_config_typo_fails_naming_key_and_file(data_dir, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("feature_selection:\n  top_mm: 5\n")
    out = tmp_path / "typo"
    rc, _ = _run(data_dir, out, bad)
    err = capsys.readouterr().err
    assert rc == 1
    assert "feature_selection.top_mm" in err and str(bad) in err and "top_m" in err
    assert "Traceback" not in err
    assert not out.exists()
