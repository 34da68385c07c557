"""Benchmark: the whole CLI on the peer pipeline's workload, beside a light run, and the
seed's own YAML files on the demo data: wall, CPU, page faults, system time, peak.

Claim (issue 21): on a 6-symbol x 2,340-bar five-minute panel with 31 features (one
planted informative feature, the rest returns, volatilities and noise) and 3 candidate
targets, the run matched to the peer's workload (selection families lightgbm, xgboost,
random_forest, linear, mlp; importance native + shap + permutation; top 30; ranking
lightgbm + linear; training lightgbm) takes at most 30 s on 2 cores, and the seed's two
YAML files (``tests/seed/*.yaml``) with the seed's first command on the demo panel
(3 of its symbols: 4,500 rows) at most 60 s.

Every run is ``python -m intelligent_training ... --no-cache -q`` in a child process,
cold; its resources are the child's own (``os.wait4``): user and system CPU seconds,
minor and major page faults, peak resident size. ``cpu/wall`` says how many cores were
busy on average (2.0 = both). The stages' seconds come from the run's manifest
(``fit_timings_s``). ``--baseline-src`` (or ``--baseline-ref``) runs the same
workloads with another source tree first, in the same invocation, for before/after
ratios.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_peer_workload.py                     # all three runs
    .venv/bin/python benchmarks/bench_peer_workload.py --runs matched,light
    .venv/bin/python benchmarks/bench_peer_workload.py --baseline-ref main --runs matched
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "seed"
STAGES = ("ranking", "selection", "training")
#: The planted feature of the peer panel and its targets.
PLANTED = "signal"
TARGETS = ("fwd_ret_5m", "fwd_ret_15m", "fwd_ret_30m")

#: The peer's workload, matched (issue 21).
MATCHED = {
    "target_ranking": {"families": ["lightgbm", "linear"]},
    "feature_selection": {
        "families": ["lightgbm", "xgboost", "random_forest", "linear", "mlp"],
        "importance": ["native", "shap", "permutation"],
        "top_m": 30,
    },
    "training": {"families": ["lightgbm"]},
}
#: The light run beside it: tree-only selection with native importance.
LIGHT = {
    "target_ranking": {"families": ["lightgbm", "linear"]},
    "feature_selection": {
        "families": ["lightgbm", "xgboost"],
        "importance": ["native"],
        "top_m": 30,
    },
    "training": {"families": ["lightgbm"]},
}
GOALS = {"matched": 30.0, "seed": 60.0}


def write_peer_panel(root: Path, n_symbols: int = 6, n_bars: int = 2340) -> Path:
    """The peer-shaped panel as a hive data directory; returns its ``interval=5m`` folder.

    Per symbol a GARCH-free random walk of five-minute log returns with a slowly varying
    volatility; 31 features: ``signal`` (planted: it drives every target), 12 lagged and
    summed returns, 8 rolling volatilities, 10 pure-noise columns. Targets: forward
    returns over 1, 3 and 6 bars, each ``signal``'s share plus the path's own noise.
    """
    import pandas as pd

    folder = root / "interval=5m"
    rng = np.random.default_rng(21)
    bars_per_day = 78  # 6.5 trading hours of five-minute bars
    days = pd.bdate_range("2024-01-02", periods=-(-n_bars // bars_per_day))
    ts = np.concatenate(
        [
            pd.date_range(d + pd.Timedelta("9h30min"), periods=bars_per_day, freq="5min")
            for d in days
        ]
    )[:n_bars]
    for k in range(n_symbols):
        vol = 0.001 * np.exp(np.cumsum(rng.normal(0, 0.02, n_bars)) * 0.5)
        signal = rng.standard_normal(n_bars)
        noise = rng.standard_normal(n_bars) * vol
        # the next bar's return carries the planted signal: corr(signal, fwd_ret_5m) ~ 0.3
        ret = np.empty(n_bars)
        ret[1:] = 0.3 * vol[:-1] * signal[:-1] + noise[1:]
        ret[0] = noise[0]
        frame = pd.DataFrame({"ts": ts, PLANTED: signal})
        r = pd.Series(ret)
        for lag in range(1, 7):
            frame[f"ret_lag{lag}"] = r.shift(lag - 1).to_numpy()
        for window in (3, 6, 12, 24, 48, 96):
            frame[f"ret_sum{window}"] = r.rolling(window, min_periods=1).sum().to_numpy()
        for window in (3, 6, 12, 24, 48, 96, 192, 384):
            frame[f"vol{window}"] = r.rolling(window, min_periods=2).std().to_numpy()
        for j in range(10):
            frame[f"noise{j}"] = rng.standard_normal(n_bars)
        for target, bars in zip(TARGETS, (1, 3, 6)):
            forward = r[::-1].rolling(bars, min_periods=bars).sum()[::-1].shift(-1)
            frame[target] = forward.to_numpy()
        out = folder / f"symbol=S{k}"
        out.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out / f"S{k}.parquet", index=False)
    return folder


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


def run_cli(src: Path, argv: list[str], out: Path) -> dict[str, Any]:
    """One cold CLI run importing ``src``, in a child; its own resources (``wait4``)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "intelligent_training", *argv]
    command += ["--output-dir", str(out), "-q", "--no-cache"]
    start = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # wait4 reaps the child and returns its own rusage; communicate() then only drains
    # pipes the child has closed (the outputs here are small: -q, warnings only)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the CLI failed ({src}, {argv}):\n{stdout}\n{stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    selected = {}
    for target in manifest["selected_targets"]:
        path = out / "feature_selections" / target / "selected_features.txt"
        selected[target] = path.read_text().split() if path.exists() else []
    return {
        "wall": wall,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "cpu": usage.ru_utime + usage.ru_stime,
        "minflt": usage.ru_minflt,
        "majflt": usage.ru_majflt,
        "peak_mib": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "stages": {s: manifest.get("fit_timings_s", {}).get(s, float("nan")) for s in STAGES},
        "targets": manifest["selected_targets"],
        "features": selected,
    }


