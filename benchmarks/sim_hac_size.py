"""Size of the skill test under the null: which long-run variance and reference distribution.

Simulates per-timestamp skill series the way they arise in the ranker and generic ones,
under the null (no skill), for label horizons of 1, 3, 12 and 48 bars and 200 to 5 000
timestamps, and prints the rejection rates of one-sided tests at alpha = 0.01 and 0.001:

* ``rank_ic``: per-timestamp Spearman correlation across 6 symbols between a persistent
  forecast (AR(1), phi = 0.97 per symbol) and ``h``-bar forward sums of iid noise;
* ``auc``: the same forecast against the sign of the forward sum (AUC - 1/2 across the
  symbols; timestamps where all symbols have the same class are missing);
* ``ma``: the generic overlap, an equal-weight MA(h - 1) of Gaussian noise.

Tests compared (all one-sided, H1: mean > 0):

* ``nw_normal``: Newey-West, lag = h, normal reference (the textbook statistic);
* ``flat_top``: the previous ranker test (flat-top kernel to 2h, demeaning correction,
  Student t with n / (lag + 1) degrees of freedom);
* ``fixed_b``: Bartlett kernel with bandwidth M = max(3 h, 1.3 sqrt(n)) and fixed-b
  critical values (Kiefer and Vogelsang 2005), simulated from Gaussian white noise with the
  same n and M;
* ``ewc``: the equal-weighted cosine estimator with nu = min(0.4 n^(2/3), n / (3 h)) and
  a Student t with nu degrees of freedom (Lazarus, Lewis, Stock and Watson 2018, with the
  number of cosine terms capped by the known overlap); the library's ``hac_mean_test``;
* ``bootstrap`` (``--bootstrap``, fewer replications): stationary block bootstrap of the
  series, mean block length 2h, 999 resamples, p = share of centred resampled means above
  the observed mean.

Usage::

    PYTHONPATH=src python benchmarks/sim_hac_size.py --reps 20000
    PYTHONPATH=src python benchmarks/sim_hac_size.py --reps 2000 --bootstrap

The replications of one horizon are series of 5 000 timestamps; the shorter sample sizes
are their first n timestamps (each n is a valid null sample of its own).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.signal import lfilter
from scipy.stats import norm

from intelligent_training.stats import hac_mean_test, newey_west_tstat

HORIZONS = (1, 3, 12, 48)
SIZES = (200, 500, 1000, 2000, 5000)
ALPHAS = (0.01, 0.001)
N_SYMBOLS = 6


def _ranks(a: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(a, axis=-1), axis=-1).astype(np.float64)


def simulate(kind: str, rng: np.random.Generator, reps: int, n: int, h: int) -> np.ndarray:
    """``reps`` null skill series of length ``n`` (shape (reps, n))."""
    if kind == "ma":
        e = rng.standard_normal((reps, n + h - 1))
        c = np.concatenate([np.zeros((reps, 1)), np.cumsum(e, axis=1)], axis=1)
        return c[:, h:] - c[:, :-h]
    phi = 0.97
    shocks = rng.standard_normal((reps, n, N_SYMBOLS)) * math.sqrt(1 - phi * phi)
    start = rng.standard_normal((reps, 1, N_SYMBOLS))
    forecast, _ = lfilter([1.0], [1.0, -phi], shocks, axis=1, zi=phi * start)
    e = rng.standard_normal((reps, n + h - 1, N_SYMBOLS))
    c = np.concatenate([np.zeros((reps, 1, N_SYMBOLS)), np.cumsum(e, axis=1)], axis=1)
    label = c[:, h:] - c[:, :-h]
    rf = _ranks(forecast) + 1.0
    if kind == "rank_ic":
        d = rf - (_ranks(label) + 1.0)
        s = N_SYMBOLS
        return 1.0 - 6.0 * (d * d).sum(axis=-1) / (s * (s * s - 1))
    positive = label > 0
    n_pos = positive.sum(axis=-1).astype(np.float64)
    n_neg = N_SYMBOLS - n_pos
    rank_sum = (rf * positive).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc - 0.5, np.nan)


def ewc_nu(n: int, h: int) -> int:
    return max(1, min(int(0.4 * n ** (2 / 3)), n // (3 * max(h, 1))))


def _autocov(d: np.ndarray, max_lag: int) -> np.ndarray:
    """sum_t d_t d_{t+k} / n for k = 0..max_lag, per row (FFT)."""
    n = d.shape[1]
    size = 1 << int(math.ceil(math.log2(2 * n)))
    f = np.fft.rfft(d, size, axis=1)
    return np.fft.irfft(f * np.conj(f), size, axis=1)[:, : max_lag + 1] / n


def bartlett_t(x: np.ndarray, m: int) -> np.ndarray:
    valid = np.isfinite(x)
    nv = valid.sum(axis=1)
    mean = np.where(valid, x, 0).sum(axis=1) / nv
    d = np.where(valid, x - mean[:, None], 0.0)
    g = _autocov(d, m)
    w = 1 - np.arange(1, m + 1) / (m + 1.0)
    lrv = g[:, 0] + 2 * (g[:, 1:] * w).sum(axis=1)
    n = x.shape[1]
    return mean * nv / np.sqrt(np.maximum(lrv, 1e-300) * n)


_FIXED_B: dict[tuple[int, int], np.ndarray] = {}


def fixed_b_quantiles(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Upper quantiles (1 - alpha) of the Bartlett t under white noise with n, M."""
    key = (n, m)
    if key not in _FIXED_B:
        ts = []
        for _ in range(5):
            ts.append(bartlett_t(rng.standard_normal((4000, n)), m))
        _FIXED_B[key] = np.quantile(np.concatenate(ts), [1 - a for a in ALPHAS])
    return _FIXED_B[key]


