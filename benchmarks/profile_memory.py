"""Profile: where the CLI run's resident memory peaks, stage by stage.

Runs ``intelligent-train`` in this process with a thread that reads the resident set
size every 10 ms (``/proc/self/statm``, Linux) and prints, per pipeline stage (ranking,
selection, training, and what runs around them), the resident size when the stage
starts and ends and its peak, as ratios to the float32 size of the features, with the
innermost package frames of every thread at the run's peak. ``bench_memory.py`` gives
the figure; this tells which stage and which call hold it.

Run (any CLI arguments after ``--``)::

    .venv/bin/python benchmarks/profile_memory.py --rows 500000 --features 50 -- \\
        --data-dir /tmp/memdata-500k/r500000_f50_s100/interval=5m \\
        --output-dir /tmp/prof-out --config run.json -q

The sampler keeps no frame object between two reads: a frame it held would keep a
finished cell's locals (its LightGBM datasets) alive and move the peak.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
import time
import traceback

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Sampler:
    """RSS every ``interval`` seconds; the peak per stage and the stacks at the run's peak."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.stage = "start"
        self.peaks: dict[str, int] = {}
        self.peak = 0
        self.stacks: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.is_set():
            now = rss()
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), now)
            if now > self.peak + 2**20:
                self.peak = now
                self.stacks = [
                    " > ".join(
                        f"{os.path.basename(f.filename)}:{f.name}:{f.lineno}"
                        for f in traceback.extract_stack(frame)
                        if "intelligent_training" in f.filename
                    )[-400:]
                    for tid, frame in sys._current_frames().items()
                    if tid != me
                ]  # the comprehension's frames go with it
            time.sleep(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--features", type=int, required=True)
    parser.add_argument("cli", nargs=argparse.REMAINDER, help="-- then the CLI arguments")
    args = parser.parse_args()
    x32 = args.rows * args.features * 4
    argv = args.cli[1:] if args.cli[:1] == ["--"] else args.cli

    import intelligent_training.cli as cli
    from intelligent_training.pipeline import _pipeline

    sampler = Sampler()

    def mark(name: str) -> None:
        sampler.stage = name
        print(f"{name:12s} rss {rss() / 2**20:7.0f} MiB = {rss() / x32:5.2f}x", flush=True)

    def staged(method: str) -> None:
        original = getattr(_pipeline.IntelligentPipeline, method)

        @functools.wraps(original)
        def wrapper(self, *a, **k):  # type: ignore[no-untyped-def]
            mark(method.strip("_") + " >")
            try:
                return original(self, *a, **k)
            finally:
                mark("< " + method.strip("_"))

        setattr(_pipeline.IntelligentPipeline, method, wrapper)

    for method in ("_rank", "_select", "_train"):
        staged(method)
    with sampler:
        mark("run >")
        rc = cli.main(argv)
        mark("< run")
    print(f"exit {rc}; peak {sampler.peak / 2**20:.0f} MiB = {sampler.peak / x32:.2f}x")
    for stage, peak in sampler.peaks.items():
        print(f"  peak while {stage!r:14s} {peak / 2**20:7.0f} MiB = {peak / x32:5.2f}x")
    print("threads at the peak:")
    for line in sampler.stacks:
        if line:
            print("  " + line)
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
