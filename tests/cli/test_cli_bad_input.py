"""DESIGN §10 through the console script: every bad input gives a non-zero exit, one
message line naming the problem, no traceback and no half-written outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from intelligent_training.cli import main

from .conftest import assert_nothing_published, copy_data

#: Flags that keep the runs that get past loading short.
FAST = ["--no-auto-features", "--families", "linear", "--no-cache", "-q"]
#: A run that only loads the data and trains one linear model.
MINIMAL = [*FAST, "--no-auto-targets", "--targets", "fwd_ret_5m"]


@pytest.fixture(autouse=True)
def _fast_config(fast_config):
    FAST_CONFIG_PATH[:] = [str(fast_config)]


FAST_CONFIG_PATH: list[str] = []


def _run(data_dir, out, *flags):
    argv = ["--data-dir", str(data_dir), "--output-dir", str(out), "--config", *FAST_CONFIG_PATH]
    return main([*argv, *flags])


def _fail(capsys, data_dir, out, *flags):
    rc = _run(data_dir, out, *FAST, *flags)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert_nothing_published(out)
    return lines[0]


def _edit_first(data_dir, dest, edit):
    first = []

    def wrapper(symbol, frame):
        if not first:
            first.append(symbol)
            return edit(frame)
        return frame

    copy_data(data_dir, dest, wrapper)
    return dest, first[0]


def test_inf_in_features(data_dir, tmp_path, capsys):
    def add_inf(frame):
        frame = frame.copy()
        frame.loc[frame.index[10], "f03"] = np.inf
        return frame

    bad, symbol = _edit_first(data_dir, tmp_path / "d", add_inf)
    msg = _fail(capsys, bad, tmp_path / "o")
    assert "inf" in msg.lower() and "f03" in msg


def test_nan_in_features_are_missing_values(data_dir, tmp_path, capsys):
    """NaN features are missing values: every stage takes them (trees natively, the
    other families impute), so the run succeeds."""

    def add_nan(frame):
        frame = frame.copy()
        frame.loc[frame.index[10:20], "f03"] = np.nan
        return frame

    data, _ = _edit_first(data_dir, tmp_path / "d", add_nan)
    out = tmp_path / "o"
    rc = _run(data, out, *MINIMAL)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert rc == 0, err
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("kind", ["all_nan", "constant"])
def test_unusable_target(data_dir, tmp_path, capsys, kind):
    def spoil(symbol, frame):
        frame = frame.copy()
        frame["fwd_ret_5m"] = np.nan if kind == "all_nan" else 1.0
        return frame

    bad = copy_data(data_dir, tmp_path / "d", spoil)
    msg = _fail(capsys, bad, tmp_path / "o", "--no-auto-targets", "--targets", "fwd_ret_5m")
    assert "fwd_ret_5m" in msg
    assert ("NaN" if kind == "all_nan" else "constant") in msg


def test_duplicate_rows(data_dir, tmp_path, capsys):
    bad, symbol = _edit_first(data_dir, tmp_path / "d", lambda f: f.iloc[np.r_[0:50, 10:20]])
    msg = _fail(capsys, bad, tmp_path / "o")
    assert "duplicate" in msg.lower()


def test_unsorted_rows_are_sorted_by_the_loader(data_dir, tmp_path, capsys):
    """Unsorted tables are read in time order: the same data as the sorted ones."""
    shuffled, _ = _edit_first(data_dir, tmp_path / "d", lambda f: f.iloc[::-1])
    fingerprints = []
    for name, data in (("sorted", data_dir), ("shuffled", shuffled)):
        assert _run(data, tmp_path / name, *MINIMAL) == 0, capsys.readouterr().err
        manifest = json.loads((tmp_path / name / "manifest.json").read_text())
        fingerprints.append(manifest["data"]["fingerprint"])
    assert fingerprints[0] == fingerprints[1]


def test_unknown_symbol(data_dir, tmp_path, capsys):
    msg = _fail(capsys, data_dir, tmp_path / "o", "--symbols", "NOPE")
    assert "NOPE" in msg


def test_missing_data_dir(tmp_path, capsys):
    msg = _fail(capsys, tmp_path / "missing", tmp_path / "o")
    assert "missing" in msg


def test_missing_time_column(data_dir, tmp_path, capsys):
    bad, _ = _edit_first(data_dir, tmp_path / "d", lambda f: f.drop(columns="ts"))
    msg = _fail(capsys, bad, tmp_path / "o")
    assert "time" in msg.lower() or "ts" in msg


def test_unknown_target_and_feature_columns(data_dir, tmp_path, capsys):
    msg = _fail(capsys, data_dir, tmp_path / "o", "--targets", "fwd_ret_999m")
    assert "fwd_ret_999m" in msg
    msg = _fail(capsys, data_dir, tmp_path / "o2", "--features", "nope_feature")
    assert "nope_feature" in msg


def test_non_numeric_column_is_dropped_with_a_warning(data_dir, tmp_path, capsys):
    def add_text(frame):
        return frame.assign(f_text=["x"] * len(frame))

    data, _ = _edit_first(data_dir, tmp_path / "d", add_text)
    out = tmp_path / "o"
    assert _run(data, out, *MINIMAL) == 0
    err = capsys.readouterr().err
    assert "f_text" in err and "Traceback" not in err
    assert "f_text" in (out / "training_results/logs/run.log").read_text()
    features = (out / "feature_selections/fwd_ret_5m/selected_features.txt").read_text().split()
    assert "f_text" not in features and features


def test_empty_data_dir(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    msg = _fail(capsys, tmp_path / "empty", tmp_path / "o")
    assert "empty" in msg or "no " in msg.lower()


def test_config_typo(data_dir, tmp_path, capsys):
    bad = tmp_path / "c.yaml"
    bad.write_text("target_ranking:\n  top_n_target: 3\n")  # the seed's alias is top_n_targets
    msg = _fail(capsys, data_dir, tmp_path / "o", "--config", str(bad))
    assert "target_ranking.top_n_target" in msg and "c.yaml" in msg and "top_n" in msg


def test_horizon_longer_than_the_data(data_dir, tmp_path, capsys):
    def long_label(symbol, frame):
        return frame.assign(fwd_ret_30d=frame["fwd_ret_5m"])

    bad = copy_data(data_dir, tmp_path / "d", long_label)
    msg = _fail(capsys, bad, tmp_path / "o", "--no-auto-targets", "--targets", "fwd_ret_30d")
    assert "fwd_ret_30d" in msg


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "bomb.yaml",
            "target_ranking:\n  horizons:\n    a0: &a0 ["
            + ",".join(['"xxxxxxxx"'] * 9)
            + "]\n"
            + "".join(
                f"    a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)
            ),
            "aliases are expanded",
        ),
        ("latin.yaml", "data:\n  symbols: [caf\xe9]\n".encode("latin-1"), "not UTF-8"),
        ("deep.yaml", "data:\n  symbols: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),
    ],
)
def test_hostile_config_files(data_dir, tmp_path, capsys, name, content, expected):
    bad = tmp_path / name
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    msg = _fail(capsys, data_dir, tmp_path / "o", "--config", str(bad))
    assert name in msg and expected in msg and len(msg) < 300, msg[:400]


@pytest.mark.parametrize("scale", [1e300, 1e20])
def test_an_overflowing_target_is_refused_before_any_work(data_dir, tmp_path, capsys, scale):
    """A target scaled by 1e300 published before (``linear`` failing, selection falling
    back to all features, predictions ~1e37)."""

    def scaled(symbol, frame):
        return frame.assign(fwd_ret_5m=frame["fwd_ret_5m"] * scale)

    bad = copy_data(data_dir, tmp_path / "d", scaled)
    msg = _fail(capsys, bad, tmp_path / "o")
    assert "fwd_ret_5m" in msg and "1e+15" in msg and "rescale" in msg, msg
