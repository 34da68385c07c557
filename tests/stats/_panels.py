"""Simulated panels for the statistics tests: persistent forecasts, overlapping labels."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def ar1(rng: np.random.Generator, n_timestamps: int, n_symbols: int, phi: float) -> np.ndarray:
    """Unit-variance AR(1) per symbol, shape (T, S), started from stationarity."""
    e = rng.standard_normal((n_timestamps, n_symbols)) * np.sqrt(1 - phi * phi)
    start = rng.standard_normal(n_symbols)
    out, _ = lfilter([1.0], [1.0, -phi], e, axis=0, zi=(phi * start)[None, :])
    return out


def overlapping_noise(
    rng: np.random.Generator, n_timestamps: int, n_symbols: int, bars: int
) -> np.ndarray:
    """``bars``-bar forward sums of iid noise (unit variance), shape (T, S)."""
    draws = rng.standard_normal((n_timestamps + bars - 1, n_symbols))
    csum = np.vstack([np.zeros((1, n_symbols)), np.cumsum(draws, axis=0)])
    return (csum[bars:] - csum[:-bars]) / np.sqrt(bars)


def null_panel(
    seed: int,
    n_timestamps: int = 600,
    n_symbols: int = 6,
    bars: int = 12,
    phi: float = 0.97,
    signal: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, forecast, timestamps)`` flattened, one row per (timestamp, symbol).

    The forecast is a persistent AR(1); the outcome is overlapping noise plus ``signal``
    times the forecast (0: pure noise, the forecast has no skill).
    """
    rng = np.random.default_rng(seed)
    forecast = ar1(rng, n_timestamps, n_symbols, phi)
    y = overlapping_noise(rng, n_timestamps, n_symbols, bars) + signal * forecast
    ts = np.repeat(np.arange(n_timestamps), n_symbols)
    return y.ravel(), forecast.ravel(), ts


def null_skill_series(
    kind: str, rng: np.random.Generator, reps: int, n: int, bars: int, n_symbols: int = 6
) -> np.ndarray:
    """``reps`` per-timestamp skill series without skill, shape (reps, n).

    ``"ma"``: the overlap alone, ``bars``-bar sums of Gaussian noise (an MA(bars - 1));
    ``"rank_ic"``: Spearman correlation across ``n_symbols`` between persistent AR(1)
    forecasts (phi = 0.97) and ``bars``-bar forward sums of noise; ``"auc"``: the same
    forecasts against the sign of the sums, AUC - 1/2 (NaN where every symbol has one class).
    """
    if kind == "ma":
        e = rng.standard_normal((reps, n + bars - 1))
        c = np.concatenate([np.zeros((reps, 1)), np.cumsum(e, axis=1)], axis=1)
        return c[:, bars:] - c[:, :-bars]
    phi = 0.97
    shocks = rng.standard_normal((reps, n, n_symbols)) * np.sqrt(1 - phi * phi)
    start = rng.standard_normal((reps, 1, n_symbols))
    forecast, _ = lfilter([1.0], [1.0, -phi], shocks, axis=1, zi=phi * start)
    e = rng.standard_normal((reps, n + bars - 1, n_symbols))
    c = np.concatenate([np.zeros((reps, 1, n_symbols)), np.cumsum(e, axis=1)], axis=1)
    label = c[:, bars:] - c[:, :-bars]
    rf = np.argsort(np.argsort(forecast, axis=-1), axis=-1) + 1.0
    if kind == "rank_ic":
        rl = np.argsort(np.argsort(label, axis=-1), axis=-1) + 1.0
        s = n_symbols
        return 1.0 - 6.0 * ((rf - rl) ** 2).sum(axis=-1) / (s * (s * s - 1))
    positive = label > 0
    n_pos = positive.sum(axis=-1).astype(np.float64)
    n_neg = n_symbols - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((rf * positive).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc - 0.5, np.nan)
