"""TargetRanker on the synthetic panel with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.evaluation._fast import FoldBins
from intelligent_training.exceptions import ConfigError, DataError, LeakageWarning
from intelligent_training.model_selection import PurgedTimeSeriesSplit
from intelligent_training.ranking import TargetRanker

FAST = {"lightgbm": {"n_estimators": 100}, "xgboost": {"n_estimators": 100}}
LGB_ONLY = {"lightgbm": {"n_estimators": 40}}


def _xy(panel, truth):
    return panel[truth.features], panel[truth.targets]


@pytest.fixture(scope="module")
def synthetic():
    panel, truth = make_synthetic_panel(n_symbols=6, n_timestamps=1000, random_state=0)
    X, Y = _xy(panel, truth)
    return X, Y, truth


@pytest.fixture(scope="module")
def small():
    panel, truth = make_synthetic_panel(n_symbols=3, n_timestamps=600, random_state=5)
    X, Y = _xy(panel, truth)
    return X, Y, truth


@pytest.fixture(scope="module")
def fitted(synthetic):
    X, Y, truth = synthetic
    ranker = TargetRanker(families=FAST, top_n=3, random_state=0, n_jobs=2)
    return ranker.fit(X, Y), truth


def test_recovers_designed_order_and_puts_noise_last(fitted):
    ranker, truth = fitted
    rk = ranker.rankings_
    assert list(rk.index) == [*truth.target_order, *truth.noise_targets] or (
        set(rk.index[-len(truth.noise_targets) :]) == set(truth.noise_targets)
    )
    scores = rk.loc[truth.target_order, "score"].to_numpy()
    designed = [truth.signal_corr[t] for t in truth.target_order]
    assert spearmanr(scores, designed).statistic >= 0.9
    # noise targets last, and not better than the naive baseline by much
    assert set(rk.index[-2:]) == set(truth.noise_targets)
    assert (rk.loc[truth.noise_targets, "score"] < 0.1).all()
    assert ranker.selected_targets_ == truth.target_order[:3]
    assert rk["rank"].tolist() == list(range(1, len(rk) + 1))


def test_rankings_columns_and_oof(fitted, synthetic):
    ranker, truth = fitted
    X, Y, _ = synthetic
    rk = ranker.rankings_
    for col in (
        "score",
        "rank",
        "task",
        "horizon",
        "n_rows",
        "fold_scores",
        "eligible",
        "reason",
        "leakage_flag",
        "leakage_reason",
        "lightgbm_r2",
        "xgboost_auc",
        "lightgbm_t_stat",
        "lightgbm_p_value",
        "t_stat",
        "p_value",
        "q_value",
        "significant",
        "stopped_after_folds",
        "lightgbm_fold0",
        "xgboost_score",
    ):
        assert col in rk.columns, col
    assert "lightgbm_ic_tstat" not in rk.columns  # one t-statistic in the table: t_stat
    assert rk.loc["y_up_15m", "task"] == "binary"
    assert np.isfinite(rk.loc["y_up_15m", "lightgbm_auc"])
    assert rk.loc["fwd_ret_60m", "horizon"] == pd.Timedelta("60min")
    assert len(rk.loc["fwd_ret_5m", "fold_scores"]) == 3
    oof = ranker.oof_predictions_["fwd_ret_5m"]
    assert list(oof.columns) == ["lightgbm", "xgboost"]
    assert oof.index.isin(X.index).all()
    # out-of-fold predictions correlate with the target as the score says
    corr = np.corrcoef(oof["lightgbm"], Y.loc[oof.index, "fwd_ret_5m"])[0, 1]
    assert corr == pytest.approx(np.sqrt(max(rk.loc["fwd_ret_5m", "lightgbm_r2"], 0)), abs=0.05)
    proba = ranker.oof_predictions_["y_up_15m"]["lightgbm"]
    assert proba.between(0, 1).all()
    # transform keeps the selected targets
    out = ranker.transform(Y)
    assert list(out.columns) == ranker.selected_targets_
    assert list(ranker.get_feature_names_out()) == ranker.selected_targets_
    with pytest.raises(DataError, match="lacks the selected targets"):
        ranker.transform(Y.drop(columns=ranker.selected_targets_[0]))


def test_leaky_feature_is_flagged_and_not_selected():
    panel, truth = make_synthetic_panel(n_symbols=3, n_timestamps=600, leaky=True, random_state=1)
    X, Y = _xy(panel, truth)
    ranker = TargetRanker(families=LGB_ONLY, random_state=0)
    with pytest.warns(LeakageWarning, match=truth.leaky_target):
        ranker.fit(X, Y)
    rk = ranker.rankings_
    assert rk.loc[truth.leaky_target, "leakage_flag"]
    assert truth.leaky_feature in rk.loc[truth.leaky_target, "leakage_reason"]
    assert truth.leaky_target not in ranker.selected_targets_
    assert not rk.drop(index=truth.leaky_target)["leakage_flag"].any()


def test_score_threshold_flags_leakage_without_a_single_feature(small):
    X, Y, truth = small
    sub = Y[["fwd_ret_5m", "fwd_ret_30m"]]
    ranker = TargetRanker(families=LGB_ONLY, leakage_score=0.5, random_state=0)
    with pytest.warns(LeakageWarning, match="implausibly high"):
        ranker.fit(X, sub)
    assert ranker.rankings_.loc["fwd_ret_5m", "leakage_flag"]
    assert not ranker.rankings_.loc["fwd_ret_30m", "leakage_flag"]


def test_deterministic_with_random_state():
    panel, truth = make_synthetic_panel(n_symbols=3, n_timestamps=500, random_state=2)
    X, Y = _xy(panel, truth)
    fam = {"lightgbm": {"n_estimators": 30, "subsample": 0.7}, "xgboost": {"n_estimators": 30}}
    a = TargetRanker(families=fam, random_state=3).fit(X, Y)
    b = TargetRanker(families=fam, random_state=3, n_jobs=2).fit(X, Y)
    pd.testing.assert_frame_equal(a.rankings_, b.rankings_)
    c = TargetRanker(families=fam, random_state=4).fit(X, Y)
    assert not np.allclose(a.rankings_["lightgbm_score"], c.rankings_["lightgbm_score"])


def test_eligibility_reasons_and_per_target_nan_rows():
    panel, truth = make_synthetic_panel(n_symbols=3, n_timestamps=400, random_state=3)
    X = panel[truth.features]
    rng = np.random.default_rng(0)
    good = panel["fwd_ret_5m"].copy()
    good.iloc[: len(good) // 4] = np.nan  # NaN rows dropped for this target only
    Y = pd.DataFrame(
        {
            "fwd_ret_5m": good,
            "y_const_5m": 1.0,
            "fwd_sparse_5m": np.where(rng.random(len(X)) < 0.02, 1.0, np.nan),
            "y_rare_5m": (np.arange(len(X)) < 3).astype(float),
            "fwd_ret_15m": panel["fwd_ret_30m"],
        },
        index=X.index,
    )
    ranker = TargetRanker(families=LGB_ONLY, random_state=0).fit(X, Y)
    rk = ranker.rankings_
    assert rk.loc["y_const_5m", "reason"].startswith("constant target")
    assert rk.loc["fwd_sparse_5m", "reason"].startswith("too few rows")
    assert rk.loc["y_rare_5m", "reason"].startswith("one class")
    assert not rk.loc[["y_const_5m", "fwd_sparse_5m", "y_rare_5m"], "eligible"].any()
    assert rk.loc[["fwd_ret_5m", "fwd_ret_15m"], "eligible"].all()
    assert rk.loc["fwd_ret_5m", "n_rows"] == len(X) - len(X) // 4
    assert rk.loc["fwd_ret_15m", "n_rows"] == len(X)
    # ineligible targets come last and are never selected
    assert set(rk.index[:2]) == {"fwd_ret_5m", "fwd_ret_15m"}
    assert set(ranker.selected_targets_) <= {"fwd_ret_5m", "fwd_ret_15m"}
    oof = ranker.oof_predictions_["fwd_ret_5m"]
    assert Y.loc[oof.index, "fwd_ret_5m"].notna().all()


class SpySplit(PurgedTimeSeriesSplit):
    """Records the horizon and fold sizes of every split call."""

    calls: list[tuple[object, list[int]]] = []

    def split(self, X, y=None, groups=None):
        folds = list(super().split(X, y, groups))
        SpySplit.calls.append((self.horizon, [len(tr) for tr, _ in folds]))
        yield from folds


def test_splitter_cloned_with_each_target_horizon(small):
    X, Y, truth = small
    SpySplit.calls = []
    cv = SpySplit(n_splits=2)
    ranker = TargetRanker(families=LGB_ONLY, cv=cv, random_state=0)
    ranker.fit(X, Y[["fwd_ret_5m", "fwd_ret_60m"]])
    assert cv.horizon == 0  # the user's splitter is untouched
    horizons = {h: sizes for h, sizes in SpySplit.calls}
    # once per distinct horizon, plus once unpurged (horizon 0) for the shared fold bases
    assert set(horizons) == {0, pd.Timedelta("5min"), pd.Timedelta("60min")}
    n_sym = X.index.get_level_values("symbol").nunique()
    for short, long in zip(horizons[pd.Timedelta("5min")], horizons[pd.Timedelta("60min")]):
        assert short - long == 11 * n_sym  # 60m purges 11 more bars than 5m
    # overrides win over the name
    SpySplit.calls = []
    TargetRanker(families=LGB_ONLY, cv=cv, horizons={"fwd_ret_5m": 7}, random_state=0).fit(
        X, Y[["fwd_ret_5m"]]
    )
    assert sorted(h for h, _ in SpySplit.calls) == [0, 7]
    assert ranker.horizons_ == {
        "fwd_ret_5m": pd.Timedelta("5min"),
        "fwd_ret_60m": pd.Timedelta("60min"),
    }


def test_memory_gives_identical_results_and_new_target_costs_only_itself(
    small, tmp_path, monkeypatch
):
    joblib = pytest.importorskip("joblib")
    X, Y, truth = small
    Y3 = Y[["fwd_ret_5m", "y_up_15m", "fwd_ret_30m"]]
    calls: list[int] = []
    original = FoldBins.fit  # every fast-path fit goes through it

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FoldBins, "fit", counting)
    plain = TargetRanker(families=LGB_ONLY, random_state=0).fit(X, Y3[["fwd_ret_5m", "y_up_15m"]])
    memory = joblib.Memory(tmp_path, verbose=0)
    cached = TargetRanker(families=LGB_ONLY, random_state=0, memory=memory)
    cached.fit(X, Y3[["fwd_ret_5m", "y_up_15m"]])
    pd.testing.assert_frame_equal(plain.rankings_, cached.rankings_)
    calls.clear()
    again = clone(cached).fit(X, Y3)
    assert len(calls) == 3  # only the new target's 3 folds were fitted
    pd.testing.assert_series_equal(
        again.rankings_.loc[["fwd_ret_5m", "y_up_15m"], "score"],
        plain.rankings_.loc[["fwd_ret_5m", "y_up_15m"], "score"],
    )


def test_generic_family_path_and_failing_family(small, caplog):
    X, Y, truth = small
    fams = {"lightgbm": {"n_estimators": 30}, "linear": {}}
    ranker = TargetRanker(families=fams, random_state=0).fit(X, Y[["fwd_ret_5m", "y_up_15m"]])
    rk = ranker.rankings_
    assert np.isfinite(rk.loc["fwd_ret_5m", "linear_r2"])
    assert rk.loc["y_up_15m", "linear_auc"] > 0.6
    # a family that fails is logged and skipped; the other still scores
    bad = {"lightgbm": {"n_estimators": 30}, "xgboost": {"max_depth": "deep"}}
    with caplog.at_level("WARNING"):
        out = TargetRanker(families=bad, random_state=0).fit(X, Y[["fwd_ret_5m"]])
    assert "xgboost" in caplog.text
    assert np.isfinite(out.rankings_.loc["fwd_ret_5m", "score"])


def test_min_score_and_top_n(fitted, synthetic):
    ranker, truth = fitted
    X, Y, _ = synthetic
    best = ranker.rankings_.loc[truth.target_order[0], "score"]
    second = ranker.rankings_.loc[truth.target_order[1], "score"]
    params = {**ranker.get_params(), "min_score": (best + second) / 2}
    r2 = TargetRanker(**params).fit(X, Y)
    assert r2.selected_targets_ == truth.target_order[:1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_n": 0}, "top_n"),
        ({"min_rows": 1}, "min_rows"),
        ({"cv": "five"}, "'cv' parameter of TargetRanker must be"),
        ({"leakage_score": -1}, "leakage_score"),
        ({"random_state": "x"}, "random_state"),
    ],
)
def test_bad_parameters_raise_config_error(small, kwargs, match):
    X, Y, _ = small
    with pytest.raises(ConfigError, match=match):
        TargetRanker(families=LGB_ONLY, **kwargs).fit(X.iloc[:400], Y.iloc[:400])


def test_bad_data_raises_data_error(small):
    X, Y, _ = small
    ranker = TargetRanker(families=LGB_ONLY)
    with pytest.raises(DataError, match="X must be a pandas DataFrame"):
        ranker.fit(X.to_numpy(), Y)
    with pytest.raises(DataError, match="same index"):
        ranker.fit(X, Y.iloc[:-4])
    with pytest.raises(DataError, match="no target columns"):
        ranker.fit(X, Y.iloc[:, :0])
    X_bad = X.copy()
    X_bad.iloc[3, 2] = np.inf
    with pytest.raises(DataError, match="inf"):
        ranker.fit(X_bad, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clone(ranker).get_params() == ranker.get_params()


def test_multiclass_target_and_path_memory(small, tmp_path):
    X, Y, truth = small
    latent = Y["fwd_ret_5m"]
    Y3 = pd.DataFrame(
        {"y_bucket_5m": np.digitize(latent, np.quantile(latent, [1 / 3, 2 / 3])).astype(float)},
        index=Y.index,
    )
    Y3["fwd_ret_5m"] = latent
    fams = {"lightgbm": {"n_estimators": 30}, "xgboost": {"n_estimators": 30}}
    ranker = TargetRanker(families=fams, random_state=0, memory=str(tmp_path / "cache"))
    ranker.fit(X, Y3)
    rk = ranker.rankings_
    assert rk.loc["y_bucket_5m", "task"] == "multiclass"
    assert rk.loc["y_bucket_5m", "score"] > 0.3
    assert rk.loc["y_bucket_5m", "lightgbm_auc"] > 0.6
    oof = ranker.oof_predictions_["y_bucket_5m"]
    assert set(np.unique(oof["xgboost"])) <= {0.0, 1.0, 2.0}
    again = clone(ranker).fit(X, Y3)  # served from the on-disk cache
    pd.testing.assert_frame_equal(ranker.rankings_, again.rankings_)


def test_dask_backend_gives_identical_rankings(small):
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    X, Y, truth = small
    fams = {"lightgbm": {"n_estimators": 20}, "xgboost": {"n_estimators": 20}, "linear": {}}
    sub = Y[["fwd_ret_5m", "y_up_15m", "fwd_ret_60m"]]
    local = TargetRanker(families=fams, random_state=0).fit(X, sub)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2) as client:
        with joblib.parallel_config(backend="dask"):
            remote = TargetRanker(families=fams, random_state=0).fit(X, sub)
        assert client.scheduler_info()["workers"]
    pd.testing.assert_frame_equal(local.rankings_, remote.rankings_)
    for t in sub.columns:
        pd.testing.assert_frame_equal(local.oof_predictions_[t], remote.oof_predictions_[t])
