"""Benchmark: the same ranking run locally and on a Dask LocalCluster, in one run.

20 targets x {lightgbm, xgboost} x 5 folds (200 cells) on a synthetic panel of
``--rows`` rows (default 200,000: 20 symbols x 10,000 timestamps, 30 features):

- **local**: ``TargetRanker(n_jobs=2)``, the engine's local backend (2 cells at a
  time, one thread each, in joblib threads sharing one copy of the features);
- **dask**: the same ranker inside ``use_dask(client)`` on a
  ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` (one thread per
  cell). The cluster is started, and its workers import LightGBM / XGBoost, before
  the clock starts (a long-lived cluster is the use case); the scatter of the
  features and labels is inside the timing.

Printed: both wall times and their ratio (goal: the cluster within 1.3x of local on
one machine), whether the rankings are identical, and the bytes sent to the cluster
(``record_cells().transfers``: the features and labels scattered, the tasks, the
results) with the number of times the feature matrix crossed to a worker (goal: at most once per
worker per stage). The workers' own counters of bytes sent to other workers are
printed too (0: no worker had to copy data from another one).

Run (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dask.py

Options: ``--rows 200000 --targets 20 --features 30 --splits 5 --estimators 50
--repeat 1``; ``--rows 50000`` for a quicker run; ``--repeat 3`` on a busy machine
(local and dask runs alternate; the best times and the median pair ratio are printed).
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import pandas as pd

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.evaluation import record_cells, use_dask
from intelligent_training.ranking import TargetRanker

SYMBOLS = 20


def make_data(rows: int, n_targets: int, n_features: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic panel's targets, topped up with graded mixtures to ``n_targets``."""
    panel, truth = make_synthetic_panel(
        n_symbols=SYMBOLS,
        n_timestamps=max(50, rows // SYMBOLS),
        n_features=n_features,
        random_state=0,
    )
    X = panel[truth.features]
    Y = panel[truth.targets[:n_targets]].copy()
    rng = np.random.default_rng(1)
    base = (panel["fwd_ret_5m"] - panel["fwd_ret_5m"].mean()) / panel["fwd_ret_5m"].std()
    weights = np.linspace(0.1, 0.9, max(0, n_targets - Y.shape[1]))
    for k, w in enumerate(weights):
        mix = w * base + np.sqrt(1 - w * w) * rng.standard_normal(len(base))
        if k % 3 == 2:
            Y[f"y_mix{k}_15m"] = (mix > 0).astype(float)
        else:
            Y[f"fwd_mix{k}_{5 * (k % 4 + 1)}m"] = mix
    return X, Y


def _warm_up() -> None:
    """Import what the cells use on a worker (outside the timing)."""
    import lightgbm  # noqa: F401
    import xgboost  # noqa: F401

    import intelligent_training.evaluation._dask
    import intelligent_training.evaluation._fast  # noqa: F401


def _mb(n: float) -> str:
    return f"{n / 1e6:9.1f} MB"


def same_rankings(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Identical tables, as the Dask tests compare them (``DataFrame.equals`` calls
    two per-fold lists holding a NaN different)."""
    try:
        pd.testing.assert_frame_equal(a, b)
    except AssertionError:
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--estimators", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="local/dask pairs to time")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    X, Y = make_data(args.rows, args.targets, args.features)
    params = {"n_estimators": args.estimators}
    families = {"lightgbm": dict(params), "xgboost": dict(params)}
    n_cells = Y.shape[1] * len(families) * args.splits
    print(
        f"{len(X):,} rows x {X.shape[1]} features ({_mb(X.to_numpy().nbytes).strip()}), "
        f"{Y.shape[1]} targets x {len(families)} families x {args.splits} folds "
        f"= {n_cells} cells; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    def ranker() -> TargetRanker:
        return TargetRanker(
            families=families, cv=args.splits, top_n=5, random_state=args.seed, n_jobs=2
        )

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env={"OMP_NUM_THREADS": "1"},
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        client.wait_for_workers(2)
        client.run(_warm_up)  # a long-lived cluster has imported its libraries already
        times: list[tuple[float, float]] = []
        for repeat in range(args.repeat):  # local and dask alternate: same load on both
            start = time.perf_counter()
            local = ranker().fit(X, Y)
            t_local = time.perf_counter() - start
            with use_dask(client), record_cells() as log:
                start = time.perf_counter()
                remote = ranker().fit(X, Y)
                t_dask = time.perf_counter() - start
            times.append((t_local, t_dask))
            print(
                f"run {repeat + 1}: local (n_jobs=2, threads) {t_local:7.2f} s, "
                f"dask (2 workers x 1 thread) {t_dask:7.2f} s, ratio {t_dask / t_local:5.2f} x, "
                f"load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        fetched = client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
        pids = set(client.run(os.getpid).values())

    cells = pd.DataFrame(log.cells)
    transfers = log.transfers
    x_bytes = X.to_numpy(dtype=np.float32).nbytes
    identical = same_rankings(local.rankings_, remote.rankings_)
    best_local, best_dask = (min(t) for t in zip(*times))
    ratios = sorted(d / lo for lo, d in times)
    print(f"local, best of {len(times)}              : {best_local:8.2f} s")
    print(f"dask, best of {len(times)}               : {best_dask:8.2f} s")
    print(f"ratio of the best times        : {best_dask / best_local:8.2f} x   (goal <= 1.30)")
    print(f"median ratio of the pairs      : {ratios[len(ratios) // 2]:8.2f} x")
    print(f"identical rankings             : {identical}")
    print(f"cells on worker processes      : {set(cells['pid']) <= pids} ({len(cells)} cells)")
    print(
        f"features scattered             : {_mb(transfers['scatter_bytes'])} in "
        f"{transfers['scatters']} copies (goal <= {len(pids)} = once per worker; a copy is X, "
        f"{_mb(x_bytes).strip()}, with its panel index and column labels: "
        f"{_mb(transfers['scatter_bytes'] / max(transfers['scatters'], 1)).strip()})"
    )
    print(f"labels scattered               : {_mb(transfers['label_bytes'])}")
    print(
        f"tasks sent                     : {_mb(transfers['task_bytes'])} in "
        f"{transfers['tasks']} tasks ({transfers['task_bytes'] / max(1, transfers['tasks']):.0f}"
        " B per task)"
    )
    print(f"results back                   : {_mb(transfers['result_bytes'])}")
    print(f"sent between workers           : {_mb(sum(fetched.values()))}")


if __name__ == "__main__":
    main()
