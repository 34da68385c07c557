"""The target contract: horizons, tasks, class codes, purged folds and fold bases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligent_training.evaluation import resolve_cv, resolve_targets
from intelligent_training.exceptions import ConfigError, DataError, DataWarning
from intelligent_training.model_selection import (
    PurgedTimeSeriesSplit,
    get_timestamps,
    purged_folds,
)


def _panel(n_ts: int = 120, symbols: tuple[str, ...] = ("A", "B")) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n_ts, freq="5min"), list(symbols)],
        names=["timestamp", "symbol"],
    )
    rng = np.random.default_rng(0)
    return pd.DataFrame({"f": rng.standard_normal(len(index))}, index=index)


def _resolve(X, Y, **kwargs):
    cv = resolve_cv(kwargs.pop("cv", 3), default_n_splits=3, owner="test")
    return resolve_targets(Y, X, timestamps=get_timestamps(X), cv=cv, owner="test", **kwargs)


def test_horizon_override_then_name_then_default():
    X = _panel()
    n = len(X)
    Y = pd.DataFrame(
        {"fwd_ret_15m": np.arange(n, dtype=float), "tgt_a": 1.0, "tgt_b_5m": 2.0}, index=X.index
    )
    with pytest.warns(DataWarning, match="tgt_a"):
        resolved = _resolve(X, Y, horizons={"tgt_b_5m": "20min"}, default_horizon="10min")
    assert resolved["fwd_ret_15m"].horizon == pd.Timedelta("15min")
    assert resolved["fwd_ret_15m"].horizon_bars == 3
    assert resolved["tgt_a"].horizon == pd.Timedelta("10min")
    assert resolved["tgt_a"].horizon_bars == 2
    assert resolved["tgt_b_5m"].horizon_bars == 4
    # each target's splitter is the base one cloned with its horizon
    assert resolved["tgt_b_5m"].splitter.horizon == pd.Timedelta("20min")
    assert resolved.cv.horizon == 0
    # an unnamed target has horizon 0, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unnamed = _resolve(X, Y[["tgt_a"]], unnamed=["tgt_a"])
    assert unnamed["tgt_a"].horizon_bars == 0


def test_purge_follows_the_horizon_in_bars():
    X = _panel(n_ts=200)
    Y = pd.DataFrame({"fwd_ret_5m": 1.0, "fwd_ret_60m": 1.0}, index=X.index)
    Y.iloc[::7, 0] = np.nan  # the constant is fine here: only the folds matter
    resolved = _resolve(X, Y)
    short, long = resolved["fwd_ret_5m"], resolved["fwd_ret_60m"]
    ts = get_timestamps(X)
    for fs, fl in zip(short.folds, long.folds):
        assert fs.group == fl.group  # same test block, one shared fold base
        test_start = ts[fl.test].min()
        assert ts[fl.train].max() + pd.Timedelta("60min") < test_start
        assert ts[fs.train].max() + pd.Timedelta("5min") < test_start
        assert not np.isnan(short.labels[fs.train]).any()
        assert not np.isnan(short.labels[fs.test]).any()
        base = resolved.bases[fs.group]
        assert np.isin(fs.train, base).all() and np.isin(fl.train, base).all()
        assert ts[base].max() < test_start  # bins come from rows before the test block


def test_classes_are_encoded_as_codes_and_keep_their_dtype():
    X = _panel(n_ts=60)
    y = pd.Series(np.tile([-1, 1, 1], len(X) // 3), index=X.index, name="y_sign_5m")
    spec = _resolve(X, y.to_frame())["y_sign_5m"]
    assert spec.task == "binary"
    assert spec.classes.tolist() == [-1, 1] and spec.classes.dtype == np.int64
    np.testing.assert_array_equal(spec.labels, (y.to_numpy() == 1).astype(float))
    rows = np.arange(6)
    np.testing.assert_array_equal(spec.fit_labels(rows), y.to_numpy()[rows])


def test_joint_folds_use_the_longest_horizon_and_any_label():
    X = _panel(n_ts=200)
    Y = pd.DataFrame({"fwd_ret_5m": 1.0, "fwd_ret_60m": 1.0}, index=X.index)
    Y.iloc[:10, 0] = np.nan
    Y.iloc[5:20, 1] = np.nan
    resolved = _resolve(X, Y)
    horizon, bars, folds = resolved.joint_folds(["fwd_ret_5m", "fwd_ret_60m"])
    assert horizon == pd.Timedelta("60min") and bars == 12
    for fold, single in zip(folds, resolved["fwd_ret_60m"].folds):
        assert set(single.train) <= set(fold.train)
        assert not set(range(5, 10)) & set(fold.train)  # rows with no label at all


def test_duration_horizon_needs_timestamps():
    X = np.zeros((100, 2))
    Y = pd.DataFrame({"fwd_ret_5m": np.arange(100.0)})
    cv = resolve_cv(None, default_n_splits=3, owner="test")
    with pytest.raises(DataError, match="no timestamps"):
        resolve_targets(Y, X, timestamps=np.arange(100), cv=cv, owner="test")
    spec = resolve_targets(
        Y, X, timestamps=np.arange(100), cv=cv, horizons={"fwd_ret_5m": 2}, owner="test"
    )["fwd_ret_5m"]
    assert spec.horizon_bars == 2


@pytest.mark.parametrize(("cv", "match"), [("five", "cv must"), (1, "at least 2"), (True, "cv")])
def test_bad_cv(cv, match):
    with pytest.raises(ConfigError, match=match):
        resolve_cv(cv, default_n_splits=3, owner="Stage")


def test_inf_and_non_numeric_targets_are_data_errors():
    X = _panel(n_ts=30)
    with pytest.raises(DataError, match="infinity"):
        _resolve(X, pd.DataFrame({"fwd_ret_5m": np.inf}, index=X.index))
    constant = pd.Series("up", index=X.index, name="y_txt_5m")
    with pytest.raises(DataError, match="not numeric"):
        _resolve(X, constant.to_frame())
    words = pd.Series(np.tile(["down", "flat", "up"], len(X) // 3), index=X.index, name="y_txt_5m")
    spec = _resolve(X, words.to_frame())["y_txt_5m"]  # text labels are classes
    assert spec.task == "multiclass" and spec.classes.tolist() == ["down", "flat", "up"]


@settings(max_examples=40, deadline=None)
@given(
    horizon=st.integers(0, 6),
    n_splits=st.integers(2, 4),
    missing=st.lists(st.booleans(), min_size=80, max_size=80),
)
def test_purged_folds_is_the_splitter_minus_unlabelled_rows(horizon, n_splits, missing):
    X = _panel(n_ts=40)
    labelled = ~np.asarray(missing)
    cv = PurgedTimeSeriesSplit(n_splits)
    got = purged_folds(cv, X, horizon=horizon, labelled=labelled)
    want = PurgedTimeSeriesSplit(n_splits, horizon=horizon).split(X)
    for (train, test), (tr, te) in zip(got, want):
        np.testing.assert_array_equal(train, tr[labelled[tr]])
        np.testing.assert_array_equal(test, te[labelled[te]])
    assert cv.horizon == 0  # the caller's splitter is untouched
