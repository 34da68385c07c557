"""max_samples_per_symbol: the screening stages see the most recent rows, whole timestamps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligent_training import IntelligentPipeline
from intelligent_training.data import recent_rows
from intelligent_training.exceptions import DataError, ParameterError

from ._stubs import StubRanker, StubSelector, StubTrainer, make_xy


def _oracle(ts: np.ndarray, sym: np.ndarray, n: int) -> np.ndarray:
    """The earliest cut that leaves no symbol more than ``n`` rows at or after it."""
    for cut in np.unique(ts):
        kept = ts >= cut
        if all((kept & (sym == s)).sum() <= n for s in np.unique(sym)):
            return kept
    raise AssertionError("unreachable: the last timestamp always qualifies")


@st.composite
def _panels(draw):
    n_symbols = draw(st.integers(1, 4))
    rows = []
    for s in range(n_symbols):
        start = draw(st.integers(0, 20))
        stop = draw(st.integers(start + 1, 30))
        rows += [(t, f"S{s}") for t in range(start, stop)]
    index = pd.MultiIndex.from_tuples(sorted(rows), names=["timestamp", "symbol"]).set_levels(
        pd.date_range("2024-01-01", periods=31, freq="h")[:31], level=0, verify_integrity=False
    )
    return index, draw(st.integers(1, 35))


@settings(max_examples=60, deadline=None)
@given(_panels())
def test_recent_rows_match_the_oracle(case):
    index, n = case
    ts = np.asarray(index.codes[0])
    sym = np.asarray(index.codes[1])
    mask = recent_rows(index, n)
    np.testing.assert_array_equal(mask, _oracle(ts, sym, n))
    for s in np.unique(sym):
        assert (mask & (sym == s)).sum() <= n
    kept_ts = set(ts[mask])
    assert all(mask[ts == t].all() for t in kept_ts)  # whole timestamps


def test_recent_rows_rejects_bad_limits():
    index = make_xy(n_symbols=2, n_timestamps=5)[0].index
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DataError, match="positive integer"):
            recent_rows(index, bad)


class _SeenRanker(StubRanker):
    def fit(self, X, Y):
        self.seen_ = X.index
        return super().fit(X, Y)


class _SeenSelector(StubSelector):
    def fit(self, X, y):
        self.seen_ = X.index
        return super().fit(X, y)


class _SeenTrainer(StubTrainer):
    def fit(self, X, Y):
        self.seen_ = X.index
        return super().fit(X, Y)


def _per_symbol(index):
    return index.get_level_values("symbol").value_counts()


@pytest.mark.parametrize(
    ("limit", "rank_max", "select_max"),
    [(40, 40, 40), ({"ranking": 40}, 40, None), ({"selection": 25}, None, 25)],
)
def test_screening_stages_see_at_most_n_recent_rows_and_training_sees_all(
    limit, rank_max, select_max
):
    X, Y = make_xy(n_symbols=3, n_timestamps=200)
    pipe = IntelligentPipeline(
        _SeenRanker(), _SeenSelector(), _SeenTrainer(), max_samples_per_symbol=limit
    ).fit(X, Y)
    last = X.index.get_level_values("timestamp").max()
    for seen, cap in (
        (pipe.ranker_.seen_, rank_max),
        (pipe.selectors_["fwd_ret_5m"].seen_, select_max),
    ):
        if cap is None:
            assert len(seen) == len(X)
            continue
        assert (_per_symbol(seen) == cap).all()
        assert seen.get_level_values("timestamp").max() == last  # the most recent rows
    assert len(pipe.trainers_["fwd_ret_5m"].seen_) == len(X)


@pytest.mark.parametrize("limit", [{"rank": 10}, {"ranking": 0}, 0, 2.5, True])
def test_a_bad_limit_or_stage_name_is_a_parameter_error(limit):
    X, Y = make_xy(n_symbols=2, n_timestamps=50)
    pipe = IntelligentPipeline(
        StubRanker(), StubSelector(), StubTrainer(), max_samples_per_symbol=limit
    )
    with pytest.raises(
        ParameterError, match=r"max_samples_per_symbol.*IntelligentPipeline.*'ranking'"
    ):
        pipe.fit(X, Y)
