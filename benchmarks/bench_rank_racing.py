"""Benchmark: early stopping of hopeless targets (racing) vs full evaluation, in one run.

50 candidate targets on one panel: 5 planted with graded signal (correlation with a
combination of persistent features) and 45 pure-noise targets, overlapping forward sums
of noise over 1 to 12 bars (so their per-timestamp skill is autocorrelated, as real
overlapping labels are). ``TargetRanker(families=["lightgbm", "xgboost"], cv=5,
top_n=5)`` ranks them twice, with ``early_stopping=True`` and ``False``, on the same
seed; the runs alternate ``--repeat`` times. Printed: both wall times (median), the
ratio, the cells each evaluated, after how many folds the stopped targets stopped, and
whether the selected targets and the top-5 order are identical.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_rank_racing.py            # 2-core budget
    .venv/bin/python benchmarks/bench_rank_racing.py --repeat 3 --n-jobs 1

Goal (issue 11): racing >= 3x faster, identical selected targets, identical top-5 order.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from intelligent_training.ranking import TargetRanker

SIGNALS = (0.6, 0.5, 0.42, 0.35, 0.3)  # graded, well separated: a clear top 5
NOISE_BARS = (1, 3, 6, 12)  # overlap of the noise targets' labels, in bars


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> np.ndarray:
    """Unit-variance AR(1) along axis 0."""
    out = np.empty(shape)
    out[0] = rng.standard_normal(shape[1])
    eps = rng.standard_normal(shape) * np.sqrt(1 - phi * phi)
    for t in range(1, shape[0]):
        out[t] = phi * out[t - 1] + eps[t]
    return out


def _forward_noise(rng: np.random.Generator, n_ts: int, n_sym: int, bars: int) -> np.ndarray:
    draws = rng.standard_normal((n_ts + bars - 1, n_sym))
    csum = np.vstack([np.zeros((1, n_sym)), np.cumsum(draws, axis=0)])
    return (csum[bars:] - csum[:-bars]) / np.sqrt(bars)


def make_data(
    n_symbols: int, n_timestamps: int, n_features: int, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and 50 candidate targets (see the module docstring)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-01-01", periods=n_timestamps, freq="5min")
    symbols = [f"S{i:02d}" for i in range(n_symbols)]
    index = pd.MultiIndex.from_product([stamps, symbols], names=["timestamp", "symbol"])
    feats = np.stack(
        [_ar1(rng, (n_timestamps, n_symbols), 0.9) for _ in range(n_features)], axis=-1
    )  # (T, S, F)
    X = pd.DataFrame(
        feats.reshape(-1, n_features).astype(np.float32),
        index=index,
        columns=[f"f{j:02d}" for j in range(n_features)],
    )
    Y: dict[str, np.ndarray] = {}
    for k, rho in enumerate(SIGNALS):
        cols = rng.choice(n_features, size=3, replace=False)
        latent = feats[:, :, cols] @ rng.choice([-1.0, 1.0], size=3)
        latent = (latent - latent.mean()) / latent.std()
        bars = (1, 3, 2, 6, 1)[k]
        noise = _forward_noise(rng, n_timestamps, n_symbols, bars)
        Y[f"fwd_sig{k}_{5 * bars}m"] = rho * latent + np.sqrt(1 - rho * rho) * noise
    for j in range(45):
        bars = NOISE_BARS[j % len(NOISE_BARS)]
        Y[f"fwd_noise{j:02d}_{5 * bars}m"] = _forward_noise(rng, n_timestamps, n_symbols, bars)
    return X, pd.DataFrame({k: v.reshape(-1) for k, v in Y.items()}, index=index)


def run(X: pd.DataFrame, Y: pd.DataFrame, early_stopping: bool, n_jobs: int) -> tuple:
    ranker = TargetRanker(
        families=["lightgbm", "xgboost"],
        cv=5,
        top_n=5,
        early_stopping=early_stopping,
        n_jobs=n_jobs,
        random_state=0,
        verbose=False,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranker.fit(X, Y)
    return time.perf_counter() - start, ranker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--timestamps", type=int, default=1200)
    parser.add_argument("--features", type=int, default=12)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    X, Y = make_data(args.symbols, args.timestamps, args.features)
    print(
        f"panel: {args.symbols} symbols x {args.timestamps} timestamps, {X.shape[1]} features, "
        f"{Y.shape[1]} candidate targets (5 planted, 45 noise); lightgbm + xgboost, 5 folds, "
        f"n_jobs={args.n_jobs}"
    )
    times: dict[bool, list[float]] = {True: [], False: []}
    rankers = {}
    for _ in range(args.repeat):
        for es in (False, True):
            seconds, rankers[es] = run(X, Y, es, args.n_jobs)
            times[es].append(seconds)
            print(f"  early_stopping={es!s:5}: {seconds:7.1f} s")
    full, fast = rankers[False], rankers[True]
    t_full, t_fast = statistics.median(times[False]), statistics.median(times[True])
    stopped = fast.rankings_["stopped_after_folds"].dropna()
    cells_full = int(full.rankings_["n_folds"].sum()) * 2
    cells_fast = int(fast.rankings_["n_folds"].sum()) * 2
    top_full, top_fast = list(full.rankings_.index[:5]), list(fast.rankings_.index[:5])
    print(f"full evaluation: {t_full:.1f} s, {cells_full} cells")
    print(
        f"racing:          {t_fast:.1f} s, {cells_fast} cells; {len(stopped)} targets stopped "
        f"(after {stopped.value_counts().sort_index().to_dict()} folds)"
    )
    print(f"ratio: {t_full / t_fast:.2f}x (cells {cells_full / cells_fast:.2f}x)")
    print(f"selected, full:   {full.selected_targets_}")
    print(f"selected, racing: {fast.selected_targets_}")
    print(f"identical selected targets: {full.selected_targets_ == fast.selected_targets_}")
    print(f"identical top-5 order: {top_full == top_fast} ({top_full})")
    planted = [c for c in Y.columns if c.startswith("fwd_sig")]
    print(f"planted targets selected (full): {sorted(full.selected_targets_) == sorted(planted)}")


if __name__ == "__main__":
    main()
