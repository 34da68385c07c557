"""Benchmark: fit / predict time and out-of-sample skill of every model family.

Run from the repository root::

    .venv/bin/python benchmarks/bench_families.py                      # 100k rows x 50 features
    .venv/bin/python benchmarks/bench_families.py --rows 20000 --families lightgbm,linear

The panel is ``make_synthetic_panel`` (per-symbol AR(1) features with planted signal)
with ``--rows`` rows (``--symbols`` symbols x rows/symbols timestamps) and
``--features`` features. Every registered family whose optional dependency is installed
(or those named by ``--families``) is built with its packaged defaults by
``make_estimator`` (``n_jobs=--n-jobs``, ``random_state=0``), fit on the first 70% of the
timestamps and scored on the last 30%:

* regression on ``fwd_ret_5m``: out-of-sample R² against the trivial baseline (the
  training mean, R² <= 0);
* binary on ``y_up_15m``: out-of-sample ROC-AUC against the trivial baseline 0.5.

Times are wall seconds of one ``fit`` / ``predict`` (``predict_proba`` for binary). The
speed targets are: tree families <= 10 s and torch families <= 60 s per default fit on
100k rows x 50 features with 2 cores. Set ``OMP_NUM_THREADS`` to ``--n-jobs`` so torch and
BLAS use the same number of threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from sklearn.metrics import r2_score, roc_auc_score

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.families import available_families, get_family, make_estimator

REGRESSION_TARGET = "fwd_ret_5m"
BINARY_TARGET = "y_up_15m"
SPEED_TARGET_S = {"tree": 10.0, "torch": 60.0, "sequence": 60.0, "multi_task": 60.0}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="panel rows (default 100000)")
    parser.add_argument("--features", type=int, default=50, help="feature columns (default 50)")
    parser.add_argument("--symbols", type=int, default=20, help="symbols (default 20)")
    parser.add_argument(
        "--families",
        default=None,
        help="comma-separated family names (default: every installed family)",
    )
    parser.add_argument("--n-jobs", type=int, default=2, help="threads per estimator (default 2)")
    parser.add_argument("--cpu-only", action="store_true", help="force torch families on CPU")
    return parser.parse_args(argv)


def _panel(rows: int, features: int, symbols: int) -> tuple[Any, Any]:
    panel, truth = make_synthetic_panel(
        n_symbols=symbols, n_timestamps=max(rows // symbols, 50), n_features=features
    )
    X = panel.drop(columns=list(truth.tasks))
    return X, panel[[REGRESSION_TARGET, BINARY_TARGET]]


def _time_split(X: Any) -> tuple[np.ndarray, np.ndarray]:
    timestamps = X.index.get_level_values("timestamp")
    grid = np.sort(timestamps.unique())
    train = np.asarray(timestamps < grid[int(0.7 * len(grid))])
    return train, ~train


def _run_one(name: str, task: str, X: Any, y: np.ndarray, masks: Any, args: Any) -> dict:
    train, test = masks
    ok = ~np.isnan(y)
    tr, te = train & ok, test & ok
    est = make_estimator(name, task, random_state=0, n_jobs=args.n_jobs, cpu_only=args.cpu_only)
    start = time.perf_counter()
    est.fit(X[tr], y[tr])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    if task == "regression":
        pred = np.asarray(est.predict(X[te]), dtype=float).ravel()
        score = r2_score(y[te], pred)
        baseline = r2_score(y[te], np.full(te.sum(), y[tr].mean()))
    else:
        proba = est.predict_proba(X[te])
        if isinstance(proba, dict):  # multi_task: one (n, 2) array per binary target
            (proba,) = proba.values()
        pred = np.asarray(proba)[:, 1]
        score = roc_auc_score(y[te], pred)
        baseline = 0.5
    predict_s = time.perf_counter() - start
    return {"fit_s": fit_s, "predict_s": predict_s, "score": score, "baseline": baseline}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table row per family and task."""
    args = _parse_args(argv)
    names = (
        [n.strip() for n in args.families.split(",") if n.strip()]
        if args.families
        else available_families(installed_only=True)
    )
    X, Y = _panel(args.rows, args.features, args.symbols)
    masks = _time_split(X)
    print(
        f"panel: {len(X):,} rows x {X.shape[1]} features, {args.symbols} symbols; "
        f"train {masks[0].sum():,} / test {masks[1].sum():,} rows; n_jobs={args.n_jobs}"
    )
    header = (
        f"{'family':<14} {'kind':<13} {'task':<10} {'fit s':>8} {'predict s':>10} "
        f"{'score':>8} {'baseline':>9} {'skill':>7}  note"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        spec = get_family(name)
        for task, target, metric in (
            ("regression", REGRESSION_TARGET, "R2"),
            ("binary", BINARY_TARGET, "AUC"),
        ):
            y = Y[target].to_numpy(dtype=float)
            try:
                res = _run_one(name, task, X, y, masks, args)
            except Exception as exc:  # benchmark: report and go on
                print(f"{name:<14} {spec.kind:<13} {task:<10} failed: {type(exc).__name__}: {exc}")
                continue
            limit = SPEED_TARGET_S.get(spec.kind)
            note = metric
            if limit is not None and task == "regression":
                note += f", fit {'<=' if res['fit_s'] <= limit else '>'} {limit:.0f}s target"
            print(
                f"{name:<14} {spec.kind:<13} {task:<10} {res['fit_s']:8.2f} "
                f"{res['predict_s']:10.2f} {res['score']:8.3f} {res['baseline']:9.3f} "
                f"{res['score'] - res['baseline']:7.3f}  {note}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