def workloads(root: Path, which: list[str]) -> dict[str, list[str]]:
    """The CLI arguments of each run."""
    runs: dict[str, list[str]] = {}
    if {"matched", "light"} & set(which):
        data = write_peer_panel(root / "peer")
        for name, config in (("matched", MATCHED), ("light", LIGHT)):
            path = root / f"{name}.json"  # JSON is YAML
            path.write_text(json.dumps(config))
            runs[name] = ["--data-dir", str(data), "--config", str(path)]
    if "seed" in which:
        from intelligent_training.datasets import write_synthetic_data_dir

        write_synthetic_data_dir(root / "demo", interval="5m", random_state=0)  # --demo's data
        runs["seed"] = [
            "--data-dir", str(root / "demo" / "interval=5m"),
            "--symbols", "SYM000", "SYM001", "SYM002",  # the seed's three, on the demo panel
            "--target-ranking-config", str(SEED / "target_ranking_config.yaml"),
            "--multi-model-config", str(SEED / "multi_model_feature_selection.yaml"),
        ]  # fmt: skip
    return {name: runs[name] for name in which}


def describe(name: str, side: str, r: dict[str, Any]) -> str:
    stages = " ".join(f"{s} {r['stages'][s]:.1f}" for s in STAGES)
    return (
        f"{name:8s} {side:6s} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s "
        f"(user {r['user']:.1f}, sys {r['sys']:.1f})  cpu/wall {r['cpu'] / r['wall']:4.2f}  "
        f"minflt {r['minflt'] / 1e6:6.2f} M  majflt {r['majflt']}  peak {r['peak_mib']:6.0f} MiB"
        f"  | {stages}"
    )


def truth(r: dict[str, Any], name: str) -> str:
    if name == "seed":
        return f"    targets {r['targets']}; features per target " + ", ".join(
            f"{t}: {len(f)}" for t, f in r["features"].items()
        )
    parts = []
    for target, features in r["features"].items():
        rank = features.index(PLANTED) + 1 if PLANTED in features else None
        noise = sum(f.startswith("noise") for f in features)
        parts.append(
            f"{target}: {PLANTED} {'at ' + str(rank) if rank else 'MISSING'}, noise {noise}"
        )
    return f"    targets {r['targets']}; " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="matched,light,seed", help="matched, light, seed")
    parser.add_argument("--baseline-ref", help="git ref whose src/ is measured first")
    parser.add_argument("--baseline-src", type=Path, help="source tree measured first")
    parser.add_argument("--new-src", type=Path, help="source tree measured (default: src/)")
    args = parser.parse_args(argv)
    which = [w.strip() for w in args.runs.split(",") if w.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        root = Path(tmp)
        sides = [("after", args.new_src or REPO / "src")]
        old = args.baseline_src or (
            baseline_source(args.baseline_ref, root) if args.baseline_ref else None
        )
        if old is not None:
            sides.insert(0, ("before", old))
        runs = workloads(root, which)
        print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
        for side, src in sides:
            print(f"{side}: {src}")
        results: dict[tuple[str, str], dict[str, Any]] = {}
        for name, cli_args in runs.items():
            for side, src in sides:
                r = results[name, side] = run_cli(src, cli_args, root / f"out-{name}-{side}")
                print(describe(name, side, r))
                print(truth(r, name))
                sys.stdout.flush()
        print(f"load average now: {os.getloadavg()[0]:.1f} (wall times are upper bounds when > 0)")
        failed = False
        if ("matched", "after") in results and ("light", "after") in results:
            m, li = results["matched", "after"], results["light", "after"]
            print(
                f"matched / light: wall {m['wall'] / li['wall']:.2f}x, cpu {m['cpu'] / li['cpu']:.2f}x"
            )
        if old is not None:
            for name in runs:
                b, a = results[name, "before"], results[name, "after"]
                print(
                    f"{name}: before/after wall {b['wall'] / a['wall']:.2f}x, cpu "
                    f"{b['cpu'] / a['cpu']:.2f}x, sys {b['sys'] / max(a['sys'], 1e-9):.2f}x, minflt "
                    f"{b['minflt'] / max(a['minflt'], 1):.2f}x, peak {a['peak_mib'] - b['peak_mib']:+.0f} MiB"
                )
        for name, goal in GOALS.items():
            if (name, "after") in results:
                wall = results[name, "after"]["wall"]
                met = wall <= goal
                failed |= not met
                print(f"{'met ' if met else 'MISS'} {name} run {wall:.1f} s <= {goal:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
