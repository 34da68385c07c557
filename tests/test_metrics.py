"""Metrics against slow reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score

from intelligent_training.exceptions import DataError
from intelligent_training.metrics import (
    auc_to_correlation,
    classification_metrics,
    newey_west_tstat,
    rank_ic_by_timestamp,
    regression_metrics,
    skill_score,
    spearman_to_correlation,
)


def _panel_like(rng: np.random.Generator, n_ts: int = 40, n_sym: int = 7):
    ts = np.repeat(np.arange(n_ts), n_sym)
    y = rng.standard_normal(n_ts * n_sym)
    p = 0.3 * y + rng.standard_normal(n_ts * n_sym)
    # ties and NaNs
    p[::11] = np.round(p[::11])
    y[::13] = np.nan
    return ts, y, p


def test_rank_ic_matches_scipy_per_timestamp():
    rng = np.random.default_rng(0)
    ts, y, p = _panel_like(rng)
    # shuffle rows: the function must not assume sorted input
    perm = rng.permutation(len(ts))
    ic = rank_ic_by_timestamp(y[perm], p[perm], ts[perm])
    for t in np.unique(ts):
        m = (ts == t) & np.isfinite(y)
        ref = spearmanr(y[m], p[m]).statistic
        assert ic.loc[t] == pytest.approx(ref, abs=1e-12)
    assert list(ic.index) == sorted(np.unique(ts))


def test_rank_ic_degenerate_groups_are_nan():
    ts = np.array([0, 1, 1, 2, 2])
    ic = rank_ic_by_timestamp([1.0, 1.0, 2.0, 3.0, 3.0], [1.0, 2.0, 1.0, 1.0, 2.0], ts)
    assert np.isnan(ic.loc[0])  # single row
    assert ic.loc[1] == pytest.approx(-1.0)
    assert np.isnan(ic.loc[2])  # constant outcome


def test_rank_ic_datetime_timestamps_and_length_check():
    ts = pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-02"] * 3).to_numpy()
    ic = rank_ic_by_timestamp([1, 2, 3, 1, 2, 3], [1, 2, 3, 3, 2, 1], ts)
    assert ic.tolist() == [1.0, -1.0]
    assert isinstance(ic.index, pd.DatetimeIndex)
    with pytest.raises(DataError, match="same length"):
        rank_ic_by_timestamp([1, 2], [1, 2, 3], [0, 0, 0])


def _slow_newey_west(x, lag):
    x = np.asarray(x, float)
    n = len(x)
    d = x - x.mean()
    s = sum(d[i] * d[i] for i in range(n)) / n
    for k in range(1, lag + 1):
        g = sum(d[i] * d[i - k] for i in range(k, n)) / n
        s += 2 * (1 - k / (lag + 1)) * g
    return x.mean() / np.sqrt(s / n)


def test_newey_west_matches_reference_and_shrinks_with_overlap():
    rng = np.random.default_rng(1)
    x = 0.1 + rng.standard_normal(300)
    assert newey_west_tstat(x, 5) == pytest.approx(_slow_newey_west(x, 5), rel=1e-10)
    # overlapping (moving-sum) series: HAC t-stat is much smaller than the naive one
    e = rng.standard_normal(2000) + 0.02
    overlapped = np.convolve(e, np.ones(12), mode="valid")
    naive = newey_west_tstat(overlapped, 0)
    hac = newey_west_tstat(overlapped, 12)
    assert abs(hac) < abs(naive) / 2


def test_regression_metrics_against_sklearn():
    rng = np.random.default_rng(2)
    ts, y, p = _panel_like(rng)
    m = regression_metrics(y, p, ts, horizon_bars=3)
    ok = np.isfinite(y)
    assert m["r2"] == pytest.approx(r2_score(y[ok], p[ok]))
    assert m["spearman"] == pytest.approx(spearmanr(y[ok], p[ok]).statistic)
    assert regression_metrics([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])["spearman"] == 0.0
    nz = ok & (y != 0)
    assert m["dir_acc"] == pytest.approx(np.mean(np.sign(p[nz]) == np.sign(y[nz])))
    ic = [spearmanr(y[(ts == t) & ok], p[(ts == t) & ok]).statistic for t in np.unique(ts)]
    assert m["ic_mean"] == pytest.approx(np.mean(ic))
    assert m["ic_std"] == pytest.approx(np.std(ic, ddof=1))
    assert m["icir"] == pytest.approx(np.mean(ic) / np.std(ic, ddof=1))
    assert m["ic_tstat"] == pytest.approx(_slow_newey_west(ic, 3))
    assert m["n"] == ok.sum()
    no_ts = regression_metrics(y, p)
    assert np.isnan(no_ts["ic_mean"]) and no_ts["r2"] == pytest.approx(m["r2"])


def test_classification_metrics_binary_against_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    s = np.clip(0.5 + 0.2 * (y - 0.5) + 0.2 * rng.standard_normal(500), 0.01, 0.99)
    m = classification_metrics(y, s)
    assert m["auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["logloss"] == pytest.approx(log_loss(y, s))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, s > 0.5))
    freq = y.mean()
    assert m["logloss_baseline"] == pytest.approx(log_loss(y, np.full(500, freq)))
    # the 2-D proba form and non-{0,1} labels give the same answer
    m2 = classification_metrics(np.where(y == 1, 1, -1), np.column_stack([1 - s, s]))
    assert m2["auc"] == pytest.approx(m["auc"])


def test_classification_metrics_multiclass_and_single_class():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 600)
    proba = rng.dirichlet(np.ones(3), 600)
    proba[np.arange(600), y] += 0.3
    proba /= proba.sum(axis=1, keepdims=True)
    m = classification_metrics(y, proba)
    assert m["auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert m["logloss"] == pytest.approx(log_loss(y, proba))
    single = classification_metrics(np.ones(10), np.full(10, 0.7), classes=[0, 1])
    assert np.isnan(single["auc"])


@pytest.mark.parametrize("rho", [0.1, 0.3, 0.6])
def test_skill_is_correlation_equivalent_across_tasks(rho):
    rng = np.random.default_rng(5)
    n = 200_000
    s = rng.standard_normal(n)
    z = rho * s + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    reg = skill_score("regression", regression_metrics(z, rho * s))
    clf = skill_score("binary", classification_metrics((z > 0).astype(int), 1 / (1 + np.exp(-s))))
    assert reg == pytest.approx(rho, abs=0.01)
    assert clf == pytest.approx(rho, abs=0.01)


def test_skill_never_saturates_and_is_signed():
    aucs = np.array([0.2, 0.5, 0.9, 0.99, 0.999])
    sk = auc_to_correlation(aucs)
    assert np.all(np.diff(sk) > 0)
    assert sk[1] == pytest.approx(0.0)
    assert skill_score("regression", {"spearman": -1.0}) == pytest.approx(-1.0)
    assert skill_score("regression", {"spearman": 0.0, "r2": -5.0}) == 0.0
    rs = np.array([-0.9, 0.0, 0.5, 0.99, 0.999])
    assert np.all(np.diff(spearman_to_correlation(rs)) > 0)
    assert np.isnan(skill_score("binary", {"auc": np.nan}))
    with pytest.raises(DataError, match="unknown task"):
        skill_score("ranking", {})
