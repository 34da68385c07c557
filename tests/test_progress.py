"""Progress log lines where no bar is drawn (``_progress.ProgressLog``, ``progress``)."""

from __future__ import annotations

import logging

import pytest

from intelligent_training import _progress
from intelligent_training._progress import ProgressLog, format_seconds, progress


class Clock:
    """A clock the test advances by hand (time.perf_counter of the module)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(_progress.time, "perf_counter", clock)
    return clock


def messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "intelligent_training"]


def test_a_line_per_item_with_elapsed_and_estimate(clock, caplog):
    caplog.set_level(logging.INFO, logger="intelligent_training")
    log = ProgressLog("selection", 4)
    for took, name in ((10.0, "a"), (30.0, "b"), (2.0, "c"), (4.0, "d")):
        clock.now += took
        log.done(name)
    assert messages(caplog) == [
        "selection: target a done (1/4) in 10 s; 10 s elapsed, about 30 s left",
        "selection: target b done (2/4) in 30 s; 40 s elapsed, about 40 s left",
        "selection: target c done (3/4) in 2.0 s; 42 s elapsed, about 14 s left",
        "selection: target d done (4/4) in 4.0 s; 46 s elapsed, finished",
    ]


def test_interval_logs_a_count_at_most_that_often_and_always_the_last(clock, caplog):
    caplog.set_level(logging.INFO, logger="intelligent_training")
    log = ProgressLog("cells", 5, unit="cell", interval=30.0)
    for _ in range(5):
        clock.now += 12.0
        log.done()
    # 12 s, 24 s: under 30 s since the start; 36 s: logged; 48 s: 12 s since; 60 s: last
    assert messages(caplog) == [
        "cells: 3/5 cells done; 36 s elapsed, about 24 s left",
        "cells: 5/5 cells done; 60 s elapsed, finished",
    ]


def test_interval_loop_shorter_than_the_interval_logs_nothing(clock, caplog):
    caplog.set_level(logging.INFO, logger="intelligent_training")
    log = ProgressLog("cells", 3, unit="cell", interval=30.0)
    for _ in range(3):
        clock.now += 9.0
        log.done()
    assert log.n_done == 3 and messages(caplog) == []


def test_disabled_log_counts_but_writes_nothing(clock, caplog):
    caplog.set_level(logging.INFO, logger="intelligent_training")
    log = ProgressLog("ranking", 2, enabled=False)
    log.done("x")
    log.done("y")
    assert log.n_done == 2 and messages(caplog) == []


def test_progress_without_bar_logs_each_finished_item_not_one_left_by_break(clock, caplog):
    caplog.set_level(logging.INFO, logger="intelligent_training")
    seen = []
    for item in progress(["t1", "t2", "t3"], desc="training", verbose=False, label=str):
        if item == "t3":
            break
        clock.now += 5.0
        seen.append(item)
    assert seen == ["t1", "t2"]
    assert [m.split(" done")[0] for m in messages(caplog)] == [
        "training: target t1",
        "training: target t2",
    ]


def test_progress_without_label_or_interval_is_silent(caplog):
    caplog.set_level(logging.INFO, logger="intelligent_training")
    assert list(progress(range(3), total=3, verbose=False)) == [0, 1, 2]
    assert messages(caplog) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0.0 s"), (8.25, "8.2 s"), (75.4, "75 s"), (250, "4 min 10 s"), (3725, "1 h 02 min")],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
