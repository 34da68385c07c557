"""Atomic publication (old or new, never mixed), leftovers of dead runs, the output lock."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from intelligent_training.exceptions import ArtefactError, OutputLockedError
from intelligent_training.io import (
    CURRENT,
    LINKED,
    MARKER,
    OutputLock,
    clean_leftovers,
    publishing,
    resolve_run,
    sha256_file,
)


def _write_run(run: Path, tag: str, n_files: int = 3) -> None:
    """A small run: files whose content names the run, and a manifest listing them."""
    (run / "training_results").mkdir()
    listing = {}
    for k in range(n_files):
        rel = f"training_results/part{k}.txt"
        (run / rel).write_text(f"{tag}:{k}\n" * 1000)
        listing[rel] = {"sha256": sha256_file(run / rel)[0]}
    (run / "manifest.json").write_text(json.dumps({"tag": tag, "artefacts": listing}))


def _tags(out: Path) -> set[str]:
    """The run tags visible through the user-facing names (one tag: a consistent state)."""
    manifest = json.loads((out / "manifest.json").read_text())
    tags = {manifest["tag"]}
    for rel, entry in manifest["artefacts"].items():
        path = out / rel
        assert sha256_file(path)[0] == entry["sha256"], rel
        tags |= {line.split(":")[0] for line in path.read_text().splitlines()}
    return tags


def test_publish_switches_one_link_and_keeps_the_previous_run(tmp_path):
    out = tmp_path / "out"
    (out / "cache").mkdir(parents=True)
    for tag in ("one", "two", "three"):
        with publishing(out) as run:
            assert run.name.startswith(".incomplete-")
            _write_run(run, tag)
            assert not (out / "manifest.json").exists() or _tags(out) != {tag}
        assert _tags(out) == {tag}
        clean_leftovers(out)
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert len(runs) == 2  # the current run and the one before it
    assert os.readlink(out / CURRENT) == f"runs/{runs[-1]}"
    assert resolve_run(out) == (out / "runs" / runs[-1]).resolve()
    assert os.readlink(out / "training_results") == "current/training_results"
    assert (out / "cache").is_dir() and not (out / "cache").is_symlink()
    assert not (out / "report.html").exists()  # linked only when a run has it


def test_failed_block_publishes_nothing(tmp_path):
    out = tmp_path / "out"
    with publishing(out) as run:
        _write_run(run, "old")
    with pytest.raises(RuntimeError), publishing(out) as run:
        _write_run(run, "new")
        raise RuntimeError("boom")
    assert _tags(out) == {"old"}
    assert not list((out / "runs").glob(".incomplete-*"))


def test_leftovers_of_dead_runs_are_cleaned_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    with publishing(out) as run:
        _write_run(run, "good")
    dead = out / "runs" / ".incomplete-20260101T000000000000Z-deadbeef"
    dead.mkdir()
    (dead / MARKER).write_text("20260101T000000000000Z-deadbeef\n")  # a run wrote it
    (dead / "x").write_text("half")
    never = out / "runs" / "29990101T000000000000Z-0badc0de"  # finished, never switched to
    never.mkdir()
    (never / MARKER).write_text("")
    stray = out / ".current.link-0123abcd"  # a kill between symlink() and rename()
    os.symlink("runs/29990101T000000000000Z-0badc0de", stray)
    # look-alikes this library did not write: never removed, whatever their names
    user = [
        out / ".notes.old-2023",
        out / ".todo.link-x",
        tmp_path / ".out.partial-draft",
        out / ".target_rankings.old-4242",
        out / "runs" / ".incomplete-20260101T000000000000Z-0000beef",  # no marker
        out / "runs" / "20200101T000000000000Z-00000000",  # named like a run, no marker
    ]
    for path in user:
        path.mkdir()
        (path / "mine.txt").write_text("keep me")
    os.symlink("/etc/passwd", out / ".report.html.link-0123abcd")  # our name, not our link
    removed = set(clean_leftovers(out))
    assert removed == {dead, never, stray}
    assert all((path / "mine.txt").read_text() == "keep me" for path in user)
    assert (out / ".report.html.link-0123abcd").is_symlink()
    assert _tags(out) == {"good"}
    with publishing(out) as run:  # a publication removes no foreign file either
        _write_run(run, "next")
    assert all((path / "mine.txt").read_text() == "keep me" for path in user)


def test_the_run_registered_in_the_lock_is_cleaned(tmp_path):
    out = tmp_path / "out"
    with OutputLock(out) as lock, publishing(out, lock=lock) as run:
        _write_run(run, "good")
    dead = out / "runs" / ".incomplete-20260101T000000000000Z-deadbeef"
    dead.mkdir()  # killed before it wrote its marker: only the lock names it
    (out / ".lock").write_text(json.dumps({"pid": 1, "staging": dead.name}))
    with OutputLock(out) as lock:
        assert dead in clean_leftovers(out, lock=lock)


@pytest.mark.parametrize("name", ["manifest.json", "report.html", "target_rankings", "current"])
def test_a_directory_with_foreign_layout_entries_is_refused_not_migrated(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    entry = out / name
    if name == "target_rankings":
        entry.mkdir()
        (entry / "old.csv").write_text("mine")
    else:
        entry.write_text("mine")
    with pytest.raises(ArtefactError, match=f"holds '{name}'.*did not write"):
        with publishing(out) as run:
            _write_run(run, "new")
    assert not (out / "runs").exists() or not list((out / "runs").iterdir())
    mine = entry / "old.csv" if name == "target_rankings" else entry
    assert mine.read_text() == "mine"


def test_a_user_link_named_like_the_layout_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    os.symlink(victim, out / "manifest.json")
    with pytest.raises(ArtefactError, match="a link to"):
        with publishing(out) as run:
            _write_run(run, "new")
    assert (out / "manifest.json").is_symlink() and victim.read_text() == "precious"


def test_a_current_link_outside_runs_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.symlink("/etc", out / CURRENT)
    with pytest.raises(ArtefactError, match="not to a run"):
        resolve_run(out)


# ----------------------------------------------------------------------------- the lock
_HOLD = textwrap.dedent(
    """
    import sys, time
    from intelligent_training.io import OutputLock
    OutputLock(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(120)
    """
)


def _hold(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_fails_naming_the_holder_and_a_dead_holder_is_taken_over(tmp_path, caplog):
    out = tmp_path / "out"
    proc = _hold(out)
    try:
        with pytest.raises(OutputLockedError) as info:
            OutputLock(out).acquire()
        message = str(info.value)
        assert f"pid {proc.pid}" in message and socket.gethostname() in message
        assert "another --output-dir" in message
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the killed holder left its pid in the file; the lock itself died with it
    assert str(proc.pid) in (out / ".lock").read_text()
    with caplog.at_level("INFO", logger="intelligent_training"), OutputLock(out):
        assert str(os.getpid()) in (out / ".lock").read_text()
    assert "taking over the lock" in caplog.text and str(proc.pid) in caplog.text
    assert (out / ".lock").read_text() == ""  # released


def test_the_cli_refuses_a_locked_output_directory_before_any_work(tmp_path, capsys):
    from intelligent_training.cli import main

    data = tmp_path / "data"
    data.mkdir()
    (data / "AAA.parquet").write_bytes(b"not parquet: reading it would fail differently")
    out = tmp_path / "out"
    proc = _hold(out)
    try:
        rc = main(["--data-dir", str(data), "--output-dir", str(out), "--no-cache", "-q"])
    finally:
        proc.kill()
        proc.wait()
    err = capsys.readouterr().err
    assert rc == 1 and f"pid {proc.pid}" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- SIGKILL
_WRITER = textwrap.dedent(
    """
    import sys
    from intelligent_training.io import OutputLock, clean_leftovers, publishing
    sys.path.insert(0, sys.argv[3])
    from test_publish import _write_run
    out, tag = sys.argv[1], sys.argv[2]
    with OutputLock(out) as lock:
        clean_leftovers(out, lock=lock)
        print("start", flush=True)
        with publishing(out, lock=lock) as run:
            _write_run(run, tag, n_files=200)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_old_or_new_never_mixed(tmp_path):
    """Ten runs killed at random instants of their write: each state is one whole run."""
    out = tmp_path / "out"
    here = str(Path(__file__).parent)
    subprocess.run([sys.executable, "-c", _WRITER, str(out), "first", here], check=True)
    timing = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(out), "timing", here], stdout=subprocess.PIPE, text=True
    )
    assert timing.stdout is not None and timing.stdout.readline().strip() == "start"
    start = time.perf_counter()  # the write alone: the interpreter's start-up is not in it
    assert timing.wait() == 0
    duration = time.perf_counter() - start
    rng = random.Random(0)
    seen = set()
    for k in range(10):
        before = _tags(out)
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(out), f"kill{k}", here],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
        time.sleep(rng.uniform(0, duration * 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = _tags(out)  # every file of the manifest matches: one run, whole
        assert after in (before, {f"kill{k}"}), (before, after)
        assert all((out / name).is_symlink() for name in LINKED if (out / name).exists())
        seen.add("new" if after == {f"kill{k}"} else "old")
    # a following run cleans the dead runs' leftovers and publishes
    subprocess.run([sys.executable, "-c", _WRITER, str(out), "last", here], check=True)
    assert _tags(out) == {"last"}
    assert not list((out / "runs").glob(".incomplete-*"))
    assert len(list((out / "runs").iterdir())) <= 2
    assert "old" in seen  # the kills did land inside the write


@pytest.mark.slow
def test_sigkill_during_real_runs_leaves_a_loadable_whole_run(tmp_path):
    """The CLI writing real runs (cached fits, 1 or 2 targets alternately), killed at
    random instants once its run directory appears: the published run always loads, and
    its manifest, models and files agree."""
    import yaml

    from intelligent_training import IntelligentPipeline
    from intelligent_training.datasets import write_synthetic_data_dir

    write_synthetic_data_dir(tmp_path / "d", n_symbols=3, n_timestamps=300, n_features=12)
    fast = {
        "target_ranking": {"families": ["linear"], "n_splits": 2},
        "feature_selection": {"enabled": False},
        "training": {"families": ["linear"], "n_splits": 2},
    }
    configs = []
    for top_n in (1, 2):
        path = tmp_path / f"top{top_n}.yaml"
        path.write_text(
            yaml.safe_dump({**fast, "target_ranking": {**fast["target_ranking"], "top_n": top_n}})
        )
        configs.append(path)
    out = tmp_path / "out"

    def argv(k):
        return [
            sys.executable, "-m", "intelligent_training", "--data-dir", str(tmp_path / "d"),
            "--output-dir", str(out), "--config", str(configs[k % 2]), "-q",
        ]  # fmt: skip

    def start_and_wait_for_the_write(k):
        proc = subprocess.Popen(argv(k))
        while not list((out / "runs").glob(".incomplete-*")) and proc.poll() is None:
            time.sleep(0.001)
        return proc

    subprocess.run(argv(0), check=True)  # fill the cache
    spans = []
    for k in range(1, 3):  # how long a write lasts, from its run dir's creation to the exit
        proc = start_and_wait_for_the_write(k)
        started = time.perf_counter()
        assert proc.wait() == 0
        spans.append(time.perf_counter() - started)
    rng = random.Random(1)
    outcomes = []
    mid_write = 0
    for k in range(10):
        before = json.loads((out / "manifest.json").read_text())["run_id"]
        proc = start_and_wait_for_the_write(k)
        time.sleep(rng.uniform(0, max(spans)))
        mid_write += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        manifest = json.loads((out / "manifest.json").read_text())
        outcomes.append("old" if manifest["run_id"] == before else "new")
        pipe = IntelligentPipeline.load(out)  # verifies every checksum it reads
        assert pipe.selected_targets_ == manifest["selected_targets"]
        assert len(manifest["selected_targets"]) in (1, 2)
        assert set(manifest["paths"]["trainers"]) == set(manifest["selected_targets"])
        run = resolve_run(out)
        for rel, entry in manifest["artefacts"].items():
            assert sha256_file(run / rel)[0] == entry["sha256"], rel
    assert mid_write >= 5, (mid_write, outcomes)  # most kills landed inside a write
