"""load_xy: the same data as split_features_targets(load_panel(...)), read column-wise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intelligent_training.data import load_panel, load_xy, split_features_targets
from intelligent_training.exceptions import DataError


def _random_dir(root, seed: int, layout: str) -> pd.DataFrame:
    """Symbols with different spans, part files, a column missing for one symbol, NaNs.

    Returns the oracle panel built with plain pandas (concat, sort, float32/float64).
    """
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(int(rng.integers(2, 6))):
        symbol = f"S{k}"
        n = int(rng.integers(5, 60))
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=5 * int(rng.integers(0, 30)))
        df = pd.DataFrame(
            {
                "ts": pd.date_range(start, periods=n, freq="5min"),
                "a": rng.normal(size=n),
                "b": rng.integers(-5, 5, size=n),
                "fwd_ret_5m": rng.normal(size=n),
                "c": rng.normal(size=n),
                "y_up_15m": rng.integers(0, 2, size=n).astype(float),
            }
        )
        df.loc[rng.random(n) < 0.1, "a"] = np.nan
        if k == 1:
            df = df.drop(columns="c")
        df = df.sample(frac=1.0, random_state=seed)  # files need not be sorted
        if layout == "hive":
            folder = root / f"symbol={symbol}"
            folder.mkdir(parents=True)
            cut = n // 2
            df.iloc[:cut].to_parquet(folder / "part-0.parquet", index=False)
            df.iloc[cut:].to_parquet(folder / "part-1.parquet", index=False)
        else:
            root.mkdir(parents=True, exist_ok=True)
            df.to_csv(root / f"{symbol}.csv", index=False)
        frames.append(df.assign(symbol=symbol))
    oracle = pd.concat(frames).rename(columns={"ts": "timestamp"})
    oracle = oracle.set_index(["timestamp", "symbol"]).sort_index()
    return oracle[["a", "b", "fwd_ret_5m", "c", "y_up_15m"]]


@pytest.mark.parametrize("layout", ["hive", "csv"])
@pytest.mark.parametrize("seed", range(4))
def test_matches_a_pandas_oracle(tmp_path, seed, layout):
    oracle = _random_dir(tmp_path / "d", seed, layout)
    with pytest.warns(UserWarning, match="'c' missing"):
        X, Y = load_xy(tmp_path / "d")
    assert list(X.columns) == ["a", "b", "c"] and list(Y.columns) == ["fwd_ret_5m", "y_up_15m"]
    assert (X.dtypes == np.float32).all() and (Y.dtypes == np.float64).all()
    expected_X = oracle[["a", "b", "c"]].astype(np.float32)
    pd.testing.assert_frame_equal(X, expected_X, check_index_type=False)
    pd.testing.assert_frame_equal(Y, oracle[["fwd_ret_5m", "y_up_15m"]], check_index_type=False)
    with pytest.warns(UserWarning):
        px, py = split_features_targets(load_panel(tmp_path / "d"))
    pd.testing.assert_frame_equal(X, px)
    pd.testing.assert_frame_equal(Y, py)


def test_min_cs_and_projection(tmp_path):
    oracle = _random_dir(tmp_path / "d", 7, "hive")
    per_ts = oracle.groupby(level="timestamp").size()
    thick = per_ts.index[per_ts >= 2]
    X, Y = load_xy(tmp_path / "d", min_cs=2, features=["b"], targets=["y_up_15m"])
    assert list(X.columns) == ["b"] and list(Y.columns) == ["y_up_15m"]
    expected = oracle.loc[oracle.index.get_level_values("timestamp").isin(thick)]
    np.testing.assert_array_equal(X["b"].to_numpy(), expected["b"].to_numpy(np.float32))
    np.testing.assert_array_equal(Y["y_up_15m"].to_numpy(), expected["y_up_15m"].to_numpy())


def test_unknown_or_wrong_kind_columns_are_named(tmp_path):
    _random_dir(tmp_path / "d", 1, "hive")
    with pytest.raises(DataError, match=r"unknown features \['nope'\].*available features: a, b"):
        load_xy(tmp_path / "d", features=["a", "nope"])
    with pytest.raises(DataError, match=r"unknown targets \['a'\].*not targets"):
        load_xy(tmp_path / "d", targets=["a"])


def test_features_are_one_float32_block(tmp_path):
    """One copy of the features: a single 2-D block the frame's columns are views of."""
    _random_dir(tmp_path / "d", 2, "hive")
    X, _ = load_xy(tmp_path / "d", features=["a", "b"])
    block = X.to_numpy()
    assert block.dtype == np.float32
    assert np.shares_memory(block, X["a"].to_numpy())
    assert np.shares_memory(block, X["b"].to_numpy())


def test_arrow_reads_through_the_system_allocator_and_the_pool_is_restored(tmp_path, monkeypatch):
    import pyarrow as pa

    from intelligent_training.data import _sources

    _random_dir(tmp_path, 0, "hive")
    before = pa.default_memory_pool().backend_name
    seen = []
    read = _sources.Unit.read_columns

    def spy(self, names, dtype_of):
        seen.append(pa.default_memory_pool().backend_name)
        return read(self, names, dtype_of)

    monkeypatch.setattr(_sources.Unit, "read_columns", spy)
    load_xy(tmp_path)
    assert seen and set(seen) == {"system"}
    assert pa.default_memory_pool().backend_name == before

    def failing(self, names, dtype_of):
        raise DataError("unreadable")

    monkeypatch.setattr(_sources.Unit, "read_columns", failing)
    with pytest.raises(DataError, match="unreadable"):
        load_xy(tmp_path)
    assert pa.default_memory_pool().backend_name == before  # also after an error
