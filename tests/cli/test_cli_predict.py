"""``intelligent-train predict``: scoring a held-out tail of the demo data.

What is compared (issue 24's acceptance):

1. the file written by ``intelligent-train predict OUT --data-dir TAIL`` equals
   ``IntelligentPipeline.load(OUT).predict_all`` of the same rows exactly (and its
   ensemble columns ``predict``), in parquet and in CSV;
2. those predictions equal the **out-of-fold** predictions wherever the scored rows are
   a test fold's rows. A run keeps only its final models, fitted on every row, so a
   test fold's model is rebuilt: the last fold of run ``OUT`` trained on the rows up to
   its ``train_end``; run ``FOLD`` trains the same configuration on exactly those rows
   (same seed, same parameters, one target so the rows are the same), so its final
   model is that fold's model. ``predict FOLD`` on the rows up to the fold's
   ``test_end`` with ``--start test_start`` (the earlier rows are the sequence model's
   history, as cross-validation gave it) must reproduce every family's out-of-fold
   prediction of ``OUT``'s last fold bit for bit, and the ensemble is their mean;
3. bad new data (a missing feature, a non-numeric feature, an extra column, too little
   history for a sequence family) exits 1 with one ``error:`` line naming it, and
   writes nothing (an earlier file at ``--out`` stays as it was).

The torch families are in the runs when torch is installed (``cnn1d``, lookback 4:
3 rows of history); without it the runs train ``linear`` only and the history tests
are skipped.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from intelligent_training import IntelligentPipeline, load_panel
from intelligent_training.app import read_predictions
from intelligent_training.cli import main
from intelligent_training.data import is_target

HAS_TORCH = importlib.util.find_spec("torch") is not None
LOOKBACK = 4
FAMILIES: dict = {"linear": {}}
if HAS_TORCH:
    FAMILIES["cnn1d"] = {"lookback": LOOKBACK, "channels": 4, "n_layers": 1, "max_epochs": 2}
HISTORY = LOOKBACK - 1 if HAS_TORCH else 0
N_HEAD = 300  # timestamps the run is trained on; the tail follows
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="the sequence families need torch")


def _split(src: Path, dest: Path, rows: slice, edit=None) -> Path:
    """Copy each symbol's table of ``src`` keeping ``rows`` (positions in time order)."""
    for file in sorted(src.glob("symbol=*/*.parquet")):
        frame = pd.read_parquet(file).iloc[rows]
        if edit is not None:
            frame = edit(file.parent.name.split("=", 1)[1], frame)
        (dest / file.parent.name).mkdir(parents=True, exist_ok=True)
        frame.to_parquet(dest / file.parent.name / file.name, index=False)
    return dest


def _train(data: Path, out: Path, config: Path, *targets: str) -> None:
    argv = ["--data-dir", str(data), "--output-dir", str(out), "--config", str(config)]
    argv += ["--no-auto-targets", "--targets", *targets, "--no-auto-features", "--no-cache"]
    assert main([*argv, "-q"]) == 0