def stationary_bootstrap_p(x: np.ndarray, block: float, rng: np.random.Generator, b: int = 999):
    """One-sided p of the mean > 0 by the stationary bootstrap (Politis and Romano 1994)."""
    out = np.empty(len(x))
    n = x.shape[1]
    for r, row in enumerate(x):
        row = row[np.isfinite(row)]
        n = len(row)
        mean = row.mean()
        new = rng.random((b, n)) < 1.0 / block
        new[:, 0] = True
        starts = rng.integers(0, n, (b, n))
        # position = start of the current block + steps since it began (circular)
        idx = np.arange(n)
        last_start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
        begin = np.take_along_axis(starts, last_start, axis=1)
        pos = (begin + idx - last_start) % n
        means = row[pos].mean(axis=1)
        out[r] = (1 + np.sum(means - mean >= mean)) / (b + 1)
    return out


def pvalues(test: str, x: np.ndarray, h: int, rng: np.random.Generator) -> np.ndarray | None:
    n = x.shape[1]
    if test == "nw_normal":
        return norm.sf(newey_west_tstat(x.T, h))
    if test == "flat_top":
        return _flat_top(x, h)
    if test == "ewc":
        return np.asarray(hac_mean_test(x.T, h).p_value)
    if test == "fixed_b":
        m = max(3 * h, int(round(1.3 * math.sqrt(n))))
        q = fixed_b_quantiles(n, m, rng)
        t = bartlett_t(x, m)
        # encode the rejection decisions as p-values just below / above each alpha
        p = np.ones(len(t))
        for a, crit in sorted(zip(ALPHAS, q), reverse=True):
            p = np.where(t > crit, a * 0.999, p)
        return p
    return None


def _flat_top(x: np.ndarray, h: int) -> np.ndarray:
    """The ranker's test before this change (flat-top kernel, t with n / (lag + 1) df)."""
    from scipy.stats import t as student_t

    n = x.shape[1]
    lag = max(2 * h, int(math.floor(4 * (n / 100) ** (2 / 9))))
    flat = max(h, 1) - 1
    k = np.arange(1, lag + 1)
    w = np.where(k <= flat, 1.0, (lag + 1.0 - k) / (lag + 1.0 - flat))
    valid = np.isfinite(x)
    nv = valid.sum(axis=1)
    mean = np.where(valid, x, 0).sum(axis=1) / nv
    d = np.where(valid, x - mean[:, None], 0.0)
    g = _autocov(d, lag) * n / nv[:, None]
    lrv = g[:, 0] + 2 * (g[:, 1:] * w).sum(axis=1)
    wb = 1 - k / (lag + 1.0)
    bart = g[:, 0] + 2 * (g[:, 1:] * wb).sum(axis=1)
    lrv = np.where(lrv > 1e-15, lrv, bart)
    lrv = lrv / np.clip(1 - (1 + 2 * w.sum()) / nv, 0.5, 1.0)
    t = mean / np.sqrt(lrv / nv)
    return student_t.sf(t, np.maximum(nv / (lag + 1.0), 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--kinds", default="rank_ic,auc,ma")
    parser.add_argument("--tests", default="nw_normal,flat_top,fixed_b,ewc")
    parser.add_argument("--horizons", default=",".join(map(str, HORIZONS)))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--bootstrap", action="store_true")
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    tests = args.tests.split(",") + (["bootstrap"] if args.bootstrap else [])
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(20261207)
    started = time.process_time()
    print(f"reps={args.reps} per cell; rejection rates in % at alpha = 1 % / 0.1 %")
    print("| series | h | n | nu (ewc) | " + " | ".join(tests) + " |")
    print("|---" * (4 + len(tests)) + "|")
    for kind in args.kinds.split(","):
        for h in (int(v) for v in args.horizons.split(",")):
            counts = {(t, n): np.zeros(len(ALPHAS)) for t in tests for n in sizes}
            done = 0
            while done < args.reps:
                r = min(args.chunk, args.reps - done)
                series = simulate(kind, rng, r, max(sizes), h)
                for n in sizes:
                    x = series[:, :n]
                    for test in tests:
                        if test == "bootstrap":
                            p = stationary_bootstrap_p(x[:100], 2.0 * h, rng)
                        else:
                            p = pvalues(test, x, h, rng)
                        counts[(test, n)] += [(p < a).sum() for a in ALPHAS]
                done += r
            for n in sizes:
                cells = []
                for test in tests:
                    base = args.reps if test != "bootstrap" else 100 * -(-args.reps // args.chunk)
                    rate = 100 * counts[(test, n)] / base
                    cells.append(f"{rate[0]:.2f} / {rate[1]:.3f}")
                print(f"| {kind} | {h} | {n} | {ewc_nu(n, h)} | " + " | ".join(cells) + " |")
    print(f"CPU seconds: {time.process_time() - started:.0f}")


if __name__ == "__main__":
    main()
