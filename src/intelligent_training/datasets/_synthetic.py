"""A synthetic multi-symbol panel whose truth is known, for tests, demos and benchmarks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.datasets._truth import SyntheticTruth
from intelligent_training.exceptions import ConfigError

__all__ = ["make_synthetic_panel", "write_synthetic_data_dir"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _TargetSpec:
    name: str
    task: str  # "regression" | "binary"
    kind: str  # "linear" | "nonlinear" | "noise"
    bars: int  # how many bars the label looks ahead (its noise overlaps that much)
    n_informative: int
    weights: tuple[float, ...] = ()


# The default target set. Strengths (``signal_corr``) are well separated on every
# correlation-equivalent scale (rho, R² = rho², AUC ~ 0.5 + arcsin(rho)/pi).
_TARGETS: tuple[_TargetSpec, ...] = (
    _TargetSpec("fwd_ret_5m", "regression", "linear", 1, 3, (1.0, -0.8, 0.6)),
    _TargetSpec("y_up_15m", "binary", "linear", 3, 3, (0.9, 0.7, -0.6)),
    _TargetSpec("tgt_nonlin_10m", "regression", "nonlinear", 2, 2),
    _TargetSpec("fwd_ret_30m", "regression", "linear", 6, 2, (1.0, -1.0)),
    _TargetSpec("fwd_ret_60m", "regression", "noise", 12, 0),
    _TargetSpec("y_will_peak_60m_0.8", "binary", "noise", 12, 0),
)
DEFAULT_SIGNAL_CORR: dict[str, float] = {
    "fwd_ret_5m": 0.9,
    "y_up_15m": 0.65,
    "tgt_nonlin_10m": 0.45,
    "fwd_ret_30m": 0.35,
}
_NOISE_PEAK_QUANTILE = 0.8  # y_will_peak_60m_0.8: the noise sum exceeds its 80% quantile
_REDUNDANT_NOISE = 0.2  # a redundant copy has correlation ~ sqrt(1 - 0.2**2) = 0.98
_LEAK_NOISE = 0.05


def _ar1(innovations: np.ndarray, phi: float, start: np.ndarray) -> np.ndarray:
    """Stationary unit-variance AR(1) along axis 0, started from ``start``."""
    from scipy.signal import lfilter  # imported here: scipy.signal is slow to import

    scale = np.sqrt(1.0 - phi * phi)
    out, _ = lfilter([scale], [1.0, -phi], innovations, axis=0, zi=(phi * start)[None, :])
    return out


def _forward_noise(rng: np.random.Generator, n_timestamps: int, n_symbols: int, bars: int):
    """Overlapping forward sums of iid noise over ``bars`` bars, unit variance, (T, S)."""
    draws = rng.standard_normal((n_timestamps + bars - 1, n_symbols))
    csum = np.zeros((n_timestamps + bars, n_symbols))
    np.cumsum(draws, axis=0, out=csum[1:])
    return (csum[bars:] - csum[:-bars]) / np.sqrt(bars)


def _standardize(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std()


def _check_params(n_symbols: int, n_timestamps: int, n_features: int, n_needed: int) -> None:
    if int(n_symbols) < 1:
        raise ConfigError(f"n_symbols must be >= 1, got {n_symbols}.")
    if int(n_timestamps) < 24:
        raise ConfigError(
            f"n_timestamps must be >= 24 (the noise targets look 12 bars ahead), got {n_timestamps}."
        )
    if int(n_features) < n_needed:
        raise ConfigError(
            f"n_features={n_features} is too small: the default targets need {n_needed} "
            "informative and redundant features; pass n_features >= "
            f"{n_needed} (or n_redundant=0)."
        )


def make_synthetic_panel(
    n_symbols: int = 6,
    n_timestamps: int = 1500,
    n_features: int = 24,
    *,
    freq: str | pd.Timedelta = "5min",
    leaky: bool = False,
    random_state: int | None = 0,
    n_redundant: int = 2,
    signal_corr: Mapping[str, float] | None = None,
    leaky_target: str = "fwd_ret_30m",
    start: str | pd.Timestamp = "2024-01-01",
) -> tuple[pd.DataFrame, SyntheticTruth]:
    """Build a labeled multi-symbol panel with planted, known structure.

    Every feature is a per-symbol stationary AR(1) series with high persistence
    (``phi`` drawn in ``[0.95, 0.98]``), standardised. Informative features drive the
    predictable targets; redundant features are near-copies of informative ones; the
    rest are pure noise. Two noise targets are overlapping 12-bar forward sums of pure
    noise (one thresholded), so a shuffled K-fold that ignores time scores them
    positively through the persistent features while walk-forward purged CV does not.

    Parameters
    ----------
    n_symbols, n_timestamps, n_features : int
        Panel size. ``n_features`` must cover the informative features (10) and the
        ``n_redundant`` copies; the remainder are noise features.
    freq : str or pandas.Timedelta, default "5min"
        Spacing of the regular timestamp grid. Target names assume 5-minute bars
        (``fwd_ret_60m`` looks 12 bars ahead); ``truth.horizons`` is always exact.
    leaky : bool, default False
        Add one feature equal to the label of ``leaky_target`` plus tiny noise.
    random_state : int or None, default 0
        Seed; the same seed gives the same panel.
    n_redundant : int, default 2
        Number of near-copies (correlation ~0.98) of informative features.
    signal_corr : mapping, optional
        Override the designed strength of predictable targets (values in ``(0, 1)``);
        defaults are ``fwd_ret_5m`` 0.9, ``y_up_15m`` 0.65, ``tgt_nonlin_10m`` 0.45,
        ``fwd_ret_30m`` 0.35.
    leaky_target : str, default "fwd_ret_30m"
        Which target leaks into the leaky feature when ``leaky=True``.
    start : str or pandas.Timestamp, default "2024-01-01"
        First timestamp.

    Returns
    -------
    panel : pandas.DataFrame
        MultiIndex ``("timestamp", "symbol")`` sorted by timestamp then symbol; feature
        columns ``f00, f01, ...`` (float32) then the target columns (float64; binary
        targets as 0.0/1.0). No missing values.
    truth : SyntheticTruth
        What was planted (target order, informative/redundant/noise features, ...).

    Examples
    --------
    >>> from intelligent_training.datasets import make_synthetic_panel
    >>> panel, truth = make_synthetic_panel(n_symbols=2, n_timestamps=100)
    >>> panel.shape
    (200, 30)
    >>> truth.target_order
    ['fwd_ret_5m', 'y_up_15m', 'tgt_nonlin_10m', 'fwd_ret_30m']
    """
    predictable = [s for s in _TARGETS if s.kind != "noise"]
    n_informative = sum(s.n_informative for s in predictable)
    n_redundant = int(n_redundant)
    if n_redundant < 0 or n_redundant > n_informative:
        raise ConfigError(f"n_redundant must be in [0, {n_informative}], got {n_redundant}.")
    _check_params(n_symbols, n_timestamps, n_features, n_informative + n_redundant)
    strengths = dict(DEFAULT_SIGNAL_CORR)
    for name, rho in (signal_corr or {}).items():
        if name not in strengths:
            raise ConfigError(
                f"signal_corr names unknown predictable target {name!r}; "
                f"choose among {sorted(strengths)}."
            )
        if not 0.0 < float(rho) < 1.0:
            raise ConfigError(f"signal_corr[{name!r}] must be in (0, 1), got {rho}.")
        strengths[name] = float(rho)
    target_names = [s.name for s in _TARGETS]
    if leaky and leaky_target not in target_names:
        raise ConfigError(
            f"leaky_target {leaky_target!r} is not a synthetic target; choose among {target_names}."
        )
    step = pd.Timedelta(freq)
    if step <= pd.Timedelta(0):
        raise ConfigError(f"freq must be a positive duration, got {freq!r}.")

    rng = np.random.default_rng(random_state)
    n_t, n_s, n_f = int(n_timestamps), int(n_symbols), int(n_features)
    width = max(2, len(str(n_f + int(leaky) - 1)))
    names = [f"f{j:0{width}d}" for j in range(n_f)]

    # Roles are assigned to randomly permuted names so position carries no information.
    order = rng.permutation(n_f)
    role_names = [names[j] for j in order]
    informative: dict[str, list[str]] = {}
    informative_idx: dict[str, list[int]] = {}
    pos = 0
    for spec in predictable:
        informative_idx[spec.name] = [int(j) for j in order[pos : pos + spec.n_informative]]
        informative[spec.name] = role_names[pos : pos + spec.n_informative]
        pos += spec.n_informative
    informative_all = [int(j) for j in order[:n_informative]]
    redundant_idx = [int(j) for j in order[n_informative : n_informative + n_redundant]]
    noise_idx = sorted(int(j) for j in order[n_informative + n_redundant :])
    # Copies take the first informative feature of each target in turn (strongest first).
    firsts = [
        informative_idx[s.name][k] for k in range(3) for s in predictable if k < s.n_informative
    ]
    copied = firsts[:n_redundant] if n_redundant <= len(firsts) else informative_all[:n_redundant]

    # --- features: per-symbol AR(1), standardised -------------------------------------
    phis = rng.uniform(0.95, 0.98, size=n_f + n_redundant)
    innovations = rng.standard_normal((n_f + n_redundant, n_t, n_s))
    starts = rng.standard_normal((n_f + n_redundant, n_s))
    series = np.empty((n_f + n_redundant, n_t, n_s))
    for j in range(n_f + n_redundant):
        series[j] = _ar1(innovations[j], float(phis[j]), starts[j])
    feats = series[:n_f]
    extra = series[n_f:]  # independent AR(1) noise for the redundant copies
    for k, (dst, src) in enumerate(zip(redundant_idx, copied)):
        mix = np.sqrt(1.0 - _REDUNDANT_NOISE**2) * feats[src] + _REDUNDANT_NOISE * extra[k]
        feats[dst] = mix
    for j in range(n_f):
        feats[j] = _standardize(feats[j])

    # --- targets -------------------------------------------------------------------------
    labels: dict[str, np.ndarray] = {}
    for spec in _TARGETS:
        # Noise targets overlap over their whole horizon (that is what leaks through a
        # shuffled K-fold); predictable targets get iid label noise so their designed
        # strength is what an honest out-of-sample model can reach.
        overlap = spec.bars if spec.kind == "noise" else 1
        noise = _forward_noise(rng, n_t, n_s, overlap)
        if spec.kind == "noise":
            if spec.task == "binary":
                threshold = _normal_quantile(_NOISE_PEAK_QUANTILE)
                labels[spec.name] = (noise > threshold).astype(np.float64)
            else:
                labels[spec.name] = noise
            continue
        idx = informative_idx[spec.name]
        if spec.kind == "linear":
            signal = np.tensordot(np.asarray(spec.weights), feats[idx], axes=1)
        else:  # V-shaped in two features: no linear correlation, easy for trees
            signal = np.abs(feats[idx[0]]) + np.abs(feats[idx[1]])
        signal = _standardize(signal)
        rho = strengths[spec.name]
        latent = rho * signal + np.sqrt(1.0 - rho * rho) * noise
        labels[spec.name] = (latent > 0).astype(np.float64) if spec.task == "binary" else latent

    columns: dict[str, np.ndarray] = {
        names[j]: feats[j].reshape(-1).astype(np.float32) for j in range(n_f)
    }
    leaky_feature = None
    if leaky:
        leaky_feature = f"f{n_f:0{width}d}"
        label = labels[leaky_target]
        leak = _standardize(label) + _LEAK_NOISE * rng.standard_normal(label.shape)
        columns[leaky_feature] = _standardize(leak).reshape(-1).astype(np.float32)
    for name in target_names:
        columns[name] = labels[name].reshape(-1)

    timestamps = pd.date_range(pd.Timestamp(start), periods=n_t, freq=step).as_unit("ns")
    symbols = [f"SYM{i:03d}" for i in range(n_s)]
    index = pd.MultiIndex.from_product([timestamps, symbols], names=["timestamp", "symbol"])
    panel = pd.DataFrame(columns, index=index)

    signal_map = {s.name: (strengths[s.name] if s.kind != "noise" else 0.0) for s in _TARGETS}
    target_order = sorted((s.name for s in predictable), key=lambda name: -signal_map[name])
    truth = SyntheticTruth(
        target_order=target_order,
        noise_targets=[s.name for s in _TARGETS if s.kind == "noise"],
        signal_corr=signal_map,
        tasks={s.name: s.task for s in _TARGETS},
        horizons={s.name: s.bars * step for s in _TARGETS},
        horizon_bars={s.name: s.bars for s in _TARGETS},
        informative_features={s.name: sorted(informative.get(s.name, [])) for s in _TARGETS},
        linear_target="fwd_ret_5m",
        nonlinear_target="tgt_nonlin_10m",
        redundant_features={names[d]: names[s] for d, s in zip(redundant_idx, copied)},
        noise_features=[names[j] for j in noise_idx],
        leaky_feature=leaky_feature,
        leaky_target=leaky_target if leaky else None,
        freq=step,
    )
    logger.debug("synthetic panel %s built (%d targets)", panel.shape, len(target_names))
    return panel, truth


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def write_synthetic_data_dir(
    path: str | Path, *, interval: str = "5m", **make_kwargs: Any
) -> SyntheticTruth:
    """Write a synthetic panel as a hive-style data directory.

    The layout is ``path/interval=<interval>/symbol=<SYM>/<SYM>.parquet``, one table per
    symbol with a ``ts`` column, features and targets, which :func:`load_panel` reads
    back (from ``path`` or ``path/interval=<interval>``).

    Parameters
    ----------
    path : str or pathlib.Path
        Root directory (created if missing).
    interval : str, default "5m"
        Name of the ``interval=`` folder.
    **make_kwargs
        Passed to :func:`make_synthetic_panel`.

    Returns
    -------
    SyntheticTruth
        The truth of the written panel.
    """
    import pyarrow as pa

    from intelligent_training.data import write_parquet

    panel, truth = make_synthetic_panel(**make_kwargs)
    root = Path(path) / f"interval={interval}"
    n_s = panel.index.get_level_values("symbol").nunique()
    symbols = panel.index.get_level_values("symbol").unique()
    ts = panel.index.get_level_values("timestamp").to_numpy()[::n_s]
    for k, symbol in enumerate(symbols):
        block = panel.iloc[k::n_s]  # rows of one symbol (the panel is a full grid)
        table = pa.table(
            {"ts": ts, **{c: block[c].to_numpy() for c in panel.columns}},
        )
        folder = root / f"symbol={symbol}"
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet(table, folder / f"{symbol}.parquet")  # with page checksums
    logger.info("wrote %d synthetic symbol tables under %s", len(symbols), root)
    return truth