def _features(data: Path) -> pd.DataFrame:
    panel = load_panel(data)
    return panel[[c for c in panel.columns if not is_target(c)]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo data set, its head (trained on) and tail (with history rows), one run."""
    from intelligent_training.datasets import write_synthetic_data_dir

    root = tmp_path_factory.mktemp("predict")
    write_synthetic_data_dir(
        root / "all", n_symbols=3, n_timestamps=N_HEAD + 60, n_features=12, random_state=0
    )
    src = root / "all" / "interval=5m"
    config = root / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"training": {"families": FAMILIES, "n_splits": 2}, "runtime": {"threads": 1}}
        )
    )
    head = _split(src, root / "head", slice(0, N_HEAD))
    tail = _split(src, root / "tail", slice(N_HEAD - HISTORY, None))
    out = root / "out"
    _train(head, out, config, "fwd_ret_5m", "y_up_15m")
    return {"root": root, "src": src, "head": head, "tail": tail, "out": out, "config": config}


def _predict(demo, data, out_file, *extra, run=None):
    return main(
        [
            "predict",
            str(run or demo["out"]),
            "--data-dir",
            str(data),
            "--out",
            str(out_file),
            "-q",
            *extra,
        ]
    )


def test_predict_file_equals_the_python_api_exactly(demo, tmp_path, capsys):
    out_file = tmp_path / "scores.parquet"
    assert _predict(demo, demo["tail"], out_file) == 0, capsys.readouterr().err
    written = read_predictions(out_file)

    pipe = IntelligentPipeline.load(demo["out"])
    X = _features(demo["tail"])
    expected = pipe.predict_all(X)
    pd.testing.assert_frame_equal(written, expected, check_exact=True)
    ensemble = written.xs("ensemble", axis=1, level="family")
    pd.testing.assert_frame_equal(ensemble, pipe.predict(X), check_exact=True, check_names=False)

    # every selected target x trained family, and the ensemble
    families = sorted(FAMILIES)
    assert sorted(written.columns.get_level_values("target").unique()) == sorted(
        pipe.selected_targets_
    )
    for target in pipe.selected_targets_:
        assert sorted(written[target].columns) == sorted([*families, "ensemble"])
    # the ensemble averages the families: predictions, and for the binary target the
    # probabilities of its positive class (not labels)
    for target in ("fwd_ret_5m", "y_up_15m"):
        np.testing.assert_allclose(
            written[target]["ensemble"], written[target][families].mean(axis=1), rtol=1e-12
        )
    assert written["y_up_15m"].stack().between(0, 1).all()
    # the tail's first HISTORY rows per symbol are history only: the scored rows are the 60
    # timestamps after the head
    stamps = written.index.get_level_values("timestamp").unique()
    head_end = load_panel(demo["head"]).index.get_level_values("timestamp").max()
    assert len(stamps) == 60 and stamps.min() > head_end
    assert written.index.names == ["timestamp", "symbol"]

    # metadata: the run id and the versions of the libraries the models were trained with
    manifest = json.loads((demo["out"] / "manifest.json").read_text())
    raw = json.loads(pq.read_schema(out_file).metadata[b"intelligent_training"])
    assert raw["run_id"] == manifest["run_id"]
    assert raw["trained_with"] == manifest["versions"]
    assert raw["history_rows"] == HISTORY
    models = {(c["target"], c["family"]): c.get("model", "") for c in raw["columns"]}
    assert "Ridge" in models[("fwd_ret_5m", "linear")]
    assert raw["drift"]["drifted"] == []  # the tail comes from the same process

    # CSV (gzip): the same numbers, the metadata on the first line
    csv_file = tmp_path / "scores.csv.gz"
    assert _predict(demo, demo["tail"], csv_file) == 0
    from_csv = read_predictions(csv_file)
    pd.testing.assert_frame_equal(from_csv, written, check_exact=True, check_index_type=False)
    assert from_csv.attrs["intelligent_training"]["run_id"] == manifest["run_id"]


def test_predict_equals_the_out_of_fold_predictions_of_a_test_fold(demo, tmp_path, capsys):
    """See the module docstring, point 2."""
    target = "fwd_ret_5m"
    full = IntelligentPipeline.load(demo["out"])
    trainer = full.trainers_[target]
    fold = trainer.folds_.iloc[-1]
    assert fold["test_start"] > fold["train_end"]

    panel = load_panel(demo["head"])
    ts = panel.index.get_level_values("timestamp")
    n_train = int((ts <= fold["train_end"]).sum()) // 3  # rows per symbol of the fold's training
    fold_data = _split(demo["head"], tmp_path / "fold_train", slice(0, n_train))
    fold_run = tmp_path / "fold_run"
    _train(fold_data, fold_run, demo["config"], target)
    refit = IntelligentPipeline.load(fold_run)
    summary = refit.trainers_[target].cv_metrics_.query("fold == 'mean'")
    assert set(summary["n_final"]) == {fold["n_train"]}  # the fold's training rows, exactly

    n_until = int((ts <= fold["test_end"]).sum()) // 3
    new = _split(demo["head"], tmp_path / "until_test_end", slice(0, n_until))
    out_file = tmp_path / "fold.parquet"
    rc = _predict(demo, new, out_file, "--start", str(fold["test_start"]), run=fold_run)
    assert rc == 0, capsys.readouterr().err
    scored = read_predictions(out_file)[target]

    oof = trainer.oof_predictions_[target]
    in_test = (oof.index.get_level_values("timestamp") >= fold["test_start"]) & (
        oof.index.get_level_values("timestamp") <= fold["test_end"]
    )
    oof = oof[in_test]
    assert len(scored) == fold["n_test"] == len(oof)
    for family in FAMILIES:
        # the same model on the same rows; pandas 3 hands the block over in another memory
        # layout than pandas 2 did, so a float32 product may round in its last bit
        np.testing.assert_allclose(
            scored[family].to_numpy(), oof[family].to_numpy(), rtol=1e-5, atol=1e-6
        )
    np.testing.assert_allclose(
        scored["ensemble"].to_numpy(),
        oof[list(FAMILIES)].mean(axis=1).to_numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


# ------------------------------------------------------------------ bad new data
def _fails(demo, capsys, data, tmp_path, *extra, run=None):
    out_file = tmp_path / "scores.parquet"
    out_file.write_bytes(b"the previous predictions")
    rc = _predict(demo, data, out_file, *extra, run=run)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert out_file.read_bytes() == b"the previous predictions"  # nothing written
    assert [p.name for p in out_file.parent.iterdir() if ".partial-" in p.name] == []
    return lines[0]


def _tail(demo, tmp_path, edit, rows=None):
    rows = rows or slice(N_HEAD - HISTORY, None)
    return _split(demo["src"], tmp_path / "new", rows, edit)


def test_a_missing_feature_is_named(demo, tmp_path, capsys):
    new = _tail(demo, tmp_path, lambda s, f: f.drop(columns=["f03"]))
    msg = _fails(demo, capsys, new, tmp_path)
    assert "lacks the features ['f03']" in msg and str(new) in msg


def test_a_non_numeric_feature_is_named(demo, tmp_path, capsys):
    def as_text(symbol, frame):
        return frame.assign(f02=frame["f02"].map("{:.3f}".format)) if symbol == "SYM001" else frame

    new = _tail(demo, tmp_path, as_text)
    msg = _fails(demo, capsys, new, tmp_path)
    # the Arrow type of the file's column: string, or large_string from pandas 3
    assert re.search(r"'f02' is (large_)?string", msg), msg
    assert "SYM001" in msg and "(trained as float32)" in msg


def test_an_extra_column_is_named_and_targets_are_ignored(demo, tmp_path, capsys):
    new = _tail(demo, tmp_path, lambda s, f: f.assign(spread=1.0))
    msg = _fails(demo, capsys, new, tmp_path)
    assert "not trained on ['spread']" in msg
    assert "fwd_ret" not in msg  # the tail's target columns are not extra


def test_new_data_without_targets_scores(demo, tmp_path, capsys):
    new = _tail(demo, tmp_path, lambda s, f: f[[c for c in f.columns if not is_target(c)]])
    out_file = tmp_path / "scores.parquet"
    assert _predict(demo, new, out_file) == 0, capsys.readouterr().err
    reference = tmp_path / "reference.parquet"
    assert _predict(demo, demo["tail"], reference) == 0
    pd.testing.assert_frame_equal(read_predictions(out_file), read_predictions(reference))


@needs_torch
def test_too_little_history_names_the_rows_needed(demo, tmp_path, capsys):
    short = _tail(demo, tmp_path, None, rows=slice(N_HEAD, N_HEAD + HISTORY))
    msg = _fails(demo, capsys, short, tmp_path)
    assert f"need {HISTORY} earlier rows" in msg and f"at least {HISTORY + 1} rows" in msg
    assert "cnn1d" in msg and "lookback 4" in msg

    first = load_panel(demo["tail"]).index.get_level_values("timestamp").min()
    msg = _fails(demo, capsys, demo["tail"], tmp_path, "--start", str(first + pd.Timedelta("5min")))
    assert f"need {HISTORY} rows of each symbol before start" in msg and "(1)" in msg


@needs_torch
def test_start_scores_the_rows_after_it_with_their_history(demo, tmp_path, capsys):
    stamps = load_panel(demo["tail"]).index.get_level_values("timestamp").unique()
    out_file = tmp_path / "late.parquet"
    assert _predict(demo, demo["tail"], out_file, "--start", str(stamps[20])) == 0
    late = read_predictions(out_file)
    everything = tmp_path / "all.parquet"
    assert _predict(demo, demo["tail"], everything) == 0
    full = read_predictions(everything)
    assert late.index.get_level_values("timestamp").min() == stamps[20]
    pd.testing.assert_frame_equal(late, full.loc[late.index], check_exact=True)


def test_a_drifted_feature_is_warned_about_once(demo, tmp_path, capsys):
    # The demo's features are AR(1) with phi >= 0.95: 60 bars weigh like ~2 independent
    # rows, too few to tell drift from an excursion (module _profile). A feature that
    # became white noise around a new level is drift on any count.
    rng = np.random.default_rng(1)

    def shifted(symbol, frame):
        return frame.assign(f00=(3.0 + rng.standard_normal(len(frame))).astype("float32"))

    new = _tail(demo, tmp_path, shifted)
    out_file = tmp_path / "scores.parquet"
    assert _predict(demo, new, out_file) == 0
    err = capsys.readouterr().err
    drift = [line for line in err.splitlines() if "DriftWarning" in line]
    assert len(drift) == 1 and "'f00'" in drift[0] and "population stability index" in drift[0]
    meta = read_predictions(out_file).attrs["intelligent_training"]
    assert meta["drift"]["drifted"] == ["f00"]


def test_usage_errors(demo, tmp_path, capsys):
    assert _predict(demo, demo["tail"], tmp_path / "scores.txt") == 2
    assert "*.parquet, *.csv or *.csv.gz" in capsys.readouterr().err
    assert main(["predict", str(demo["out"]), "--out", str(tmp_path / "a.parquet")]) == 2
    rc = _predict(demo, demo["tail"], tmp_path / "missing" / "a.parquet")
    assert rc == 1 and "does not exist" in capsys.readouterr().err
    rc = _predict(demo, demo["tail"], tmp_path / "a.parquet", run=tmp_path / "no_run")
    assert rc == 1 and "not found" in capsys.readouterr().err


def test_a_run_given_a_feature_list_reads_only_those_columns(demo, tmp_path, capsys):
    """Trained with --features, the run read those columns only: NEW's others are not
    extra (the training data had them too), the run's list is what is checked."""
    out = tmp_path / "listed"
    argv = ["--data-dir", str(demo["head"]), "--output-dir", str(out), "--config"]
    argv += [str(demo["config"]), "--no-auto-targets", "--targets", "fwd_ret_5m"]
    argv += ["--no-auto-features", "--features", "f00", "f01", "f02", "--no-cache", "-q"]
    argv += ["--families", "linear"]
    assert main(argv) == 0
    out_file = tmp_path / "scores.parquet"
    assert _predict(demo, demo["tail"], out_file, run=out) == 0, capsys.readouterr().err
    pipe = IntelligentPipeline.load(out)
    assert list(pipe.feature_names_in_) == ["f00", "f01", "f02"]
    X = _features(demo["tail"])[["f00", "f01", "f02"]]
    pd.testing.assert_frame_equal(read_predictions(out_file), pipe.predict_all(X), check_exact=True)
    new = _tail(demo, tmp_path, lambda s, f: f.drop(columns=["f01"]))
    assert "lacks the features ['f01']" in _fails(demo, capsys, new, tmp_path, run=out)
