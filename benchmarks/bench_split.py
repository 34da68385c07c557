"""Benchmark: PurgedTimeSeriesSplit vs scikit-learn and mlxtend walk-forward splitters.

Run from the repository root::

    .venv/bin/python benchmarks/bench_split.py            # 500 symbols x 20,000 timestamps
    .venv/bin/python benchmarks/bench_split.py --small    # 50 symbols x 2,000 timestamps

The panel is a DataFrame with a ``(timestamp, symbol)`` MultiIndex sorted by timestamp,
5 folds, horizon 12 bars and embargo 12 bars. Every splitter is set up to produce the
*same* folds on the sorted panel (checked below):

* ours: ``PurgedTimeSeriesSplit(5, horizon=12, embargo=12)`` on the panel (timestamps from
  its index), on the same panel with ``groups=`` a datetime array, and on a shuffled copy
  of the panel (unsorted rows: hash factorisation, then one mask per fold);
* scikit-learn ``TimeSeriesSplit(5, gap=12 * n_symbols, test_size=...)``: row based, it
  only slices one ``arange`` and knows nothing of timestamps (correct here only because
  the panel is balanced and sorted);
* mlxtend ``GroupTimeSeriesSplit(test_size, n_splits=5, gap_size=12, shift_size=test_size,
  window_type="expanding")`` with ``groups`` = timestamp codes (panel correct).

Time is the wall time of one full iteration over all folds, each fold's ``(train, test)``
index arrays materialised (as returned; we read their size and ends), best and median of
``--repeats`` runs after one warm-up. Peak memory is the ``tracemalloc`` peak during one
more iteration (numpy reports its buffers to tracemalloc), excluding the panel itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import TimeSeriesSplit

from intelligent_training.model_selection import PurgedTimeSeriesSplit

Folds = Iterator[tuple[np.ndarray, np.ndarray]]
N_SPLITS, HORIZON, EMBARGO = 5, 12, 12


def make_panel(n_symbols: int, n_timestamps: int) -> pd.DataFrame:
    """A sorted (timestamp, symbol) panel with one float32 feature column."""
    index = pd.MultiIndex.from_product(
        [
            pd.date_range("2020-01-01", periods=n_timestamps, freq="5min"),
            [f"S{i:04d}" for i in range(n_symbols)],
        ],
        names=["timestamp", "symbol"],
    )
    return pd.DataFrame({"f0": np.zeros(len(index), dtype=np.float32)}, index=index)


def consume(folds: Folds) -> list[tuple[int, int, int, int, int, int]]:
    """Iterate all folds; keep (size, first, last) of train and test as a signature."""
    out = []
    for train, test in folds:
        out.append(
            (train.size, int(train[0]), int(train[-1]), test.size, int(test[0]), int(test[-1]))
        )
    return out


def time_case(make_folds: Callable[[], Folds], repeats: int) -> tuple[float, float, list]:
    """Best and median wall time of full iterations, after one warm-up."""
    signature = consume(make_folds())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        consume(make_folds())
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), signature


def peak_memory(make_folds: Callable[[], Folds]) -> int:
    """tracemalloc peak (bytes) of one full iteration."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        consume(make_folds())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check_shuffled(
    cv: PurgedTimeSeriesSplit, panel: pd.DataFrame, shuffled: pd.DataFrame, perm: np.ndarray
) -> None:
    """The shuffled panel's folds are the sorted panel's folds after mapping rows back."""
    n = len(panel)
    for (train, test), (s_train, s_test) in zip(cv.split(panel), cv.split(shuffled)):
        for rows, s_rows in ((train, s_train), (test, s_test)):
            mask = np.zeros(n, dtype=bool)
            mask[perm[s_rows]] = True
            assert mask.sum() == rows.size and mask[rows].all(), "shuffled folds differ"
            assert np.all(np.diff(s_rows) > 0), "indices not ascending"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="50 symbols x 2,000 timestamps")
    parser.add_argument("--symbols", type=int, default=None)
    parser.add_argument("--timestamps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per splitter")
    parser.add_argument("--mlxtend-repeats", type=int, default=2, help="timed mlxtend runs")
    args = parser.parse_args(argv)
    n_symbols = args.symbols or (50 if args.small else 500)
    n_timestamps = args.timestamps or (2_000 if args.small else 20_000)

    print(f"building panel: {n_symbols} symbols x {n_timestamps} timestamps ...", flush=True)
    panel = make_panel(n_symbols, n_timestamps)
    n_rows = len(panel)
    perm = np.random.default_rng(0).permutation(n_rows)
    shuffled = panel.take(perm)
    timestamps = panel.index.get_level_values("timestamp").to_numpy()
    codes = np.repeat(np.arange(n_timestamps, dtype=np.int64), n_symbols)
    test_size = n_timestamps // (N_SPLITS + 1)

    ours = PurgedTimeSeriesSplit(N_SPLITS, horizon=HORIZON, embargo=EMBARGO)
    sklearn_cv = TimeSeriesSplit(N_SPLITS, gap=HORIZON * n_symbols, test_size=test_size * n_symbols)
    cases: list[tuple[str, Callable[[], Folds], int]] = [
        ("ours, sorted panel (index)", lambda: ours.split(panel), args.repeats),
        (
            "ours, sorted, groups=datetimes",
            lambda: ours.split(panel, groups=timestamps),
            args.repeats,
        ),
        ("sklearn TimeSeriesSplit (rows)", lambda: sklearn_cv.split(panel), args.repeats),
    ]
    try:
        from mlxtend.evaluate import GroupTimeSeriesSplit
    except ImportError:
        print("mlxtend is not installed (pip install mlxtend); skipping it", file=sys.stderr)
    else:

        def mlxtend_folds() -> Folds:
            # A fresh instance per call: mlxtend writes train_size into itself in split().
            cv = GroupTimeSeriesSplit(
                test_size=test_size,
                n_splits=N_SPLITS,
                gap_size=HORIZON,
                shift_size=test_size,
                window_type="expanding",
            )
            return cv.split(panel, groups=codes)

        cases.append(("mlxtend GroupTimeSeriesSplit", mlxtend_folds, args.mlxtend_repeats))
    cases.append(("ours, shuffled panel", lambda: ours.split(shuffled), args.repeats))

    results = {}
    for name, make_folds, repeats in cases:
        print(f"timing {name} ...", flush=True)
        best, median, signature = time_case(make_folds, repeats)
        peak = peak_memory(make_folds)
        results[name] = (best, median, peak, signature)

    # Same folds everywhere on the sorted panel; ours are contiguous, ascending ranges.
    reference = results["ours, sorted panel (index)"][3]
    for name, (*_, signature) in results.items():
        if "shuffled" not in name:
            assert signature == reference, f"{name} folds differ from ours"
    assert all(size == last - first + 1 for size, first, last, *_ in reference)
    check_shuffled(ours, panel, shuffled, perm)

    ours_best = results["ours, sorted panel (index)"][0]
    print()
    print(
        f"{n_rows:,} rows ({n_symbols} symbols x {n_timestamps} timestamps), "
        f"{N_SPLITS} folds, horizon {HORIZON}, embargo {EMBARGO}; "
        f"fold sizes (train, test): {[(s[0], s[3]) for s in reference]}"
    )
    header = f"{'splitter':34s} {'best s':>9s} {'median s':>9s} {'peak MiB':>9s} {'x ours':>8s}"
    print(header)
    print("-" * len(header))
    for name, (best, median, peak, _) in results.items():
        print(f"{name:34s} {best:9.4f} {median:9.4f} {peak / 2**20:9.1f} {best / ours_best:8.2f}")
    print()
    if "mlxtend GroupTimeSeriesSplit" in results:
        ratio = results["mlxtend GroupTimeSeriesSplit"][0] / ours_best
        print(f"ours vs mlxtend: {ratio:.1f}x faster (goal >= 10x)")
    ratio = ours_best / results["sklearn TimeSeriesSplit (rows)"][0]
    print(f"ours vs sklearn TimeSeriesSplit: {ratio:.2f}x sklearn's time (goal <= 5x)")
    shuffled_ratio = results["ours, shuffled panel"][0] / ours_best
    print(
        f"ours shuffled vs sorted: {shuffled_ratio:.1f}x (unsorted rows: hash factorisation + one mask per fold)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
