"""Benchmark: TargetRanker (bin once, fit many) vs the naive loop a user would write.

Both rank the same 16 targets with {lightgbm, xgboost} on the same purged splits
(cloned per target with its horizon), the same hyperparameters
(``family_params``), the same seed and the same score formula; the naive loop
builds each estimator through the libraries' scikit-learn API and fits it on a
DataFrame slice, per target x family x fold. Printed: both wall times, the ratio
and both top-5 lists.

Run (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_rank.py

Options: ``--symbols 20 --timestamps 3000 --features 60 --splits 3 --threads 2``.
``--threads`` is the core budget of both sides: the naive loop gives every model
all of it (``n_jobs=threads``, what a user does), the ranker gets
``n_jobs=threads`` (that many one-thread models at a time). ``--threads 1`` compares
the two single-threaded, isolating the bin-once saving.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from intelligent_training.data import infer_task, resolve_horizons
from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.families import family_params
from intelligent_training.metrics import classification_metrics, regression_metrics, skill_score
from intelligent_training.model_selection import PurgedTimeSeriesSplit, get_timestamps
from intelligent_training.ranking import TargetRanker, composite_score

FAMILIES = ("lightgbm", "xgboost")


def make_data(
    n_symbols: int, n_timestamps: int, n_features: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic panel's 6 targets plus 10 graded mixtures (16 targets in all)."""
    panel, truth = make_synthetic_panel(
        n_symbols=n_symbols, n_timestamps=n_timestamps, n_features=n_features, random_state=0
    )
    X = panel[truth.features]
    Y = panel[truth.targets].copy()
    rng = np.random.default_rng(1)
    base = (panel["fwd_ret_5m"] - panel["fwd_ret_5m"].mean()) / panel["fwd_ret_5m"].std()
    for k, w in enumerate(np.linspace(0.15, 0.85, 10)):
        mix = w * base + np.sqrt(1 - w * w) * rng.standard_normal(len(base))
        if k % 3 == 2:
            Y[f"y_mix{k}_15m"] = (mix > 0).astype(float)
        else:
            Y[f"fwd_mix{k}_{5 * (k % 4 + 1)}m"] = mix
    return X, Y


def naive_rank(
    X: pd.DataFrame, Y: pd.DataFrame, n_splits: int, threads: int, seed: int
) -> pd.Series:
    """What a user would write: for each target, family, fold build, fit, score."""
    import lightgbm as lgb
    import xgboost as xgb

    timestamps = get_timestamps(X)
    horizons = resolve_horizons(list(Y.columns))
    step = pd.Timedelta(np.median(np.diff(np.unique(timestamps))))
    scores = {}
    for target in Y.columns:
        y = Y[target]
        task = infer_task(y)
        cv = PurgedTimeSeriesSplit(n_splits=n_splits, horizon=horizons[target])
        hbars = int(np.ceil(pd.Timedelta(horizons[target]) / step))
        valid = y.notna().to_numpy()
        skills = np.full((len(FAMILIES), n_splits), np.nan)
        for fi, fam in enumerate(FAMILIES):
            for k, (train, test) in enumerate(cv.split(X)):
                train, test = train[valid[train]], test[valid[test]]
                # the packaged "auto" leaf sizes, resolved for the fold's rows
                params = family_params(fam, task, n_rows=len(train))
                if fam == "lightgbm":
                    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
                    est = cls(**{"verbose": -1, **params}, random_state=seed, n_jobs=threads)
                else:
                    cls = xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier
                    est = cls(
                        **{"tree_method": "hist", "verbosity": 0, **params},
                        random_state=seed,
                        n_jobs=threads,
                    )
                est.fit(X.iloc[train], y.iloc[train])
                if task == "regression":
                    m = regression_metrics(
                        y.iloc[test], est.predict(X.iloc[test]), timestamps[test], hbars
                    )
                else:
                    m = classification_metrics(y.iloc[test], est.predict_proba(X.iloc[test])[:, 1])
                skills[fi, k] = skill_score(task, m)
        scores[target] = composite_score(skills)
    return pd.Series(scores).sort_values(ascending=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--timestamps", type=int, default=3000)
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, Y = make_data(args.symbols, args.timestamps, args.features)
    print(
        f"data: {X.shape[0]} rows x {X.shape[1]} features, {Y.shape[1]} targets, "
        f"families {list(FAMILIES)}, {args.splits} folds, core budget {args.threads}"
    )
    t0 = time.perf_counter()
    naive = naive_rank(X, Y, args.splits, args.threads, args.seed)
    t_naive = time.perf_counter() - t0

    ranker = TargetRanker(
        families=list(FAMILIES),
        cv=args.splits,
        top_n=5,
        n_jobs=args.threads,
        random_state=args.seed,
        leakage_score=2.0,  # the mixtures are strong on purpose; rank, don't flag
    )
    t0 = time.perf_counter()
    ranker.fit(X, Y)
    t_fast = time.perf_counter() - t0

    fast = ranker.rankings_["score"]
    top_naive = list(naive.index[:5])
    top_fast = list(fast.index[:5])
    print(f"naive loop   : {t_naive:8.2f} s")
    print(f"TargetRanker : {t_fast:8.2f} s  (n_jobs={args.threads})")
    print(f"speed-up     : {t_naive / t_fast:8.2f} x")
    print(f"top-5 naive  : {top_naive}")
    print(f"top-5 ranker : {top_fast}")
    print(f"top-5 match  : {top_naive == top_fast}")
    joined = pd.DataFrame({"naive": naive, "ranker": fast})
    print(f"max |score difference| over targets: {(joined.naive - joined.ranker).abs().max():.4f}")
    assert top_naive == top_fast, f"top-5 differ: naive {top_naive} vs ranker {top_fast}"


if __name__ == "__main__":
    main()
