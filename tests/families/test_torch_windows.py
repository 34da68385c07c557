"""Lookback windows of the sequence families: per symbol, past only, padded explicitly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligent_training.exceptions import DataError
from intelligent_training.families.torch import lookback_indices


def _panel(n_ts: int, symbols: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-01-01", periods=n_ts, freq="5min")
    idx = pd.MultiIndex.from_product([ts, symbols], names=["timestamp", "symbol"])
    return pd.DataFrame({"f": rng.normal(size=len(idx))}, index=idx)


def _check_windows(X: pd.DataFrame, windows: np.ndarray, lookback: int) -> None:
    ts = X.index.get_level_values("timestamp").to_numpy()
    sym = X.index.get_level_values("symbol").to_numpy()
    assert windows.shape == (len(X), lookback)
    assert np.array_equal(windows[:, -1], np.arange(len(X)))  # the row itself is last
    real = windows >= 0
    # padding is only on the left: once a step is real, every later step is real
    assert np.all(np.diff(real.astype(int), axis=1) >= 0)
    rows = np.broadcast_to(np.arange(len(X))[:, None], windows.shape)
    src = windows[real]
    # never crosses symbols
    assert np.all(sym[src] == sym[rows[real]])
    # never contains the future, strictly increasing in time along the window
    assert np.all(ts[src] <= ts[rows[real]])
    for k in range(lookback - 1):
        both = real[:, k] & real[:, k + 1]
        assert np.all(ts[windows[both, k]] < ts[windows[both, k + 1]])
    # full history wherever it exists: the count of real steps is min(L, position+1)
    position = (
        X.groupby(level="symbol").cumcount().to_numpy() if X.index.is_monotonic_increasing else None
    )
    if position is not None:
        assert np.array_equal(real.sum(axis=1), np.minimum(lookback, position + 1))


def test_doc_example_two_symbols() -> None:
    X = _panel(3, ["A", "B"])
    expected = np.array([[-1, 0], [-1, 1], [0, 2], [1, 3], [2, 4], [3, 5]])
    assert np.array_equal(lookback_indices(X, 2), expected)


def test_windows_stay_in_symbol_and_past() -> None:
    X = _panel(40, ["A", "B", "C"])
    for lookback in (1, 4, 10):
        _check_windows(X, lookback_indices(X, lookback), lookback)


def test_padding_count_for_first_rows() -> None:
    X = _panel(10, ["A", "B"])
    w = lookback_indices(X, 4)
    a_rows = np.flatnonzero(X.index.get_level_values("symbol") == "A")
    # first row of A: 3 padded steps; second: 2; fourth onwards: none
    assert list((w[a_rows[:5]] < 0).sum(axis=1)) == [3, 2, 1, 0, 0]


def test_unsorted_panel_rows_give_the_same_windows() -> None:
    X = _panel(30, ["A", "B", "C"])
    w_sorted = lookback_indices(X, 5)
    perm = np.random.default_rng(1).permutation(len(X))
    Xs = X.iloc[perm]
    w_shuffled = lookback_indices(Xs, 5)
    _check_windows(Xs, w_shuffled, 5)
    # map the shuffled windows back to original positions: identical windows
    mapped = np.where(w_shuffled >= 0, perm[np.clip(w_shuffled, 0, None)], -1)
    inverse = np.argsort(perm)
    assert np.array_equal(mapped[inverse], w_sorted)


def test_ragged_panel_symbols_with_different_spans() -> None:
    X = _panel(20, ["A", "B"])
    sym = X.index.get_level_values("symbol")
    ts = X.index.get_level_values("timestamp")
    X = X[~((sym == "B") & (ts < ts[10]))]  # B starts later
    w = lookback_indices(X, 6)
    _check_windows(X, w, 6)
    b_first = np.flatnonzero(X.index.get_level_values("symbol") == "B")[0]
    assert (w[b_first] < 0).sum() == 5


def test_non_panel_input_is_one_sequence() -> None:
    X = np.arange(12.0).reshape(6, 2)
    w = lookback_indices(X, 3)
    assert np.array_equal(w[0], [-1, -1, 0])
    assert np.array_equal(w[5], [3, 4, 5])


def test_datetime_index_orders_by_time() -> None:
    idx = pd.DatetimeIndex(["2024-01-03", "2024-01-01", "2024-01-02"])
    X = pd.DataFrame({"f": [3.0, 1.0, 2.0]}, index=idx)
    w = lookback_indices(X, 3)
    assert np.array_equal(w[0], [1, 2, 0])  # row 0 is the latest: history 01, 02
    assert np.array_equal(w[1], [-1, -1, 1])


def test_duplicate_rows_are_an_error() -> None:
    X = _panel(5, ["A", "B"])
    X = pd.concat([X, X.iloc[:1]])
    with pytest.raises(DataError, match="duplicate"):
        lookback_indices(X, 3)


def test_bad_lookback_is_an_error() -> None:
    with pytest.raises(DataError, match="lookback"):
        lookback_indices(_panel(5, ["A"]), 0)


@settings(max_examples=30, deadline=None)
@given(
    n_ts=st.integers(1, 25),
    n_sym=st.integers(1, 4),
    lookback=st.integers(1, 8),
    drop=st.floats(0.0, 0.5),
    seed=st.integers(0, 1000),
)
def test_property_windows_never_leak(
    n_ts: int, n_sym: int, lookback: int, drop: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    X = _panel(n_ts, [f"S{i}" for i in range(n_sym)], seed)
    X = X[rng.random(len(X)) >= drop]  # ragged: rows missing at random
    if len(X) == 0:
        return
    X = X.iloc[rng.permutation(len(X))]  # and unsorted
    _check_windows(X, lookback_indices(X, lookback), lookback)
    # window length equals the number of earlier rows of the symbol (+1), capped at L
    ts = X.index.get_level_values("timestamp").to_numpy()
    sym = X.index.get_level_values("symbol").to_numpy()
    earlier = (sym[:, None] == sym[None, :]) & (ts[None, :] <= ts[:, None])
    real = (lookback_indices(X, lookback) >= 0).sum(axis=1)
    assert np.array_equal(real, np.minimum(lookback, earlier.sum(axis=1)))


def test_gather_windows_zero_pads_and_adds_mask() -> None:
    torch = pytest.importorskip("torch")
    from intelligent_training.families.torch._windows import gather_windows

    X = _panel(4, ["A", "B"])
    w = lookback_indices(X, 3)
    feats = torch.arange(8, dtype=torch.float32).reshape(8, 1) + 1.0  # row i -> value i+1
    out = gather_windows(feats, torch.as_tensor(w)).numpy()
    assert out.shape == (8, 3, 2)
    mask = out[..., 1]
    assert np.array_equal(mask, (w >= 0).astype(np.float32))
    assert np.all(out[..., 0][w < 0] == 0.0)
    assert np.array_equal(out[..., 0][w >= 0], w[w >= 0] + 1.0)
