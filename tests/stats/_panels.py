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
