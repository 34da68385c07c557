"""fingerprint: equal contents give equal hashes; any change to values/labels/dtypes differs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from intelligent_training.cache import fingerprint


def _frame() -> pd.DataFrame:
    idx = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=50, freq="5min"), ["A", "B"]],
        names=["timestamp", "symbol"],
    )
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(100, 3)).astype("float32"), idx, ["a", "b", "c"])


def test_equal_contents_equal_hash():
    df = _frame()
    assert fingerprint(df) == fingerprint(df.copy())
    assert len(fingerprint(df)) == 32


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.iloc.__setitem__((3, 1), 9.0),
        lambda d: d.rename(columns={"a": "z"}, inplace=True),
        lambda d: d.__setitem__("a", d["a"].astype("float64")),
        lambda d: d.index.set_levels(["A", "C"], level="symbol"),
    ],
)
def test_changes_change_the_hash(change):
    df = _frame()
    before = fingerprint(df)
    changed = df.copy()
    result = change(changed)
    if isinstance(result, pd.MultiIndex):
        changed.index = result
    assert fingerprint(changed) != before


def test_other_objects():
    assert fingerprint([1, "a"], {"k": 2}) == fingerprint([1, "a"], {"k": 2})
    assert fingerprint([1, "a"]) != fingerprint([1, "b"])
    assert fingerprint(np.arange(4)) != fingerprint(np.arange(4).reshape(2, 2))
    s = pd.Series(["x", "y"], name="s")
    assert fingerprint(s) == fingerprint(s.copy()) != fingerprint(s.str.upper())
    assert fingerprint(object) == fingerprint(object)


def test_is_fast():
    arr = np.zeros(25_000_000, dtype="float32")  # 100 MB
    start = time.perf_counter()
    fingerprint(arr)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"100 MB took {elapsed:.2f}s"


@pytest.mark.parametrize("chunk_bytes", [1, 64, 1 << 20])
def test_column_major_arrays_hash_as_their_c_ordered_copy(monkeypatch, chunk_bytes):
    # A DataFrame's block is column-major: it is hashed a few rows at a time (no copy of
    # the whole array), and the digest is the one of the same values in C order.
    import intelligent_training.cache._fingerprint as fp

    monkeypatch.setattr(fp, "_CHUNK_BYTES", chunk_bytes)
    values = np.asfortranarray(np.random.default_rng(1).normal(size=(101, 7)).astype(np.float32))
    assert not values.flags["C_CONTIGUOUS"]
    c_ordered = np.ascontiguousarray(values)
    assert fingerprint(values) == fingerprint(c_ordered)
    assert fingerprint(values[::3]) == fingerprint(np.ascontiguousarray(values[::3]))
    changed = values.copy(order="F")
    changed[100, 6] += 1.0  # the last chunk counts
    assert fingerprint(changed) != fingerprint(values)
