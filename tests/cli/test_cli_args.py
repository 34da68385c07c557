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
            "-q",
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
        "target_ranking": {"enabled": False, "top_n": 3},
        "feature_selection": {"enabled": False, "top_m": 7},
        "training": {
            "families": ["lightgbm", "linear"],
            "strategy": "cascade",
            "max_rows_train": 100,
        },
        "runtime": {"output_dir": "o", "threads": 2, "cpu_only": True, "verbose": 0},
        "cache": {"force_refresh": True},
    }


def test_unset_flags_leave_the_config_alone():
    args = build_parser().parse_args(["--data-dir", "d", "--no-cache"])
    assert overrides_from_args(args) == {"data": {"data_dir": "d"}, "cache": {"enabled": False}}


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
