"""Argument parsing, config overrides and usage-error exit codes (no model fitting)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from intelligent_training import __version__
from intelligent_training.cli import main
from intelligent_training.cli._parser import build_parser, overrides_from_args


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "--data-dir"),
        (["--data-dir", "d", "--top-n-targets", "0"], "positive integer"),
        (["--data-dir", "d", "--strategy", "bagging"], "invalid choice"),
        (["--data-dir", "d", "--no-such-flag"], "unrecognized arguments"),
        (["--data-dir", "d", "--force-refresh", "--no-cache"], "exclude each other"),
        (["--data-dir", "d", "--fdr", "0"], "number in (0, 1)"),
        (["--data-dir", "d", "--fdr", "1.5"], "number in (0, 1)"),
        (["--data-dir", "d", "--fdr", "lots"], "number in (0, 1)"),
    ],
)
def test_usage_errors_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_every_flag_maps_to_a_config_key():
    args = build_parser().parse_args(
        [
            "--data-dir", "d", "--symbols", "A, B", "--targets", "fwd_ret_5m",
            "--features", "f00,f01", "--no-auto-targets", "--top-n-targets", "3",
            "--no-auto-features", "--top-m-features", "7", "--families", "lightgbm,linear",
            "--strategy", "cascade", "--output-dir", "o", "--force-refresh", "--min-cs", "2",
            "--max-rows-train", "100", "--threads", "2", "--cpu-only", "--time-column", "ts",
            "--seed", "7", "--dask-scheduler", "tcp://h:8786", "-q", "--fdr", "0.05",
            "--no-early-stopping",
        ]
    )  # fmt: skip
    assert overrides_from_args(args) == {
        "data": {
            "data_dir": "d",
            "symbols": ["A", "B"],
            "time_column": "ts",
            "min_cs": 2,
            "targets": ["fwd_ret_5m"],
            "features": ["f00", "f01"],
        },
        "target_ranking": {"enabled": False, "top_n": 3, "fdr": 0.05, "early_stopping": False},
        "feature_selection": {"enabled": False, "top_m": 7},
        "training": {
            "families": ["lightgbm", "linear"],
            "strategy": "cascade",
            "max_rows_train": 100,
        },
        "runtime": {
            "output_dir": "o",
            "threads": 2,
            "cpu_only": True,
            "random_state": 7,
            "dask_scheduler": "tcp://h:8786",
            "verbose": 0,
        },
        "cache": {"force_refresh": True},
    }


def test_unset_flags_leave_the_config_alone():
    args = build_parser().parse_args(["--data-dir", "d", "--no-cache"])
    assert overrides_from_args(args) == {"data": {"data_dir": "d"}, "cache": {"enabled": False}}


@pytest.mark.parametrize(
    ("flags", "fdr", "early_stopping"),
    [
        ([], 0.1, True),  # the ranker's defaults
        (["--fdr", "0.05"], 0.05, True),
        (["--fdr", "none"], None, True),  # no significance test: the score alone
        (["--fdr", "None", "--no-early-stopping"], None, False),
        (["--early-stopping"], 0.1, True),
    ],
)
def test_fdr_and_early_stopping_reach_the_ranker(flags, fdr, early_stopping):
    from intelligent_training.app import build_pipeline
    from intelligent_training.config import load_config

    args = build_parser().parse_args(["--data-dir", "d", *flags])
    cfg = load_config(overrides=overrides_from_args(args))
    ranker = build_pipeline(cfg).ranker
    assert ranker.fdr == fdr
    assert ranker.early_stopping is early_stopping


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], None),
        (["--sample-weight", "uniqueness"], "uniqueness"),
        (["--sample-weight", "none"], None),
    ],
)
def test_sample_weight_reaches_every_stage(flags, expected):
    from intelligent_training.app import build_pipeline
    from intelligent_training.config import load_config

    args = build_parser().parse_args(["--data-dir", "d", *flags])
    pipeline = build_pipeline(load_config(overrides=overrides_from_args(args)))
    stages = (pipeline.ranker, pipeline.selector, pipeline.trainer)
    assert [stage.sample_weight for stage in stages] == [expected] * 3


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "intelligent_training", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_import_does_not_pull_heavy_modules():
    code = (
        "import sys, intelligent_training.cli, intelligent_training.pipeline, "
        "intelligent_training.config, intelligent_training.cache; "
        "print(sorted(m for m in ('torch', 'dask', 'shap') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "values",
    [
        ["AAPL", "MSFT", "GOOGL"],
        ["AAPL,MSFT,GOOGL"],
        ["AAPL,", "MSFT", "GOOGL"],
        ["AAPL, MSFT", "GOOGL"],
    ],
)
def test_list_flags_take_spaces_and_commas(values):
    """The seed writes --symbols AAPL MSFT GOOGL; commas work too, and mixed."""
    for flag, key in (
        ("--symbols", ("data", "symbols")),
        ("--targets", ("data", "targets")),
        ("--features", ("data", "features")),
        ("--families", ("training", "families")),
    ):
        args = build_parser().parse_args([flag, *values, "--data-dir", "d"])
        assert overrides_from_args(args)[key[0]][key[1]] == ["AAPL", "MSFT", "GOOGL"]


def test_an_empty_list_flag_is_a_usage_error(capsys):
    assert main(["--data-dir", "d", "--symbols", ","]) == 2
    assert "--symbols expects one or more names" in capsys.readouterr().err


def test_data_dir_from_the_config_file_alone(tmp_path, capsys):
    """The CLI reads the config before it asks for --data-dir (here the dir is missing)."""
    config = tmp_path / "run.yaml"
    config.write_text(f"data:\n  data_dir: {tmp_path / 'nope'}\n")
    rc = main(["--config", str(config), "--output-dir", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "nope" in err and "--data-dir" not in err.split("error:")[0]


def test_warnings_print_one_line_without_source_paths(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    for symbol in ("AAA", "BBB"):
        frame = pd.DataFrame(
            {
                "ts": pd.date_range("2024-01-01", periods=120, freq="5min"),
                "f1": rng.normal(size=120),
                "sector": "tech",
                "fwd_ret_5m": rng.normal(size=120),
            }
        )
        frame.to_parquet(tmp_path / f"{symbol}.parquet", index=False)
    argv = [
        "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"), "--no-cache",
        "--no-auto-targets", "--no-auto-features", "--families", "linear",
    ]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "sector" in line]
    assert lines == [lines[0]] and lines[0].startswith("WARNING: DataWarning: dropping")
    assert ".py:" not in err and "warnings.warn" not in err


def test_summary_table_says_why_fewer_targets_were_kept():
    from types import SimpleNamespace

    from intelligent_training.cli._summary import format_summary

    note = "selected 1 of top_n=3 targets (9 candidates): 2 not significant at fdr=0.1 (...)"
    manifest = {
        "summary": [{"target": "fwd_ret_5m", "score": 0.5, "n_features": 4, "families": ["x"]}],
        "ranking_note": note,
        "cache": {"enabled": False},
    }
    text = format_summary(SimpleNamespace(manifest=manifest, output_dir="out"))
    assert f"targets: {note}" in text.splitlines()
    manifest["ranking_note"] = ""  # top_n were kept: nothing to explain
    assert "targets:" not in format_summary(SimpleNamespace(manifest=manifest, output_dir="out"))


def test_a_repeated_warning_prints_once(capsys):
    from intelligent_training.cli._main import _setup_logging, _teardown_logging
    from intelligent_training.exceptions import DataWarning

    handler, shower = _setup_logging(1, debug=False)
    try:
        for _ in range(3):  # e.g. the ranker, the selector and the trainer
            shower("No horizon in the name of target(s) ['tgt_beta']", DataWarning, "x.py", 1)
        shower("another message", DataWarning, "x.py", 2)
    finally:
        _teardown_logging(handler, shower)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "WARNING: DataWarning: No horizon in the name of target(s) ['tgt_beta']",
        "WARNING: DataWarning: another message",
    ]
