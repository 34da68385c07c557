"""parse_horizon and resolve_horizons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intelligent_training.data import parse_horizon, resolve_horizons
from intelligent_training.exceptions import ConfigError, DataWarning


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fwd_ret_5m", pd.Timedelta(minutes=5)),
        ("fwd_ret_15min", pd.Timedelta(minutes=15)),
        ("y_up_2h", pd.Timedelta(hours=2)),
        ("target_1d", pd.Timedelta(days=1)),
        ("tgt_vol_3b", 3),
        ("y_will_peak_60m_0.8", pd.Timedelta(minutes=60)),
        ("fwd_ret_30s", pd.Timedelta(seconds=30)),
        ("fwd_ret_1w", pd.Timedelta(weeks=1)),
        ("fwd-ret-10M", pd.Timedelta(minutes=10)),
        ("5m", pd.Timedelta(minutes=5)),
        ("fwd_ret_5m_then_1h", pd.Timedelta(minutes=5)),  # the first token wins
    ],
)
def test_parse_horizon_reads_the_first_token(name, expected):
    result = parse_horizon(name)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "name", ["target_direction", "fwd_ret", "f00", "y_0.8", "v2x_ratio", "fwd_ret_5mx", "m5"]
)
def test_parse_horizon_none_without_token(name):
    assert parse_horizon(name) is None


def test_resolve_horizons_overrides_win_and_default_warns():
    targets = ["fwd_ret_5m", "y_up_15m", "target_direction"]
    with pytest.warns(DataWarning, match="target_direction"):
        result = resolve_horizons(targets, overrides={"y_up_15m": "3b"}, default="30min")
    assert result == {
        "fwd_ret_5m": pd.Timedelta("5min"),
        "y_up_15m": 3,
        "target_direction": pd.Timedelta("30min"),
    }


def test_resolve_horizons_default_none_is_zero_bars():
    with pytest.warns(DataWarning):
        assert resolve_horizons(["y_flag"]) == {"y_flag": 0}


def test_resolve_horizons_accepts_durations_and_bars():
    result = resolve_horizons(
        ["a_5m", "b_5m", "c_5m"],
        overrides={"a_5m": 7, "b_5m": pd.Timedelta("1h"), "c_5m": "1h30min"},
    )
    assert result == {"a_5m": 7, "b_5m": pd.Timedelta("1h"), "c_5m": pd.Timedelta("90min")}


@pytest.mark.parametrize("bad", ["soon", -1, "-5min", 1.5, True])
def test_resolve_horizons_rejects_bad_override(bad):
    with pytest.raises(ConfigError, match="fwd_ret_5m"):
        resolve_horizons(["fwd_ret_5m"], overrides={"fwd_ret_5m": bad})


_UNIT_CASES = {
    "s": pd.Timedelta(seconds=1),
    "min": pd.Timedelta(minutes=1),
    "m": pd.Timedelta(minutes=1),
    "h": pd.Timedelta(hours=1),
    "d": pd.Timedelta(days=1),
    "b": 1,
}


@given(
    amount=st.integers(min_value=0, max_value=100_000),
    unit=st.sampled_from(sorted(_UNIT_CASES)),
    prefix=st.sampled_from(["fwd_ret_", "y_up_", "tgt_", "target_x_"]),
    suffix=st.sampled_from(["", "_0.8", "_max", "-adj"]),
)
def test_parse_horizon_property(amount, unit, prefix, suffix):
    result = parse_horizon(f"{prefix}{amount}{unit}{suffix}")
    assert result == amount * _UNIT_CASES[unit]


def test_grid_step_and_horizon_in_bars():
    from intelligent_training.data import grid_step, horizon_in_bars

    grid = pd.date_range("2024-01-01", periods=6, freq="5min").to_numpy()
    shuffled = np.concatenate([grid[::-1], grid])  # any order, repeated timestamps
    step = grid_step(shuffled)
    assert step == pd.Timedelta("5min")
    assert horizon_in_bars("15min", step) == 3
    assert horizon_in_bars(pd.Timedelta("16min"), step) == 4  # rounded up
    assert horizon_in_bars(7, None) == 7  # bars stay bars
    assert horizon_in_bars(None, step) == 0
    assert horizon_in_bars("15min", None) == 0
    assert grid_step(np.arange(5)) is None  # not datetimes
    assert grid_step(grid[:1]) is None
