"""Benchmark: the whole CLI, old code vs this code, stage by stage, in the same run.

The panel: 5 symbols x 2,500 five-minute bars, 16 features and 7 targets (the synthetic
panel's six, plus ``tgt_beta = 0.5 * fwd_ret_30m + noise``, whose name has no horizon
token). Both sides run ``python -m intelligent_training --data-dir ... --no-cache -q``
with the packaged defaults, cold; the old side imports the source of ``--baseline-ref``
(a ``git archive`` of that commit, extracted to a temporary directory) or
``--baseline-src``. Runs alternate old/new ``--repeat`` times; the medians are printed
with the ratios, the selected targets and features, and how they compare with the
panel's planted truth.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_pipeline.py                  # old = 92bcd2b
    .venv/bin/python benchmarks/bench_pipeline.py --repeat 3 --baseline-src /path/to/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
STAGES = ("ranking", "selection", "training")


def make_panel_dir(root: Path, n_symbols: int, n_timestamps: int, n_features: int) -> Any:
    """Write the benchmark panel (hive layout) under ``root``; return the truth."""
    from intelligent_training.datasets import make_synthetic_panel

    panel, truth = make_synthetic_panel(
        n_symbols=n_symbols, n_timestamps=n_timestamps, n_features=n_features, random_state=0
    )
    rng = np.random.default_rng(1)
    # 7th target: no horizon token in its name (uses default_horizon)
    panel["tgt_beta"] = (0.5 * panel["fwd_ret_30m"] + rng.standard_normal(len(panel))).astype(
        "float64"
    )
    data = root / "interval=5m"
    for symbol, frame in panel.groupby(level="symbol"):
        folder = data / f"symbol={symbol}"
        folder.mkdir(parents=True, exist_ok=True)
        table = frame.reset_index(level="symbol", drop=True).reset_index()
        table.rename(columns={"timestamp": "ts"}).to_parquet(folder / f"{symbol}.parquet")
    return data, truth


def baseline_source(ref: str, where: Path) -> Path:
    """``git archive`` of ``ref``'s ``src/`` extracted under ``where``."""
    archive = where / "baseline.tar"
    subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), ref, "src"],
        check=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(where / "baseline", filter="data")
    return where / "baseline" / "src"


def run_cli(src: Path, data: Path, out: Path) -> dict[str, Any]:
    """One cold CLI run importing ``src``; its wall time and manifest."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "intelligent_training", "--data-dir", str(data)]
    command += ["--output-dir", str(out), "-q", "--no-cache"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"the CLI failed ({src}):\n{done.stdout}\n{done.stderr}")
    manifest = json.loads((out / "manifest.json").read_text())
    selected = {}
    for target in manifest["selected_targets"]:
        path = out / "feature_selections" / target / "selected_features.txt"
        selected[target] = path.read_text().split() if path.exists() else []
    return {
        "wall": wall,
        "cpu": cpu,
        "stages": {s: manifest["fit_timings_s"].get(s, float("nan")) for s in STAGES},
        "targets": manifest["selected_targets"],
        "features": selected,
    }


def truth_report(result: dict[str, Any], truth: Any) -> str:
    """How the selected targets and features compare with the planted truth."""
    predictable = list(truth.target_order)
    noise = set(truth.noise_targets)
    targets = result["targets"]
    lines = [
        f"  targets {targets}",
        f"    predictable selected {sum(t in predictable for t in targets)}/{len(predictable)}, "
        f"noise selected {sum(t in noise for t in targets)}",
    ]
    for target, features in result["features"].items():
        planted = _planted(target, truth)
        found = len(planted & set(features))
        lines.append(
            f"    {target}: {len(features)} features, planted found {found}/{len(planted)}, "
            f"unplanted {len(set(features) - planted)}"
        )
    return "\n".join(lines)


def _planted(target: str, truth: Any) -> set[str]:
    # tgt_beta is 0.5 * fwd_ret_30m + noise: fwd_ret_30m's features are its truth
    source = "fwd_ret_30m" if target == "tgt_beta" else target
    return set(truth.informative_features.get(source, []))


def _features_no_worse(old: dict[str, Any], new: dict[str, Any], truth: Any) -> bool:
    """Per target: the new selection finds every planted feature the old one found and
    keeps no more unplanted ones (an identical selection passes)."""
    for target, old_features in old["features"].items():
        planted = _planted(target, truth)
        new_features = set(new["features"].get(target, []))
        if not (planted & set(old_features)) <= new_features:
            return False
        if len(new_features - planted) > len(set(old_features) - planted):
            return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="92bcd2b")
    parser.add_argument("--baseline-src", type=Path, help="old source tree (overrides the ref)")
    parser.add_argument("--new-src", type=Path, help="new source tree (default: this src/)")
    parser.add_argument("--symbols", type=int, default=5)
    parser.add_argument("--timestamps", type=int, default=2500)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        root = Path(tmp)
        data, truth = make_panel_dir(root / "panel", args.symbols, args.timestamps, args.features)
        old_src = args.baseline_src or baseline_source(args.baseline_ref, root)
        new_src = args.new_src or REPO / "src"
        print(f"panel: {args.symbols} symbols x {args.timestamps} bars, {args.features} features")
        print(f"old: {old_src}\nnew: {new_src}\ncores: {os.cpu_count()}")
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
        for k in range(args.repeat):
            for side, src in (("old", old_src), ("new", new_src)):
                result = run_cli(src, data, root / f"out-{side}-{k}")
                runs[side].append(result)
                print(
                    f"  run {k} {side}: wall {result['wall']:.1f} s, CPU {result['cpu']:.1f} s, "
                    f"{result['stages']}"
                )

    def median(side: str, key: str) -> float:
        values = [r[key] if key in ("wall", "cpu") else r["stages"][key] for r in runs[side]]
        return float(statistics.median(values))

    print(f"load average now: {os.getloadavg()[0]:.1f} (wall times are upper bounds when > 0)")
    print(
        "stage rows: wall seconds of each stage (the run's manifest, fit_timings_s); wall: the\n"
        "whole CLI process; cpu: user+sys seconds of the CLI process and its children (less\n"
        "sensitive to other load than wall; with 2 cores, wall >= cpu / 2)"
    )
    print(f"\n{'stage':<10} {'old s':>8} {'new s':>8} {'old/new':>8}")
    for key in (*STAGES, "wall", "cpu"):
        old, new = median("old", key), median("new", key)
        print(f"{key:<10} {old:8.1f} {new:8.1f} {old / new:8.2f}x")
    for side in ("old", "new"):
        print(f"{side}:\n{truth_report(runs[side][-1], truth)}")
    goals = {
        "selection >= 3x faster": median("old", "selection") / median("new", "selection") >= 3,
        "training >= 3x faster": median("old", "training") / median("new", "training") >= 3,
        "whole run <= 30 s": median("new", "wall") <= 30,
        "same selected targets": runs["old"][-1]["targets"] == runs["new"][-1]["targets"],
        "selected features unchanged or better on the truth (every planted feature the old "
        "code found is found, no more unplanted ones)": _features_no_worse(
            runs["old"][-1], runs["new"][-1], truth
        ),
    }
    for goal, met in goals.items():
        print(f"{'met ' if met else 'MISS'} {goal}")


if __name__ == "__main__":
    main()
