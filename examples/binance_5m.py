"""Run ``intelligent-train`` on real 5-minute Binance spot bars.

Reads ``../shared/data/binance_spot_5m_2024.parquet`` (beside the repository), builds a few
price/volume features and forward-return labels per symbol, writes them as a hive-style data
directory (``<work-dir>/data/interval=5m/symbol=<SYM>/<SYM>.parquet``) outside the
repository, runs the console script on it and prints the wall time and the target ranking.

    python examples/binance_5m.py --symbols BTC/USDT,ETH/USDT,SOL/USDT,XRP/USDT --days 30

Every label looks strictly forward (``close[t + h] / close[t] - 1``); every feature only
uses bars up to ``t``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "binance_spot_5m_2024.parquet"

#: Forward horizons in 5-minute bars, named by their duration.
HORIZONS = {"5m": 1, "15m": 3, "60m": 12, "4h": 48}


def build_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Backward-looking features of one symbol's bars (indexed by time, sorted)."""
    close, volume = bars["close"], bars["volume"]
    logret = np.log(close).diff()
    out = pd.DataFrame(index=bars.index)
    for n in (1, 3, 12, 48, 288):
        out[f"ret_{n}b"] = close.pct_change(n)
    for n in (12, 48, 288):
        out[f"vol_{n}b"] = logret.rolling(n).std()
        out[f"dist_ma_{n}b"] = close / close.rolling(n).mean() - 1.0
    out["range_1b"] = (bars["high"] - bars["low"]) / close
    out["range_12b"] = out["range_1b"].rolling(12).mean()
    logvol = np.log1p(volume)
    out["volume_z_48b"] = (logvol - logvol.rolling(48).mean()) / logvol.rolling(48).std()
    out["volume_z_288b"] = (logvol - logvol.rolling(288).mean()) / logvol.rolling(288).std()
    minute = bars.index.hour * 60 + bars.index.minute
    out["tod_sin"] = np.sin(2 * np.pi * minute / 1440.0)
    out["tod_cos"] = np.cos(2 * np.pi * minute / 1440.0)
    return out


def build_labels(bars: pd.DataFrame) -> pd.DataFrame:
    """Forward-looking labels of one symbol's bars."""
    close = bars["close"]
    out = pd.DataFrame(index=bars.index)
    for name, h in HORIZONS.items():
        fwd = close.shift(-h) / close - 1.0
        out[f"fwd_ret_{name}"] = fwd
        out[f"fwd_absret_{name}"] = fwd.abs()
    out["y_up_15m"] = (out["fwd_ret_15m"] > 0).astype(float).where(out["fwd_ret_15m"].notna())
    out["y_up_60m"] = (out["fwd_ret_60m"] > 0).astype(float).where(out["fwd_ret_60m"].notna())
    return out


def write_data_dir(symbols: list[str], days: int, root: Path) -> Path:
    """Features and labels per symbol in the hive layout; returns the ``interval=5m`` dir."""
    raw = pd.read_parquet(DATA)
    raw = raw[raw["symbol"].astype(str).isin(symbols)]
    if raw.empty:
        raise SystemExit(f"none of {symbols} in {DATA}")
    end = raw["date"].max()
    start = end - pd.Timedelta(days=days)
    data_dir = root / "interval=5m"
    for symbol, bars in raw.groupby(raw["symbol"].astype(str), observed=True):
        bars = bars.set_index("date").sort_index()[["open", "high", "low", "close", "volume"]]
        bars.index = bars.index.tz_convert("UTC").tz_localize(None)
        table = pd.concat([build_features(bars), build_labels(bars)], axis=1)
        table = table.loc[start.tz_localize(None) :].iloc[288:]  # warm-up of the 1-day windows
        table = table.replace([np.inf, -np.inf], np.nan)
        name = symbol.replace("/", "")
        folder = data_dir / f"symbol={name}"
        folder.mkdir(parents=True, exist_ok=True)
        table.rename_axis("ts").reset_index().to_parquet(folder / f"{name}.parquet", index=False)
    return data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", default="BTC/USDT,ETH/USDT,SOL/USDT,XRP/USDT,DOGE/USDT")
    parser.add_argument("--days", type=int, default=30, help="most recent days to use")
    parser.add_argument("--work-dir", help="where data and outputs go (default: a temp dir)")
    parser.add_argument("cli_args", nargs="*", help="extra intelligent-train flags (after --)")
    args = parser.parse_args(argv)

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="binance_5m_")).resolve()
    if work == REPO or REPO in work.parents:
        raise SystemExit("--work-dir must be outside the repository")
    start = time.perf_counter()
    data_dir = write_data_dir(args.symbols.split(","), args.days, work / "data")
    prepared = time.perf_counter() - start
    output_dir = work / "intelligent_output"
    cmd = [
        sys.executable, "-m", "intelligent_training",
        "--data-dir", str(data_dir), "--output-dir", str(output_dir), *args.cli_args,
    ]  # fmt: skip
    sys.stdout.write(f"data prepared in {prepared:.1f}s: {data_dir}\n$ {' '.join(cmd)}\n")
    sys.stdout.flush()
    start = time.perf_counter()
    rc = subprocess.call(cmd)
    wall = time.perf_counter() - start
    sys.stdout.write(f"intelligent-train exit code {rc}, wall time {wall:.1f}s\n")
    ranking = output_dir / "target_rankings" / "target_predictability_rankings.csv"
    if rc == 0 and ranking.is_file():
        table = pd.read_csv(ranking)
        keep = [c for c in ("target", "rank", "score", "task", "horizon") if c in table.columns]
        sys.stdout.write(table[keep].to_string(index=False) + "\n")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
