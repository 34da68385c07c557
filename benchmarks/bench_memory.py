"""Benchmark: peak memory of loading the data and of the whole CLI run, as ratios.

Claim (issue 12): on a panel of ``--rows`` rows x ``--features`` float features,
loading peaks at most at 2x and the whole ``intelligent-train`` run at most at 3x the
float32 size of the features (``rows * features * 4`` bytes). Each stage runs in a
fresh child process; its peak resident set size (``ru_maxrss``) is read at exit, so
everything the process holds counts: the interpreter, the imported libraries, Arrow's
memory pool, the models. The libraries' own footprint (``import`` of the package,
pandas, pyarrow, LightGBM, ...) is printed too, as ``base``.

The data directory (hive layout, one parquet file per symbol, float64 columns as
pandas writes them) is generated once per shape into ``--data`` (default: a temporary
directory). The run uses light model settings (LightGBM only, few trees): the memory
that matters is the data's, not the models'.

Run::

    .venv/bin/python benchmarks/bench_memory.py                 # 2M x 50: about 5 min on 2 cores
    .venv/bin/python benchmarks/bench_memory.py --stages load   # loading only: under a minute
    .venv/bin/python benchmarks/bench_memory.py --baseline /work/baseline/src

A smaller ``--rows`` is quicker, but then the libraries' fixed footprint (``base``, about
0.2 GB) is a larger share of the ratio than at the claim's shape.

``--baseline SRC`` measures the same stages with ``PYTHONPATH=SRC`` (another source tree
of the package, e.g. the previous commit) in the same run, for a before/after table.
``--stages load,run`` chooses the stages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

TARGETS = ("fwd_ret_5m", "fwd_ret_15m", "y_up_15m", "fwd_ret_60m")

LOAD_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy, pandas, pyarrow, pyarrow.parquet  # the libraries, in the base figure
    import intelligent_training.data as d
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    if hasattr(d, "load_xy"):
        X, Y = d.load_xy(sys.argv[1])
    else:  # the previous API: a panel, then the split
        panel = d.load_panel(sys.argv[1])
        X, Y = d.split_features_targets(panel)
        del panel
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"base": base, "peak": peak, "seconds": seconds,
                      "shape": list(X.shape), "x_bytes": int(X.memory_usage(index=False).sum())}))
    """
)

RUN_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy, pandas, pyarrow, pyarrow.parquet, lightgbm, sklearn  # the base figure
    import intelligent_training.cli as cli
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    rc = cli.main(sys.argv[1:])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"base": base, "peak": peak, "seconds": seconds, "rc": rc}))
    """
)

#: Light settings: the run's memory is the data's, not the models'.
RUN_CONFIG = {
    "target_ranking": {
        "top_n": 1,
        "families": {"lightgbm": {"n_estimators": 20, "num_leaves": 15}},
        "n_splits": 2,
    },
    "feature_selection": {
        "top_m": 10,
        "families": {"lightgbm": {"n_estimators": 20, "num_leaves": 15}},
        "importance": ["native"],
        "require_min_models": 1,
        "n_splits": 2,
    },
    "training": {
        "families": {"lightgbm": {"n_estimators": 20, "num_leaves": 15}},
        "n_splits": 2,
    },
    "runtime": {"threads": 2},
}


def write_data(root: Path, rows: int, features: int, symbols: int) -> Path:
    """A hive data dir: ``symbols`` parquet files, float64 features and targets."""
    import pandas as pd

    folder = root / f"r{rows}_f{features}_s{symbols}" / "interval=5m"
    done = folder / ".complete"
    if done.is_file():
        return folder
    rng = np.random.default_rng(0)
    per_symbol = rows // symbols
    ts = pd.date_range("2020-01-01", periods=per_symbol, freq="5min")
    beta = rng.normal(size=features) / np.sqrt(features)
    for k in range(symbols):
        X = rng.standard_normal((per_symbol, features))
        signal = X @ beta
        frame = pd.DataFrame(X, columns=[f"f{j:03d}" for j in range(features)])
        frame.insert(0, "ts", ts)
        frame["fwd_ret_5m"] = 0.3 * signal + rng.standard_normal(per_symbol)
        frame["fwd_ret_15m"] = 0.2 * signal + rng.standard_normal(per_symbol)
        frame["y_up_15m"] = (frame["fwd_ret_15m"] > 0).astype(float)
        frame["fwd_ret_60m"] = rng.standard_normal(per_symbol)
        out = folder / f"symbol=S{k:04d}"
        out.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out / f"S{k:04d}.parquet", index=False)
    done.write_text("")
    return folder


def measure(code: str, args: list[str], pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--stages", default="load,run")
    parser.add_argument("--data", help="where to write/reuse the data dir (default: temp dir)")
    parser.add_argument("--baseline", help="source tree (…/src) to measure as 'before'")
    parser.add_argument("--load-limit", type=float, default=2.0)
    parser.add_argument("--run-limit", type=float, default=3.0)
    args = parser.parse_args()
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        root = Path(args.data) if args.data else Path(tmp)
        start = time.perf_counter()
        data_dir = write_data(root, args.rows, args.features, args.symbols)
        x32 = args.rows // args.symbols * args.symbols * args.features * 4
        print(
            f"data: {args.rows:,} rows x {args.features} features, {args.symbols} symbols, "
            f"{len(TARGETS)} targets; float32 features = {x32 / 2**20:.0f} MiB "
            f"(written in {time.perf_counter() - start:.0f}s)"
        )
        config = Path(tmp) / "run.json"  # JSON is YAML
        config.write_text(json.dumps(RUN_CONFIG))
        trees = [("after", None)]
        if args.baseline:
            trees.insert(0, ("before", args.baseline))
        failed = False
        for stage in stages:
            limit = args.load_limit if stage == "load" else args.run_limit
            for label, path in trees:
                if stage == "load":
                    result = measure(LOAD_CHILD, [str(data_dir)], path)
                else:
                    out = Path(tmp) / f"out-{label}"
                    argv = [
                        "--data-dir", str(data_dir), "--output-dir", str(out),
                        "--config", str(config), "-q",
                    ]  # fmt: skip
                    result = measure(RUN_CHILD, argv, path)
                    if result.get("rc") != 0:
                        raise SystemExit(f"the {label} run exited {result.get('rc')}")
                ratio = result["peak"] / x32
                ok = ratio <= limit
                failed |= label == "after" and not ok
                print(
                    f"{stage:4s} {label:6s} peak {result['peak'] / 2**20:7.0f} MiB = "
                    f"{ratio:4.2f}x (limit {limit:.1f}x: {'ok' if ok else 'OVER'}); "
                    f"base {result['base'] / 2**20:5.0f} MiB; "
                    f"peak-base {(result['peak'] - result['base']) / x32:4.2f}x; "
                    f"{result['seconds']:.1f}s"
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
