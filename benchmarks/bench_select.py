"""Benchmark: FeatureSelector for one target on 100k rows x 100 features.

Claim (issue 5): lightgbm + random_forest + mlp with native + permutation importance
selects the features of one target in at most 3 minutes on 2 CPU cores. The script
times the fit and prints the precision of the selection against the planted features
of the synthetic panel (``top_m`` = number of planted features, so precision = recall).

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_select.py

Options: ``--rows``, ``--features``, ``--symbols``, ``--families``, ``--importance``,
``--n-jobs``, ``--target`` (``linear``, ``nonlinear`` or a target name), ``--budget``.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.selection import FeatureSelector


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--families", default="lightgbm,random_forest,mlp")
    parser.add_argument("--importance", default="native,permutation")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--target", default="linear")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds allowed")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.INFO)

    start = time.perf_counter()
    panel, truth = make_synthetic_panel(
        n_symbols=args.symbols,
        n_timestamps=args.rows // args.symbols,
        n_features=args.features,
        random_state=0,
    )
    target = {"linear": truth.linear_target, "nonlinear": truth.nonlinear_target}.get(
        args.target, args.target
    )
    X, y = panel[truth.features], panel[target]
    planted = set(truth.informative_features[target])
    print(
        f"data: {X.shape[0]} rows x {X.shape[1]} features, target {target!r} "
        f"({len(planted)} planted), built in {time.perf_counter() - start:.1f}s"
    )

    selector = FeatureSelector(
        families=args.families.split(","),
        importance=tuple(args.importance.split(",")),
        top_m=len(planted),
        n_jobs=args.n_jobs,
        random_state=0,
    )
    start = time.perf_counter()
    selector.fit(X, y)
    elapsed = time.perf_counter() - start

    selected = set(selector.selected_features_)
    precision = len(selected & planted) / max(1, len(selected))
    noise = selected & set(truth.noise_features)
    report = selector.fold_report_.groupby("family")[
        ["fit_seconds", "seconds", "cpu_seconds"]
    ].sum()
    print(f"families: {selector.families_}, failures: {selector.family_errors_ or 'none'}")
    print("seconds per family, all folds (wall fit / wall fit + importance / CPU):")
    print(report.round(1).to_string())
    print(f"selected: {selector.selected_features_}  planted: {sorted(planted)}")
    print(f"precision at top_m={len(planted)}: {precision:.2f}  noise selected: {sorted(noise)}")
    ratio = elapsed / args.budget
    print(
        f"fit time: {elapsed:.1f}s  budget: {args.budget:.0f}s  ratio: {ratio:.2f} "
        f"({'within' if ratio <= 1 else 'OVER'} budget)"
    )
    cpu = float(selector.fold_report_["cpu_seconds"].sum())
    print(
        f"CPU seconds of all jobs: {cpu:.1f}  -> on {max(1, args.n_jobs)} idle cores at least "
        f"{cpu / max(1, args.n_jobs):.1f}s (load-independent estimate; the machine is shared)"
    )
    top = np.argsort(-selector.feature_importances_)[:8]
    print(
        "top consensus:",
        {
            str(selector.feature_names_in_[i]): round(float(selector.feature_importances_[i]), 3)
            for i in top
        },
    )
    return 0 if ratio <= 1 and precision >= 0.75 else 1


if __name__ == "__main__":
    raise SystemExit(main())
