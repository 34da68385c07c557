"""Where timestamps come from: groups, the timestamp level, a DatetimeIndex, else bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intelligent_training.exceptions import DataWarning, SplitError
from intelligent_training.model_selection import PurgedTimeSeriesSplit, get_timestamps

TIMES = pd.date_range("2024-03-01", periods=4, freq="h")


def panel(times: pd.DatetimeIndex = TIMES, symbols: tuple[str, ...] = ("A", "B")) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([times, list(symbols)], names=["timestamp", "symbol"])
    return pd.DataFrame({"f": np.arange(len(index), dtype=float)}, index=index)


def test_timestamp_level_of_panel() -> None:
    X = panel()
    expected = X.index.get_level_values("timestamp").to_numpy()
    assert np.array_equal(get_timestamps(X), expected)


def test_timestamp_level_in_any_position_and_unsorted_levels() -> None:
    X = panel().swaplevel().sort_index()  # ("symbol", "timestamp"), rows not time-sorted
    expected = X.index.get_level_values("timestamp").to_numpy()
    assert np.array_equal(get_timestamps(X), expected)
    # Levels stored in descending order (codes then do not follow time order).
    index = pd.MultiIndex(
        levels=[TIMES[::-1], ["A"]], codes=[[3, 2, 1, 0], [0, 0, 0, 0]], names=["timestamp", "s"]
    )
    Xd = pd.DataFrame({"f": range(4)}, index=index)
    assert np.array_equal(get_timestamps(Xd), TIMES.to_numpy())
    folds = list(PurgedTimeSeriesSplit(1, test_size=1).split(Xd))
    assert [f.tolist() for f in folds[0]] == [[0, 1, 2], [3]]


def test_groups_take_precedence_and_may_be_bars() -> None:
    X = panel()
    groups = np.arange(len(X)) // 2
    assert np.array_equal(get_timestamps(X, groups), groups)
    assert np.array_equal(get_timestamps(None, groups), groups)


def test_datetime_index_named_index_and_plain_arrays() -> None:
    series = pd.Series(range(4), index=TIMES)
    assert np.array_equal(get_timestamps(series), TIMES.to_numpy())
    named = pd.DataFrame({"f": range(4)}, index=pd.Index([5, 5, 7, 9], name="timestamp"))
    assert np.array_equal(get_timestamps(named), [5, 5, 7, 9])
    with pytest.warns(DataWarning, match="no timestamps"):  # rows become bars, said aloud
        assert np.array_equal(get_timestamps(np.zeros((3, 2))), [0, 1, 2])
    with pytest.warns(DataWarning, match="not .values"):
        assert np.array_equal(get_timestamps([[1], [2]]), [0, 1])


def test_tz_aware_becomes_naive_utc() -> None:
    local = TIMES.tz_localize("US/Eastern")
    expected = local.tz_convert("UTC").tz_localize(None).to_numpy()
    assert np.array_equal(get_timestamps(panel(local)), np.repeat(expected, 2))
    assert np.array_equal(get_timestamps(None, pd.Series(local)), expected)
    assert np.array_equal(get_timestamps(None, np.array(list(local), dtype=object)), expected)


def test_float_bars_are_accepted_when_integral() -> None:
    assert get_timestamps(None, np.array([1.0, 2.0])).dtype == np.int64


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (np.array(["AAPL", "MSFT", "AAPL"]), "did you pass symbols"),
        (np.array([1.0, np.nan, 2.0]), "not all finite"),
        (np.array([0.5, 1.0, 2.0]), "not all finite integers"),
        (np.array(["2024-01-01", "NaT", "2024-01-02"], dtype="datetime64[ns]"), "NaT"),
        (np.zeros((3, 2)), "must be 1-D"),
        (np.array([True, False, True]), "dtype bool"),
    ],
)
def test_bad_groups(groups: np.ndarray, match: str) -> None:
    with pytest.raises(SplitError, match=match):
        get_timestamps(np.zeros((3, 1)), groups)


def test_length_mismatch_and_missing_inputs() -> None:
    with pytest.raises(SplitError, match="groups has 2 entries but X has 3 rows"):
        get_timestamps(np.zeros((3, 1)), [1, 2])
    with pytest.raises(SplitError, match="X is None and groups is None"):
        get_timestamps(None)


def test_non_time_index_level_is_an_error() -> None:
    index = pd.MultiIndex.from_product([["a", "b"], ["A"]], names=["timestamp", "symbol"])
    with pytest.raises(SplitError, match="index level of X have dtype object"):
        get_timestamps(pd.DataFrame({"f": range(2)}, index=index))


def test_missing_timestamp_in_index_level_is_an_error() -> None:
    index = pd.MultiIndex.from_arrays(
        [pd.DatetimeIndex(["2024-01-01", None, "2024-01-02"]), ["A", "A", "A"]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame({"f": range(3)}, index=index)
    with pytest.raises(SplitError, match="NaT"):
        get_timestamps(X)
    with pytest.raises(SplitError, match="NaT"):
        PurgedTimeSeriesSplit(1).split(X)
    with pytest.raises(SplitError, match="NaT"):
        PurgedTimeSeriesSplit(1).split(X.iloc[[1, 0, 2]])
