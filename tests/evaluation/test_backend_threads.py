"""Local threads (``_backend.stream``): exclusive cells (torch's) run one at a time from
the start, beside the others, and no thread waits for one while other cells are left."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from intelligent_training.evaluation import Measure
from intelligent_training.evaluation._backend import stream
from intelligent_training.evaluation._cells import Cell, CellResult

pytest.importorskip("torch")


def _cell(family: str, k: int) -> Cell:
    return Cell(
        stage="select",
        target="y",
        family=family,
        fold=k,
        train=np.arange(3),
        test=np.arange(3, 5),
        params={},
        seed=0,
        label_horizon=0,
        measure=Measure(loss=True),
    )


class Recorder:
    """A memoiser-shaped stand-in for the cells' work: records when each ran, and how
    many exclusive (mlp) cells ran at once."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()
        self.solo_now = self.solo_max = 0
        self.start = time.perf_counter()

    def cache(self, func, ignore=()):  # the memoiser interface stream() uses
        def run(key, cell, data):
            begin = time.perf_counter() - self.start
            solo = cell.family == "mlp"
            with self.lock:
                self.solo_now += solo
                self.solo_max = max(self.solo_max, self.solo_now)
            time.sleep(self.seconds[cell.family])
            with self.lock:
                self.solo_now -= solo
            self.spans[cell.name] = (begin, time.perf_counter() - self.start)
            return CellResult(n_train=len(cell.train))

        return run


def test_exclusive_cells_start_first_and_no_thread_waits_for_them():
    # planned largest first: the exclusive cells come third, sixth and ninth
    families = ["lightgbm", "linear", "mlp"] * 3
    cells = [_cell(f, k) for k, f in enumerate(families)]
    recorder = Recorder({"lightgbm": 0.1, "linear": 0.1, "mlp": 0.3})
    got = list(stream(recorder, cells, [str(k) for k in range(9)], None, workers=2))
    assert sorted(c.name for c, _ in got) == sorted(c.name for c in cells)
    assert all(r.error is None for _, r in got)
    assert recorder.solo_max == 1  # never two exclusive cells at once
    mlp = sorted(v for k, v in recorder.spans.items() if "/mlp" in k)
    others = [v for k, v in recorder.spans.items() if "/mlp" not in k]
    # the first exclusive cell starts at once, before any of the two planned before it ends
    assert mlp[0][0] < min(end for _, end in others)
    # the chain (0.9 s) runs back to back, never waiting for another cell to end (0.1 s),
    # and the six others (0.6 s of work) beside it on the other thread: the grid takes
    # the chain's time, not the chain plus a tail of the others
    for (_, end), (begin, _) in zip(mlp, mlp[1:]):
        assert begin - end < 0.05
    assert max(end for _, end in others) < mlp[-1][1]
    assert mlp[-1][1] - mlp[0][0] < 0.9 + 0.09


def test_a_consumer_that_leaves_early_stops_new_cells():
    cells = [_cell("linear", k) for k in range(8)]
    recorder = Recorder({"linear": 0.05})
    results = stream(recorder, cells, [str(k) for k in range(8)], None, workers=2)
    next(results)
    results.close()
    time.sleep(0.2)
    assert len(recorder.spans) < 8
