"""load_panel: layouts, time columns, dtypes, filters and every bad-input error."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from intelligent_training.data import load_panel
from intelligent_training.datasets import write_synthetic_data_dir
from intelligent_training.exceptions import DataError, DataWarning

SYMBOLS = ["AAA", "BBB", "CCC"]


def _table(symbol: str, n: int = 20, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(sum(map(ord, symbol)))
    return pd.DataFrame(
        {
            "ts": pd.date_range(start, periods=n, freq="5min"),
            "close": rng.normal(size=n),
            "volume": rng.integers(0, 100, size=n),
            "fwd_ret_5m": rng.normal(size=n),
            "y_up_15m": rng.integers(0, 2, size=n),
        }
    )


def _write(folder, layout: str, tables: dict[str, pd.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for symbol, df in tables.items():
        if layout == "parquet":
            df.to_parquet(folder / f"{symbol}.parquet", index=False)
        elif layout == "csv":
            df.to_csv(folder / f"{symbol}.csv", index=False)
        elif layout == "csv.gz":
            df.to_csv(folder / f"{symbol}.csv.gz", index=False, compression="gzip")
        elif layout == "hive":
            sub = folder / f"symbol={symbol}"
            sub.mkdir()
            half = len(df) // 2  # two part files per symbol
            df.iloc[:half].to_parquet(sub / "part-0.parquet", index=False)
            df.iloc[half:].to_parquet(sub / "part-1.parquet", index=False)


@pytest.mark.parametrize("layout", ["parquet", "csv", "csv.gz", "hive"])
def test_layouts_give_the_same_panel(tmp_path, layout):
    tables = {s: _table(s) for s in SYMBOLS}
    _write(tmp_path / layout, layout, tables)
    panel = load_panel(tmp_path / layout)
    assert panel.index.names == ["timestamp", "symbol"]
    assert panel.index.is_monotonic_increasing
    assert panel.index.get_level_values("timestamp").dtype == "datetime64[ns]"
    assert sorted(panel.index.get_level_values("symbol").unique()) == SYMBOLS
    assert panel.shape == (60, 4)
    assert panel["close"].dtype == np.float32 and panel["volume"].dtype == np.float32
    assert panel["fwd_ret_5m"].dtype == np.float64 and panel["y_up_15m"].dtype == np.float64
    got = panel.xs("BBB", level="symbol")["close"].to_numpy()
    np.testing.assert_allclose(got, tables["BBB"]["close"].to_numpy(), rtol=1e-6)


def test_synthetic_round_trip_through_interval_folder(tmp_path, synthetic):
    write_synthetic_data_dir(tmp_path, n_symbols=6, n_timestamps=1500)
    expected, _ = synthetic
    for path in (tmp_path, tmp_path / "interval=5m"):  # the interval folder is descended into
        pd.testing.assert_frame_equal(load_panel(path), expected)


def test_several_interval_folders_ask_which(tmp_path):
    for interval in ("5m", "1h"):
        _write(tmp_path / f"interval={interval}", "parquet", {"AAA": _table("AAA")})
    with pytest.raises(DataError, match=r"several interval folders.*interval=1h.*interval=5m"):
        load_panel(tmp_path)
    assert len(load_panel(tmp_path / "interval=1h")) == 20


def test_symbols_filter_and_unknown_symbol(tmp_path):
    _write(tmp_path, "parquet", {s: _table(s) for s in SYMBOLS})
    panel = load_panel(tmp_path, ["CCC", "AAA"])
    assert list(panel.index.get_level_values("symbol").unique()) == ["AAA", "CCC"]
    assert load_panel(tmp_path, "AAA,BBB").shape[0] == 40
    with pytest.raises(DataError, match=r"unknown symbol.*'ZZZ'.*available.*'AAA'"):
        load_panel(tmp_path, ["AAA", "ZZZ"])


def test_min_cs_drops_thin_timestamps(tmp_path):
    tables = {"AAA": _table("AAA", 20), "BBB": _table("BBB", 10), "CCC": _table("CCC", 5)}
    _write(tmp_path, "parquet", tables)
    counts = load_panel(tmp_path, min_cs=2).groupby(level="timestamp").size()
    assert len(counts) == 10 and (counts >= 2).all()
    assert len(load_panel(tmp_path, min_cs=3)) == 15
    with pytest.raises(DataError, match="min_cs=4 drops every timestamp"):
        load_panel(tmp_path, min_cs=4)
    with pytest.raises(DataError, match="min_cs"):
        load_panel(tmp_path, min_cs=0)


@pytest.mark.parametrize("name", ["timestamp", "Date", "datetime", "time"])
def test_time_column_candidates(tmp_path, name):
    _write(tmp_path, "parquet", {"AAA": _table("AAA").rename(columns={"ts": name})})
    assert len(load_panel(tmp_path)) == 20


def test_explicit_time_column_and_datetime_index(tmp_path):
    df = _table("AAA").rename(columns={"ts": "bar_open"})
    _write(tmp_path / "a", "parquet", {"AAA": df})
    assert len(load_panel(tmp_path / "a", time_column="bar_open")) == 20
    with pytest.raises(DataError, match=r"'bar_close' not found in .*AAA\.parquet"):
        load_panel(tmp_path / "a", time_column="bar_close")
    (tmp_path / "b").mkdir()
    df.set_index("bar_open").to_parquet(tmp_path / "b" / "AAA.parquet")  # named index
    df.set_index("bar_open").rename_axis(None).to_parquet(tmp_path / "b" / "BBB.parquet")
    panel = load_panel(tmp_path / "b")
    assert panel.shape == (40, 4)


def test_tz_aware_and_string_times_become_naive_utc(tmp_path):
    df = _table("AAA")
    df["ts"] = df["ts"].dt.tz_localize("US/Eastern")
    _write(tmp_path / "a", "parquet", {"AAA": df})
    first = load_panel(tmp_path / "a").index.get_level_values("timestamp")[0]
    assert first == pd.Timestamp("2024-01-01 05:00")  # 00:00 EST is 05:00 UTC
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "AAA.csv").write_text(
        "date,x,fwd_ret_1d\n2024-01-02,1,0.5\n2024-01-01,2,0.1\n"
    )
    panel = load_panel(tmp_path / "b")
    assert panel["x"].tolist() == [2.0, 1.0]  # sorted by time


def test_columns_missing_for_some_symbols_are_nan_with_warning(tmp_path):
    tables = {"AAA": _table("AAA"), "BBB": _table("BBB").drop(columns=["volume"])}
    _write(tmp_path, "parquet", tables)
    with pytest.warns(DataWarning, match=r"'volume' missing for \['BBB'\]"):
        panel = load_panel(tmp_path)
    assert panel.xs("BBB", level="symbol")["volume"].isna().all()


def test_non_numeric_feature_dropped_target_rejected(tmp_path):
    df = _table("AAA").assign(sector="tech")
    _write(tmp_path / "a", "parquet", {"AAA": df})
    with pytest.warns(DataWarning, match=r"dropping non-numeric feature column.*'sector'"):
        panel = load_panel(tmp_path / "a")
    assert "sector" not in panel.columns
    _write(tmp_path / "b", "parquet", {"AAA": _table("AAA").assign(y_side="up")})
    with pytest.raises(DataError, match=r"target column 'y_side' in .*AAA\.parquet"):
        load_panel(tmp_path / "b")


def test_nan_kept_inf_rejected(tmp_path):
    df = _table("BBB")
    df.loc[3, "close"] = np.nan
    _write(tmp_path / "a", "parquet", {"AAA": _table("AAA"), "BBB": df})
    assert load_panel(tmp_path / "a")["close"].isna().sum() == 1
    df.loc[4, "close"] = np.inf
    _write(tmp_path / "b", "parquet", {"AAA": _table("AAA"), "BBB": df})
    with pytest.raises(DataError, match=r"'close'.*infinite.*\['BBB'\].*BBB\.parquet"):
        load_panel(tmp_path / "b")


def test_missing_dir_and_file_instead_of_dir(tmp_path):
    with pytest.raises(DataError, match=r"does not exist"):
        load_panel(tmp_path / "nope")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="is a file"):
        load_panel(tmp_path / "x.txt")


def test_no_tables(tmp_path):
    (tmp_path / "README.md").write_text("nothing here")
    with pytest.raises(DataError, match=r"no tables in data directory.*README\.md"):
        load_panel(tmp_path)
    (tmp_path / "symbol=AAA").mkdir()
    with pytest.raises(DataError, match=r"symbol=AAA holds no"):
        load_panel(tmp_path)


def test_no_time_column(tmp_path):
    _write(tmp_path, "parquet", {"AAA": _table("AAA").rename(columns={"ts": "when"})})
    with pytest.raises(DataError, match=r"no time column in .*AAA\.parquet.*'when'.*time_column"):
        load_panel(tmp_path)


def test_numeric_time_column_rejected(tmp_path):
    df = _table("AAA").assign(ts=np.arange(20))
    _write(tmp_path, "parquet", {"AAA": df})
    with pytest.raises(DataError, match=r"time column 'ts' in .*AAA\.parquet holds numbers"):
        load_panel(tmp_path)


def test_duplicate_rows_named(tmp_path):
    df = _table("BBB")
    df = pd.concat([df, df.iloc[[5]]])
    _write(tmp_path, "parquet", {"AAA": _table("AAA"), "BBB": df})
    with pytest.raises(DataError, match=r"1 duplicate \(timestamp, symbol\).*'BBB'.*BBB\.parquet"):
        load_panel(tmp_path)


def test_two_tables_for_one_symbol(tmp_path):
    _write(tmp_path, "parquet", {"AAA": _table("AAA")})
    _write(tmp_path, "csv", {"AAA": _table("AAA")})
    with pytest.raises(DataError, match=r"'AAA' has two tables"):
        load_panel(tmp_path)


@pytest.mark.parametrize("suffix", ["parquet", "csv.gz"])
def test_corrupt_file_named(tmp_path, suffix):
    _write(tmp_path, "parquet", {"AAA": _table("AAA")})
    path = tmp_path / f"BBB.{suffix}"
    if suffix == "parquet":
        path.write_bytes(b"PAR1 this is not parquet")
    else:
        path.write_bytes(gzip.compress(b"ts,x\n2024-01-01,1\n")[:15])  # truncated gzip
    with pytest.raises(DataError, match=rf"cannot read .*BBB\.{suffix.replace('.', '[.]')}"):
        load_panel(tmp_path)
    assert len(load_panel(tmp_path, ["AAA"])) == 20  # unread files do not matter


# ------------------------------------------------------------------ page checksums
def test_a_flipped_byte_in_our_parquet_is_never_read_as_other_values(tmp_path):
    """14 of 30 corrupted files loaded with altered values before: every parquet file the
    library writes has page checksums, verified when read."""
    import pyarrow.parquet as pq

    write_synthetic_data_dir(tmp_path / "d", n_symbols=1, n_timestamps=200, random_state=0)
    (file,) = (tmp_path / "d").rglob("*.parquet")
    meta = pq.ParquetFile(file).metadata
    clean = load_panel(tmp_path / "d")
    original = file.read_bytes()
    chunks = []
    for j in range(meta.num_columns):
        column = meta.row_group(0).column(j)
        start = column.dictionary_page_offset or column.data_page_offset
        chunks.append((start, start + column.total_compressed_size))
    rng = np.random.default_rng(0)
    detected = 0
    for trial in range(30):
        start, end = chunks[trial % len(chunks)]
        data = bytearray(original)
        data[int(rng.integers(start + 40, end))] ^= 0xFF  # inside the pages, past a header
        file.write_bytes(bytes(data))
        try:
            loaded = load_panel(tmp_path / "d")
        except DataError as exc:
            assert str(file) in str(exc)
            detected += 1
            continue
        assert loaded.equals(clean), f"trial {trial}: altered values were loaded silently"
    file.write_bytes(original)
    assert detected >= 28, detected


def test_a_checksum_mismatch_names_the_file_and_what_to_do(tmp_path):
    import pyarrow.parquet as pq

    from intelligent_training.data import write_parquet

    frame = _table("AAA", n=50)
    write_parquet(frame, tmp_path / "AAA.parquet", index=False, compression="none")
    column = pq.ParquetFile(tmp_path / "AAA.parquet").metadata.row_group(0).column(1)
    data = bytearray((tmp_path / "AAA.parquet").read_bytes())
    start = column.dictionary_page_offset or column.data_page_offset
    data[start + column.total_compressed_size - 8] ^= 0x01
    (tmp_path / "AAA.parquet").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"AAA\.parquet is corrupt: a page's checksum .*restore"):
        load_panel(tmp_path)
