"""A run whose stderr is not a terminal logs its progress: a line per finished target
of each stage and per finished stage, with elapsed time and an estimate of the rest."""

from __future__ import annotations

import re

from intelligent_training.cli import main


def test_non_tty_run_logs_a_line_per_target_and_stage(
    data_dir, fast_config, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("INTELLIGENT_TRAINING_PROGRESS", raising=False)
    out = tmp_path / "out"
    argv = ["--data-dir", str(data_dir), "--config", str(fast_config), "--output-dir", str(out)]
    assert main([*argv, "--no-cache"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err  # no progress bar drawn into a file or pipe
    lines = err.splitlines()
    for stage in ("ranking", "selection", "training"):
        done = [line for line in lines if line.startswith(f"INFO: {stage}: target ")]
        # top_n=2: two targets selected and trained; every candidate ranked
        assert len(done) >= 2, (stage, err)
        last = done[-1]
        assert re.search(r"done \((\d+)/\1\) in [\d.]+ s; [\d.]+ s elapsed, finished$", last)
        if stage != "ranking":  # the first of two targets: an estimate of the second
            assert re.search(r"done \(1/2\) .* elapsed, about [\d.]+ s left$", done[0]), done
    stages = [line for line in lines if line.startswith("INFO: pipeline: stage ")]
    assert [line.split()[3] for line in stages] == ["ranking", "selection", "training"]
    assert "(3/3)" in stages[-1] and "left" in stages[0]


def test_quiet_run_logs_no_progress(data_dir, fast_config, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--data-dir", str(data_dir), "--config", str(fast_config), "--output-dir", str(out)]
    assert main([*argv, "--no-cache", "-q"]) == 0
    assert "done (" not in capsys.readouterr().err
