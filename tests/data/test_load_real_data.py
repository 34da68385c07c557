"""load_panel on real market bars (``../shared/data``; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from intelligent_training.data import load_panel, split_features_targets

BINANCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance_spot_5m_2024.parquet"


@pytest.mark.skipif(not BINANCE.exists(), reason="shared market data not available")
def test_binance_bars_round_trip(tmp_path):
    import pyarrow.parquet as pq

    wanted = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    bars = pq.read_table(BINANCE, filters=[("symbol", "in", wanted)]).to_pandas()
    bars["symbol"] = bars["symbol"].astype(str)
    folder = tmp_path / "interval=5m"
    for symbol, frame in bars.groupby("symbol"):
        frame = frame.iloc[:2000].copy()
        frame["fwd_ret_5m"] = frame["close"].shift(-1) / frame["close"] - 1.0
        name = symbol.replace("/", "_")
        (folder / f"symbol={name}").mkdir(parents=True)
        frame.to_parquet(folder / f"symbol={name}" / f"{name}.parquet", index=False)

    panel = load_panel(tmp_path, min_cs=3)
    assert panel.shape == (6000, 6)  # open high low close volume + target
    ts = panel.index.get_level_values("timestamp")
    assert ts.tz is None and ts[0] == pd.Timestamp("2024-01-01 00:00")  # UTC, naive
    assert panel.index.is_monotonic_increasing
    X, Y = split_features_targets(panel)
    assert list(Y.columns) == ["fwd_ret_5m"] and (X.dtypes == np.float32).all()
    assert Y["fwd_ret_5m"].isna().sum() == 3  # the last bar of each symbol has no future
    btc = bars[bars["symbol"] == "BTC/USDT"].iloc[:2000]
    got = panel.xs("BTC_USDT", level="symbol")["close"].to_numpy()
    np.testing.assert_allclose(got, btc["close"].to_numpy(), rtol=1e-6)
