"""The signal tearsheet: its numbers against a direct pandas computation, and the synthetic truth."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from intelligent_training.report._tearsheet import (
    return_column_for,
    signal_evidence,
    tearsheet_data,
)

Q, H, COST = 3, 2, 7.5
N_TRIALS = 6


@pytest.fixture(scope="module")
def small():
    """6 symbols x 40 days: a prediction, the return it is judged on, and 3 other trials."""
    rng = np.random.default_rng(3)
    stamps = pd.date_range("2024-01-01", periods=40, freq="D")
    symbols = [f"S{i}" for i in range(6)]
    index = pd.MultiIndex.from_product([stamps, symbols], names=["timestamp", "symbol"])
    pred = rng.standard_normal(len(index))
    ret = 0.3 * pred + rng.standard_normal(len(index))
    keep = rng.random(len(index)) > 0.1  # some names missing at some timestamps
    rows = pd.DataFrame({"signal|t": pred, "label|t": ret}, index=index)[keep].astype(np.float32)
    rebalances = stamps[::H]
    trials = pd.concat(
        [
            pd.DataFrame(
                {
                    "stage": "ranking",
                    "target": f"other{k}",
                    "family": "linear",
                    "timestamp": rebalances,
                    "gross": rng.standard_normal(len(rebalances)) * 0.5 + 0.1 * k,
                    "turnover": rng.uniform(0.5, 2.0, len(rebalances)),
                }
            )
            for k in range(3)
        ],
        ignore_index=True,
    )
    meta = {
        "t": {
            "task": "regression",
            "horizon_bars": H,
            "return": "t",
            "return_source": "target",
            "decay": [{"target": "t", "task": "regression", "horizon_bars": H}],
            "families": ["linear"],
        }
    }
    evidence = {"rows": rows, "targets": meta, "trials": trials, "n_trials": N_TRIALS}
    sheet = tearsheet_data(evidence, ["t"], quantiles=Q, cost_bps=COST)["targets"]["t"]
    return rows.astype(np.float64), trials, sheet


def _direct_book(rows):
    """The long-short book of the docs, written with pandas groupby (no shared code)."""
    frame = rows.rename(columns={"signal|t": "pred", "label|t": "ret"}).reset_index()
    frame["n"] = frame.groupby("timestamp")["pred"].transform("size")
    frame["rank"] = frame.groupby("timestamp")["pred"].rank(method="first")
    frame["bucket"] = np.floor((frame["rank"] - 1) * Q / frame["n"]).astype(int)
    buckets = frame.groupby(["timestamp", "bucket"])["ret"].mean().unstack().mean()
    times = sorted(frame["timestamp"].unique())[::H]
    previous: dict[str, float] = {}
    gross, turnover, top_new = [], [], []
    previous_top: set[str] = set()
    for t in times:
        part = frame[frame["timestamp"] == t]
        top, bottom = part[part["bucket"] == Q - 1], part[part["bucket"] == 0]
        weights = {s: 1 / len(top) for s in top["symbol"]}
        weights.update({s: -1 / len(bottom) for s in bottom["symbol"]})
        gross.append(top["ret"].mean() - bottom["ret"].mean())
        names = set(weights) | set(previous)
        turnover.append(sum(abs(weights.get(s, 0) - previous.get(s, 0)) for s in names))
        if previous:
            top_new.append(1 - len(set(top["symbol"]) & previous_top) / len(top))
        previous, previous_top = weights, set(top["symbol"])
    gross, turnover = np.array(gross), np.array(turnover)
    net = gross - COST * 1e-4 * turnover
    return buckets, times, gross, turnover, net, np.mean(top_new)


def test_bucket_returns_turnover_and_long_short_match_pandas(small):
    rows, _, sheet = small
    buckets, times, gross, turnover, net, top_new = _direct_book(rows)
    np.testing.assert_allclose(sheet["bucket_mean_return"], buckets.to_numpy(), rtol=1e-5)
    assert sheet["n_rebalances"] == len(times)
    np.testing.assert_allclose(sheet["mean_gross_return"], gross.mean(), rtol=1e-5)
    np.testing.assert_allclose(sheet["mean_net_return"], net.mean(), rtol=1e-5)
    np.testing.assert_allclose(sheet["total_cost"], COST * 1e-4 * turnover.sum(), rtol=1e-5)
    np.testing.assert_allclose(sheet["mean_turnover"], turnover[1:].mean(), rtol=1e-5)
    np.testing.assert_allclose(sheet["top_turnover"], top_new, rtol=1e-5)
    np.testing.assert_allclose(sheet["cumulative"]["net"][-1], net.sum(), rtol=1e-4)
    np.testing.assert_allclose(sheet["cumulative"]["gross"][-1], gross.sum(), rtol=1e-4)
    cum = np.cumsum(net)
    drawdown = cum - np.maximum.accumulate(np.maximum(cum, 0))
    np.testing.assert_allclose(sheet["max_drawdown"], drawdown.min(), rtol=1e-4, atol=1e-9)


def test_sharpe_psr_and_deflated_sharpe_follow_the_paper(small):
    rows, trials, sheet = small
    *_, times, _, _, net, _ = _direct_book(rows)
    times = pd.DatetimeIndex(times)
    per_year = (len(times) - 1) / ((times[-1] - times[0]) / pd.Timedelta(days=365.25))
    sr = net.mean() / net.std(ddof=1)
    skew = stats.skew(net)
    kurt = stats.kurtosis(net, fisher=False)
    np.testing.assert_allclose(sheet["sharpe"], sr * math.sqrt(per_year), rtol=1e-4)

    # Bailey & Lopez de Prado (2012): PSR(SR*) = Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2)]
    def psr(benchmark):
        z = (sr - benchmark) * math.sqrt(len(net) - 1)
        return stats.norm.cdf(z / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))

    np.testing.assert_allclose(sheet["probabilistic_sharpe"], psr(0.0), rtol=1e-4)
    # (2014): SR0 = sqrt(V[SR_n]) ((1 - gamma) Z^-1[1 - 1/N] + gamma Z^-1[1 - 1/(N e)]), the
    # trials' Sharpe ratios (net of the same costs) taken with the tearsheet's own one
    trial_sr = []
    for _, part in trials.groupby("target"):
        r = part["gross"].to_numpy() - COST * 1e-4 * part["turnover"].to_numpy()
        trial_sr.append(r.mean() / r.std(ddof=1))
    variance = np.var(trial_sr, ddof=1)  # same rebalance dates: per-period ratios compare
    gamma = 0.5772156649015329
    sr0 = math.sqrt(variance) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / N_TRIALS)
        + gamma * stats.norm.ppf(1 - 1 / (N_TRIALS * math.e))
    )
    np.testing.assert_allclose(sheet["sr0"], sr0 * math.sqrt(per_year), rtol=1e-4)
    np.testing.assert_allclose(sheet["deflated_sharpe"], psr(sr0), rtol=1e-4, atol=1e-9)
    # with the null's sampling variance of one Sharpe ratio estimate, 1 / (T - 1)
    sr0_null = math.sqrt(1 / (len(net) - 1)) * sr0 / math.sqrt(variance)
    np.testing.assert_allclose(sheet["sr0_null"], sr0_null * math.sqrt(per_year), rtol=1e-4)
    np.testing.assert_allclose(sheet["deflated_sharpe_null"], psr(sr0_null), rtol=1e-4, atol=1e-9)
    assert sheet["n_trials"] == N_TRIALS


def test_rank_autocorrelation_matches_pandas(small):
    rows, _, sheet = small
    wide = rows["signal|t"].unstack("symbol")
    ranks = wide.rank(axis=1)
    for lag, value in zip(
        sheet["rank_autocorrelation"]["lags"], sheet["rank_autocorrelation"]["values"]
    ):
        corr = [  # pairwise complete: the names present at both times (3 at least)
            ranks.iloc[i].corr(ranks.iloc[i - lag])
            for i in range(lag, len(ranks))
            if (ranks.iloc[i].notna() & ranks.iloc[i - lag].notna()).sum() >= 3
        ]
        np.testing.assert_allclose(value, np.nanmean(corr), rtol=1e-3)


def test_return_columns():
    columns = ["fwd_ret_5m", "y_up_15m", "fwd_ret_15m", "y_dir_1h", "ret_next"]
    assert return_column_for("fwd_ret_5m", "regression", columns) == ("fwd_ret_5m", "target")
    assert return_column_for("y_up_15m", "binary", columns) == ("fwd_ret_15m", "same horizon")
    assert return_column_for("y_dir_1h", "binary", columns, "ret_next") == (
        "ret_next",
        "configured",
    )
    column, note = return_column_for("y_dir_1h", "binary", columns)
    assert column is None and "report.return_column" in note


def test_without_a_return_the_return_views_are_omitted_with_a_note(small):
    rows, trials, _ = small
    meta = {"t": {"task": "binary", "horizon_bars": 1, "return": None,
                  "return_source": "no forward return", "decay": [], "families": ["linear"]}}  # fmt: skip
    evidence = {"rows": rows[["signal|t"]], "targets": meta, "trials": trials, "n_trials": 3}
    sheet = tearsheet_data(evidence, ["t"])["targets"]["t"]
    assert sheet["note"] == "no forward return"
    assert "bucket_mean_return" not in sheet and "sharpe" not in sheet
    assert sheet["rank_autocorrelation"]["values"]  # the prediction-only views stay


@pytest.fixture(scope="module")
def synthetic():
    """Two predictable returns of equal strength and the two noise targets, trained."""
    from intelligent_training import FeatureSelector, IntelligentPipeline, ModelTrainer
    from intelligent_training.data import split_features_targets
    from intelligent_training.datasets import make_synthetic_panel

    panel, truth = make_synthetic_panel(
        n_symbols=10, n_timestamps=500, n_features=12, random_state=0,
        signal_corr={"fwd_ret_5m": 0.3, "fwd_ret_30m": 0.3},
    )  # fmt: skip
    X, Y = split_features_targets(panel)
    targets = ["fwd_ret_5m", "fwd_ret_30m", *truth.noise_targets]
    pipe = IntelligentPipeline(
        selector=FeatureSelector(
            families={"linear": {}, "lightgbm": {"n_estimators": 20}},
            importance=("native",),
            top_m=4,
            random_state=0,
        ),
        trainer=ModelTrainer(
            families={"linear": {}, "lightgbm": {"n_estimators": 20}}, cv=3, random_state=0
        ),
        targets=targets,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, Y)
    return pipe, truth, Y


def test_synthetic_truth_predictable_targets_earn_and_noise_does_not(synthetic):
    pipe, truth, _ = synthetic
    sheet = tearsheet_data(pipe.signal_evidence_, list(pipe.selected_targets_))
    assert sheet["n_trials"] == 4 * 3  # 4 targets x (2 families + the ensemble)
    for target in ["fwd_ret_5m", "fwd_ret_30m"]:
        entry = sheet["targets"][target]
        assert entry["monotone"] and np.all(np.diff(entry["bucket_mean_return"]) > 0)
        assert entry["probabilistic_sharpe"] > 0.99
        assert entry["sharpe"] > entry["sr0_null"] > 0
        assert entry["deflated_sharpe_null"] > 0.95, target
    assert sheet["targets"]["y_will_peak_60m_0.8"]["return_column"] == "fwd_ret_60m"
    for target in truth.noise_targets:
        entry = sheet["targets"][target]
        assert not entry["monotone"], target
        assert entry["deflated_sharpe_null"] < 0.5, target
        assert entry["deflated_sharpe"] < 0.5, target
    # the trials' spread (strong signals beside unskilled ones) raises SR0 above the null's
    assert sheet["targets"]["fwd_ret_5m"]["sr0"] > sheet["targets"]["fwd_ret_5m"]["sr0_null"]


def test_signal_evidence_is_compact_and_aligned(synthetic):
    pipe, _, Y = synthetic
    evidence = pipe.signal_evidence_
    rows = evidence["rows"]
    assert set(rows.dtypes) == {np.dtype(np.float32)}
    assert {"signal|fwd_ret_5m", "label|fwd_ret_5m", "label|fwd_ret_60m"} <= set(rows.columns)
    # the ensemble signal is the mean of the trained families' out-of-fold predictions
    trainer = next(iter(pipe.trainers_.values()))
    oof = trainer.oof_predictions_["fwd_ret_5m"].mean(axis=1).dropna()
    np.testing.assert_allclose(
        rows["signal|fwd_ret_5m"].reindex(oof.index).to_numpy(), oof.to_numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        rows["label|fwd_ret_60m"].to_numpy(),
        Y["fwd_ret_60m"].reindex(rows.index).to_numpy(),
        rtol=1e-6,
    )
    # a configured return column judges the targets that are not returns
    again = signal_evidence(pipe, Y, return_column="fwd_ret_5m")
    assert again["targets"]["y_will_peak_60m_0.8"]["return"] == "fwd_ret_60m"  # same horizon wins
    assert again["n_trials"] == evidence["n_trials"]
