"""Benchmark: FeatureSelector cost per family x importance method, against the tree-only
selection measured in the same run, at one or more panel sizes.

Claim (issue 21): every family the library ships, with every importance method
(``native``, ``shap``, ``permutation``), selects at a cost per fold within a small
multiple of the tree-only selection (``lightgbm + xgboost``, ``native``); the
five-family, three-method selection (``lightgbm, xgboost, random_forest, linear, mlp``
with ``native + shap + permutation``) at most 3x it; and the cost grows with the rows
as the models do (explanations on a row budget do not grow with the test rows).

For every size in ``--sizes`` the script times, on a synthetic panel with planted
features (one target), one ``FeatureSelector.fit`` per row of the table:

- ``tree-only``: lightgbm + xgboost, native (the reference of the ratios);
- ``<family> <method>``: that family alone with that method alone;
- ``all``: the five families with the three methods;

and prints the wall seconds per fold of the whole fit, the ratio to ``tree-only``, the
median seconds per fold of a cell's fit and of its importance (the selector's
``fold_report_``), the CPU seconds and, for ``tree-only`` and ``all``, whether the
planted features were found. Each row is warmed up first on a small panel (imports,
numba compilation), so the timings are the computation's. A row whose estimate (its
seconds at the previous size, scaled by the rows) is over ``--max-seconds`` is
skipped and printed as such.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_select.py                 # 10k rows: minutes
    .venv/bin/python benchmarks/bench_select.py --sizes 10000,100000,1000000 --max-seconds 600
    .venv/bin/python benchmarks/bench_select.py --families mlp --methods shap     # one row

``--claim`` runs the earlier single check instead (issue 5: lightgbm + random_forest +
mlp with native + permutation on 100k x 100 within ``--budget`` seconds).
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.exceptions import FamilyError
from intelligent_training.selection import FeatureSelector

FAMILIES = ("lightgbm", "xgboost", "random_forest", "linear", "mlp")
METHODS = ("native", "shap", "permutation")
TREE_ONLY = (("lightgbm", "xgboost"), ("native",))
#: Goal of the five-family, three-method selection, as a multiple of tree-only.
ALL_GOAL = 3.0


def panel(rows: int, features: int, symbols: int, target: str) -> tuple[Any, Any, set[str]]:
    data, truth = make_synthetic_panel(
        n_symbols=symbols,
        n_timestamps=max(50, rows // symbols),
        n_features=features,
        random_state=0,
    )
    name = {"linear": truth.linear_target, "nonlinear": truth.nonlinear_target}.get(target, target)
    return data[truth.features], data[name], set(truth.informative_features[name])


def fit(X: Any, y: Any, families: tuple[str, ...], methods: tuple[str, ...], args: Any, top_m: int):
    selector = FeatureSelector(
        families=list(families),
        importance=methods,
        top_m=top_m,
        require_min_models=1,
        cv=args.n_splits,
        n_jobs=args.n_jobs,
        random_state=0,
    )
    start, cpu = time.perf_counter(), time.process_time()
    selector.fit(X, y)
    return selector, time.perf_counter() - start, time.process_time() - cpu


def table(args: argparse.Namespace) -> int:
    families = tuple(args.families.split(",")) if args.families else FAMILIES
    methods = tuple(args.methods.split(",")) if args.methods else METHODS
    rows_of_table: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [("tree-only", *TREE_ONLY)]
    rows_of_table += [(f"{f} {m}", (f,), (m,)) for f in families for m in methods]
    if not (args.families or args.methods):
        rows_of_table.append(("all", FAMILIES, METHODS))

    # warm-up: imports, numba's compilation, torch's first call (not part of any row)
    Xw, yw, planted_w = panel(2_000, args.features, args.symbols, args.target)
    start = time.perf_counter()
    usable = []
    for row in rows_of_table:
        try:
            fit(Xw, yw, row[1], row[2], args, len(planted_w))
        except FamilyError as exc:  # e.g. mlp has no native importance
            print(f"{row[0]:<26} n/a: {str(exc).split('Failures: ')[-1][:90]}")
            continue
        usable.append(row)
    rows_of_table = usable
    print(f"warm-up on {len(Xw)} rows: {time.perf_counter() - start:.1f}s")

    failed = False
    previous: dict[str, tuple[int, float]] = {}
    for size in args.sizes:
        X, y, planted = panel(size, args.features, args.symbols, args.target)
        print(
            f"\n{len(X):,} rows x {X.shape[1]} features ({args.symbols} symbols), target {y.name!r}, "
            f"{args.n_splits} folds, n_jobs={args.n_jobs}"
        )
        header = (
            f"{'row':<26} {'s/fold':>8} {'ratio':>7} {'fit s/fold':>11} {'imp s/fold':>11} "
            f"{'cpu s':>8} {'cpu ratio':>9}  planted"
        )
        print(header)
        reference, reference_cpu = None, 1.0
        for label, fams, meths in rows_of_table:
            if label in previous:
                n0, s0 = previous[label]
                estimate = s0 * len(X) / n0
                if estimate > args.max_seconds:
                    print(f"{label:<26} skipped (estimate {estimate:.0f}s > --max-seconds)")
                    continue
            selector, wall, cpu = fit(X, y, fams, meths, args, len(planted))
            previous[label] = (len(X), wall)
            report = selector.fold_report_
            n_folds = max(1, report["fold"].nunique())
            per_fold = wall / n_folds
            if reference is None:
                reference, reference_cpu = per_fold, max(cpu, 1e-9)
            by_cell = report.groupby("fold")[["fit_seconds", "seconds"]].sum()
            fit_s = float(by_cell["fit_seconds"].median())
            imp_s = float((by_cell["seconds"] - by_cell["fit_seconds"]).median())
            found = ""
            if label in ("tree-only", "all"):
                selected = set(selector.selected_features_)
                found = f"{len(selected & planted)}/{len(planted)}"
            print(
                f"{label:<26} {per_fold:8.2f} {per_fold / reference:6.2f}x {fit_s:11.2f} "
                f"{imp_s:11.2f} {cpu:8.1f} {cpu / reference_cpu:8.2f}x  {found}"
            )
            if label == "all":
                met = per_fold / reference <= ALL_GOAL
                failed |= not met
                print(
                    f"{'met ' if met else 'MISS'} all / tree-only = {per_fold / reference:.2f}x "
                    f"<= {ALL_GOAL:.0f}x at {len(X):,} rows"
                )
    print(
        "\ns/fold: wall seconds of the whole fit / folds; ratio: to tree-only in this run; "
        "fit / imp s/fold: the cells' fitting and importance seconds, summed over the row's "
        "families, median over folds; cpu s: process CPU seconds of the fit (cpu ratio: to "
        "tree-only's, less sensitive to other load on a shared machine)"
    )
    return 1 if failed else 0


def claim(args: argparse.Namespace) -> int:
    """Issue 5's check: lightgbm + random_forest + mlp, native + permutation, 100k x 100."""
    X, y, planted = panel(args.rows, args.claim_features, args.symbols, args.target)
    print(
        f"data: {X.shape[0]} rows x {X.shape[1]} features, target {y.name!r} ({len(planted)} planted)"
    )
    fams = ("lightgbm", "random_forest", "mlp")
    selector, elapsed, _ = fit(X, y, fams, ("native", "permutation"), args, len(planted))
    selected = set(selector.selected_features_)
    precision = len(selected & planted) / max(1, len(selected))
    report = selector.fold_report_.groupby("family")[
        ["fit_seconds", "seconds", "cpu_seconds"]
    ].sum()
    print(report.round(1).to_string())
    print(f"selected: {selector.selected_features_}  planted: {sorted(planted)}")
    ratio = elapsed / args.budget
    print(
        f"fit time: {elapsed:.1f}s  budget: {args.budget:.0f}s  ratio: {ratio:.2f} "
        f"({'within' if ratio <= 1 else 'OVER'} budget); precision {precision:.2f}"
    )
    top = np.argsort(-selector.feature_importances_)[:8]
    print("top consensus:", [str(selector.feature_names_in_[i]) for i in top])
    return 0 if ratio <= 1 and precision >= 0.75 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated row counts")
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--families", help=f"table rows' families (default {','.join(FAMILIES)})")
    parser.add_argument("--methods", help=f"table rows' methods (default {','.join(METHODS)})")
    parser.add_argument("--n-splits", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--target", default="linear")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="skip rows estimated over")
    parser.add_argument("--claim", action="store_true", help="issue 5's single check instead")
    parser.add_argument("--rows", type=int, default=100_000, help="--claim: rows")
    parser.add_argument("--claim-features", type=int, default=100, help="--claim: features")
    parser.add_argument("--budget", type=float, default=180.0, help="--claim: seconds allowed")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.verbose:
        logging.basicConfig(level=logging.INFO)
    return claim(args) if args.claim else table(args)


if __name__ == "__main__":
    raise SystemExit(main())
