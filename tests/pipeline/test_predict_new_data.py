"""Scoring new data with a fitted pipeline: the schema check, the rows scored with their
history, the feature profile and its drift verdict (stub stages; the real families run
end to end in tests/cli/test_cli_predict.py)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from intelligent_training import IntelligentPipeline
from intelligent_training.exceptions import DataError, DriftWarning
from intelligent_training.pipeline._profile import MIN_EFFECTIVE_ROWS, FeatureProfile
from intelligent_training.pipeline._scoring import scored_positions

from ._stubs import StubRanker, StubSelector, StubTrainer, make_xy


@pytest.fixture(scope="module")
def fitted():
    X, Y = make_xy(n_symbols=3, n_timestamps=200)
    pipe = IntelligentPipeline(
        ranker=StubRanker(top_n=2), selector=StubSelector(top_m=2), trainer=StubTrainer()
    ).fit(X, Y)
    return pipe, X, Y


def _panel(n_ts, symbols=("A", "B", "C"), start="2024-01-01"):
    index = pd.MultiIndex.from_product(
        [pd.date_range(start, periods=n_ts, freq="5min"), list(symbols)],
        names=["timestamp", "symbol"],
    )
    return pd.DataFrame({"f": np.arange(len(index), dtype=np.float32)}, index=index)


# ------------------------------------------------------------------- schema
def test_predict_all_has_the_ensemble_of_every_target(fitted):
    pipe, X, _ = fitted
    every = pipe.predict_all(X)
    assert list(every.columns) == [(t, "ensemble") for t in pipe.selected_targets_]
    pd.testing.assert_frame_equal(
        every.xs("ensemble", axis=1, level="family"), pipe.predict(X), check_names=False
    )
    assert every.index.equals(X.index)  # no sequence model: every row is scored


def test_target_columns_of_new_data_are_ignored(fitted):
    pipe, X, Y = fitted
    pd.testing.assert_frame_equal(pipe.predict(X.join(Y)), pipe.predict(X))


def test_one_error_names_missing_extra_and_non_numeric_columns(fitted):
    pipe, X, _ = fitted
    bad = X.drop(columns=["f3"]).assign(f1=X["f1"].astype(str), spread=1.0)
    with pytest.raises(DataError) as info:
        pipe.predict(bad)
    msg = str(info.value)
    assert "lacks the features ['f3']" in msg
    # the strings' dtype as pandas names it: object (pandas 2) or str (pandas 3)
    assert f"'f1' is {bad['f1'].dtype} (trained as float32)" in msg
    assert "not trained on ['spread']" in msg
    assert "\n" not in msg


def test_numeric_width_is_not_a_schema_change(fitted):
    pipe, X, _ = fitted
    wide = X.astype(np.float64)
    pd.testing.assert_frame_equal(pipe.predict(wide), pipe.predict(X))


def test_a_pipeline_fitted_without_a_profile_checks_names_only(fitted):
    pipe, X, _ = fitted
    old = pickle.loads(pickle.dumps(pipe))
    del old.feature_profile_  # as fitted by a version that kept none
    pd.testing.assert_frame_equal(old.predict(X), pipe.predict(X))
    with pytest.raises(DataError, match="lacks the features"):
        old.predict(X.drop(columns=["f0"]))
    assert old.feature_drift(X).empty


# ------------------------------------------------------------ rows scored
def test_without_start_the_first_history_rows_of_each_symbol_are_history():
    X = _panel(10).iloc[1:]  # symbol B and C have 10 rows, A 9 (its first row is missing)
    scored, needed = scored_positions(X, history=3)
    rank = X.groupby(level="symbol").cumcount().to_numpy()
    np.testing.assert_array_equal(scored, np.flatnonzero(rank >= 3))
    np.testing.assert_array_equal(needed, np.arange(len(X)))


def test_start_scores_later_rows_and_needs_only_their_windows():
    X = _panel(20)
    start = X.index.get_level_values("timestamp")[10 * 3]
    scored, needed = scored_positions(X, history=3, start=start)
    ts = X.index.get_level_values("timestamp")
    np.testing.assert_array_equal(scored, np.flatnonzero(ts >= start))
    # the scored rows and the 3 rows of each symbol before start
    np.testing.assert_array_equal(needed, np.flatnonzero(ts >= ts[7 * 3]))


def test_too_little_history_names_the_rows_needed():
    lookbacks = {("fwd_ret_5m", "lstm"): 8}
    with pytest.raises(DataError) as info:
        scored_positions(_panel(7), history=7, lookbacks=lookbacks, where="NEW")
    msg = str(info.value)
    assert "need 7 earlier rows" in msg and "at least 8 rows" in msg
    assert "lstm for 'fwd_ret_5m' has lookback 8" in msg and "'A' (7 rows)" in msg
    X = _panel(20)
    start = X.index.get_level_values("timestamp")[5 * 3]
    with pytest.raises(DataError, match=r"need 7 rows of each symbol before start.*'A' \(5\)"):
        scored_positions(X, history=7, start=start, lookbacks=lookbacks)
    with pytest.raises(DataError, match="no row of X is at or after"):
        scored_positions(X, history=0, start="2030-01-01")
    with pytest.raises(DataError, match="not a timestamp"):
        scored_positions(X, history=0, start="tomorrow-ish")


def test_start_with_a_timezone_is_read_as_utc():
    X = _panel(20)
    naive, _ = scored_positions(X, history=0, start="2024-01-01 00:50")
    aware, _ = scored_positions(X, history=0, start="2024-01-01 01:50+01:00")
    np.testing.assert_array_equal(naive, aware)


# ----------------------------------------------------------------- drift
def _iid(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.standard_normal(n) + shift, "b": rng.uniform(size=n)})


def test_profile_is_small_and_unchanged_data_does_not_drift():
    train = _iid(20_000, 0)
    profile = FeatureProfile.from_frame(train)
    assert len(pickle.dumps(profile)) < 2_000
    table = profile.drift(_iid(2_000, 1))
    assert not table["drifted"].any()
    assert (table["psi"] < 0.02).all()
    assert (table["n_effective"] > 1_900).all()  # iid rows: each counts


def test_a_shifted_feature_drifts_and_the_psi_matches_its_formula():
    train = _iid(20_000, 0)
    profile = FeatureProfile.from_frame(train)
    new = _iid(2_000, 1, shift=1.0)
    table = profile.drift(new)
    assert table.loc["a", "drifted"] and not table.loc["b", "drifted"]
    edges = np.unique(np.quantile(train["a"], np.linspace(0, 1, 11)[1:-1]))
    q = np.bincount(np.searchsorted(edges, train["a"], side="right"), minlength=10) / 20_000
    p = np.bincount(np.searchsorted(edges, new["a"], side="right"), minlength=10) / 2_000
    q, p = np.maximum(q, 1e-4), np.maximum(p, 1e-4)
    assert table.loc["a", "psi"] == pytest.approx(np.sum((p - q) * np.log(p / q)), rel=1e-9)


def test_a_persistent_feature_needs_more_rows_to_drift():
    """An AR(1) excursion of 300 rows is not drift: they weigh like a few iid rows."""
    rng = np.random.default_rng(0)
    phi = 0.97

    def ar1(n):
        x = np.empty(n)
        x[0] = rng.standard_normal()
        for i in range(1, n):
            x[i] = phi * x[i - 1] + np.sqrt(1 - phi**2) * rng.standard_normal()
        return x

    profile = FeatureProfile.from_frame(pd.DataFrame({"a": ar1(50_000)}))
    window = pd.DataFrame({"a": ar1(300)})
    row = profile.drift(window).loc["a"]
    assert row["rho"] > 0.9 and row["n_effective"] < MIN_EFFECTIVE_ROWS
    assert not row["drifted"]
    far = profile.drift(window + 5.0).loc["a"]
    assert far["psi"] > 0.25 and not far["drifted"]  # too few independent rows to tell
    long = pd.DataFrame({"a": ar1(20_000) + 1.0})
    assert profile.drift(long).loc["a", "drifted"]


def test_persistence_is_measured_within_symbols(fitted):
    """Consecutive rows of a panel belong to different symbols: rho pairs a symbol's rows."""
    rng = np.random.default_rng(0)
    n_ts, n_sym, phi = 400, 4, 0.9
    walk = np.empty((n_ts, n_sym))
    walk[0] = rng.standard_normal(n_sym)
    for t in range(1, n_ts):
        walk[t] = phi * walk[t - 1] + np.sqrt(1 - phi**2) * rng.standard_normal(n_sym)
    X = _panel(n_ts, symbols=[f"S{i}" for i in range(n_sym)]).assign(f=walk.ravel())
    profile = FeatureProfile.from_frame(X)
    assert profile.drift(X).loc["f", "rho"] == pytest.approx(phi, abs=0.05)
    pipe, X_fit, _ = fitted
    used = {f for _, feats in pipe.training_groups_.values() for f in feats}
    assert set(pipe.feature_drift(X_fit).index) == used  # the features the models use


def test_predict_warns_once_per_drifted_feature(fitted):
    pipe, X, _ = fitted
    used = sorted({f for _, feats in pipe.training_groups_.values() for f in feats})
    shifted = X.copy()
    shifted[used[0]] += 3.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe.predict(shifted)
        pipe.predict(X)
    drift = [w for w in caught if issubclass(w.category, DriftWarning)]
    assert len(drift) == 1 and repr(used[0]) in str(drift[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DriftWarning)
        pipe.predict(shifted, drift_threshold=None)  # no check
