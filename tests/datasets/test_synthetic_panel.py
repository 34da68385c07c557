"""make_synthetic_panel / write_synthetic_data_dir: the planted truth really is there."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, cross_val_predict

from intelligent_training.data import infer_task, load_panel, parse_horizon, validate_panel
from intelligent_training.datasets import (
    SyntheticTruth,
    make_synthetic_panel,
    write_synthetic_data_dir,
)
from intelligent_training.exceptions import ConfigError


def _time_split(panel: pd.DataFrame, train_frac: float = 0.7, gap: int = 12):
    """Boolean train/test masks: train before test, ``gap`` bars purged in between."""
    ts = panel.index.get_level_values("timestamp")
    grid = ts.unique()
    cut = int(train_frac * len(grid))
    train = np.asarray(ts < grid[cut - gap])
    test = np.asarray(ts >= grid[cut])
    return train, test


def _corr_equivalent(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    """Out-of-sample skill on one scale: sqrt(R²) or sin(pi (AUC - 0.5))."""
    if task == "binary":
        return float(np.sin(np.pi * (roc_auc_score(y, pred) - 0.5)))
    return float(np.sqrt(max(r2_score(y, pred), 0.0)))


def _corr_equivalent_of_score(task: str, score: float) -> float:
    if task == "binary":
        return float(np.sin(np.pi * (score - 0.5)))
    return float(np.sqrt(score))


def test_designed_score_matches_the_planted_signal():
    rng = np.random.default_rng(0)
    signal, noise = rng.standard_normal((2, 200_000))
    _, truth = make_synthetic_panel(n_symbols=1, n_timestamps=50)
    for target in ("fwd_ret_5m", "y_up_15m"):
        rho = truth.signal_corr[target]
        latent = rho * signal + np.sqrt(1 - rho**2) * noise
        if truth.tasks[target] == "binary":
            measured = roc_auc_score(latent > 0, signal)
        else:
            measured = r2_score(latent, rho * signal)
        assert measured == pytest.approx(truth.designed_score(target), abs=0.005)
    assert truth.designed_score("fwd_ret_60m") == 0.0
    assert truth.designed_score("y_will_peak_60m_0.8") == 0.5


def test_shape_index_and_dtypes(synthetic):
    panel, truth = synthetic
    assert isinstance(truth, SyntheticTruth)
    assert panel.shape == (6 * 1500, 24 + 6)
    validate_panel(panel)
    assert panel.index.names == ["timestamp", "symbol"]
    assert panel.index.get_level_values("timestamp").dtype == "datetime64[ns]"
    symbols = panel.index.get_level_values("symbol").unique()
    assert list(symbols) == [f"SYM{i:03d}" for i in range(6)]
    grid = panel.index.get_level_values("timestamp").unique()
    assert (np.diff(grid) == np.timedelta64(5, "m")).all()
    assert list(panel.columns) == [*truth.features, *truth.tasks]
    assert (panel[truth.features].dtypes == np.float32).all()
    assert (panel[truth.targets].dtypes == np.float64).all()
    assert not panel.isna().any().any()
    for target, task in truth.tasks.items():
        assert infer_task(panel[target]) == task
        if task == "binary":
            assert set(np.unique(panel[target])) == {0.0, 1.0}


def test_truth_is_consistent(synthetic):
    _, truth = synthetic
    informative = [f for t in truth.target_order for f in truth.informative_features[t]]
    groups = [informative, list(truth.redundant_features), truth.noise_features]
    flat = [f for g in groups for f in g]
    assert len(flat) == len(set(flat)) == 24
    assert sorted(flat) == truth.features
    assert set(truth.redundant_features.values()) <= set(informative)
    lin, nonlin = truth.linear_target, truth.nonlinear_target
    assert not set(truth.informative_features[lin]) & set(truth.informative_features[nonlin])
    assert all(truth.informative_features[t] == [] for t in truth.noise_targets)
    corr = [truth.signal_corr[t] for t in truth.target_order]
    assert corr == sorted(corr, reverse=True) and len(set(corr)) == len(corr)
    assert all(truth.signal_corr[t] == 0.0 for t in truth.noise_targets)
    for target, horizon in truth.horizons.items():
        assert parse_horizon(target) == horizon  # names match the 5-minute grid
        assert horizon == truth.horizon_bars[target] * pd.Timedelta("5min")
    assert truth.leaky_feature is None and truth.leaky_target is None


def test_deterministic_and_seed_dependent():
    a, ta = make_synthetic_panel(n_symbols=2, n_timestamps=200, random_state=3)
    b, tb = make_synthetic_panel(n_symbols=2, n_timestamps=200, random_state=3)
    c, _ = make_synthetic_panel(n_symbols=2, n_timestamps=200, random_state=4)
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_features_are_persistent_and_standardised(synthetic):
    panel, truth = synthetic
    values = panel[truth.features].to_numpy(np.float64).reshape(1500, 6, 24)
    lag1 = np.array(
        [
            [np.corrcoef(values[1:, s, j], values[:-1, s, j])[0, 1] for j in range(24)]
            for s in range(6)
        ]
    )
    assert lag1.mean() > 0.93 and lag1.min() > 0.85 and lag1.max() < 0.995
    np.testing.assert_allclose(values.reshape(-1, 24).mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(values.reshape(-1, 24).std(axis=0), 1.0, atol=1e-3)


def test_redundant_features_are_near_copies(synthetic):
    panel, truth = synthetic
    assert len(truth.redundant_features) == 2
    for copy, original in truth.redundant_features.items():
        assert np.corrcoef(panel[copy], panel[original])[0, 1] > 0.95
    noise = panel[truth.noise_features].to_numpy(np.float64)
    off_diagonal = np.corrcoef(noise.T)[~np.eye(noise.shape[1], dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.3


def test_signal_strength_order_recovered_by_a_quick_model(synthetic):
    lightgbm = pytest.importorskip("lightgbm")
    panel, truth = synthetic
    train, test = _time_split(panel)
    X = panel[truth.features].to_numpy()
    skill = {}
    for target in truth.targets:
        y = panel[target].to_numpy()
        params = dict(
            n_estimators=120, learning_rate=0.05, num_leaves=15, min_child_samples=50,
            verbose=-1, n_jobs=1, random_state=0,
        )  # fmt: skip
        if truth.tasks[target] == "binary":
            model = lightgbm.LGBMClassifier(**params).fit(X[train], y[train])
            pred = model.predict_proba(X[test])[:, 1]
        else:
            model = lightgbm.LGBMRegressor(**params).fit(X[train], y[train])
            pred = model.predict(X[test])
        skill[target] = _corr_equivalent(truth.tasks[target], y[test], pred)
    assert sorted(truth.target_order, key=lambda t: -skill[t]) == truth.target_order, skill
    for target in truth.target_order:  # close to (below) the designed strength
        best = _corr_equivalent_of_score(truth.tasks[target], truth.designed_score(target))
        assert 0.6 * best < skill[target] < 1.05 * best, (target, skill[target], best)
    weakest = skill[truth.target_order[-1]]
    assert all(skill[t] < 0.5 * weakest for t in truth.noise_targets), skill


def test_linear_target_is_linear_nonlinear_target_is_not(synthetic):
    panel, truth = synthetic
    train, test = _time_split(panel)
    for target, low, high in ((truth.linear_target, 0.6, 1.0), (truth.nonlinear_target, -1, 0.02)):
        cols = truth.informative_features[target]
        y = panel[target].to_numpy()
        model = LinearRegression().fit(panel.loc[train, cols], y[train])
        r2 = r2_score(y[test], model.predict(panel.loc[test, cols]))
        assert low < r2 < high, (target, r2)
    # a tree on the two informative features does learn the nonlinear target
    cols = truth.informative_features[truth.nonlinear_target]
    y = panel[truth.nonlinear_target].to_numpy()
    tree = ExtraTreesRegressor(n_estimators=30, min_samples_leaf=50, random_state=0, n_jobs=1)
    tree.fit(panel.loc[train, cols], y[train])
    assert r2_score(y[test], tree.predict(panel.loc[test, cols])) > 0.1


def test_noise_targets_leak_through_shuffled_kfold_only():
    panel, truth = make_synthetic_panel(n_symbols=3, n_timestamps=800, random_state=1)
    X = panel[truth.features].to_numpy()
    train, test = _time_split(panel, train_frac=0.6)
    params = dict(n_estimators=40, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=0)
    shuffled = KFold(3, shuffle=True, random_state=0)
    y = panel["fwd_ret_60m"].to_numpy()
    assert np.corrcoef(y[1 * 3 :], y[: -1 * 3])[0, 1] > 0.8  # overlapping labels
    leaky_r2 = r2_score(y, cross_val_predict(ExtraTreesRegressor(**params), X, y, cv=shuffled))
    model = ExtraTreesRegressor(**params).fit(X[train], y[train])
    honest_r2 = r2_score(y[test], model.predict(X[test]))
    assert leaky_r2 > 0.4 and honest_r2 < 0.1, (leaky_r2, honest_r2)

    y = panel["y_will_peak_60m_0.8"].to_numpy()
    assert 0.15 < y.mean() < 0.25
    proba = cross_val_predict(
        ExtraTreesClassifier(**params), X, y, cv=shuffled, method="predict_proba"
    )[:, 1]
    model = ExtraTreesClassifier(**params).fit(X[train], y[train])
    honest_auc = roc_auc_score(y[test], model.predict_proba(X[test])[:, 1])
    assert roc_auc_score(y, proba) > 0.8 and honest_auc < 0.65


def test_leaky_feature():
    panel, truth = make_synthetic_panel(n_symbols=2, n_timestamps=300, leaky=True)
    assert truth.leaky_feature == "f24" and truth.leaky_target == "fwd_ret_30m"
    assert truth.leaky_feature in panel.columns and truth.leaky_feature in truth.features
    assert panel[truth.leaky_feature].dtype == np.float32
    assert np.corrcoef(panel[truth.leaky_feature], panel[truth.leaky_target])[0, 1] > 0.99
    other, truth2 = make_synthetic_panel(
        n_symbols=2, n_timestamps=300, leaky=True, leaky_target="y_up_15m"
    )
    assert truth2.leaky_target == "y_up_15m"
    assert np.corrcoef(other[truth2.leaky_feature], other["y_up_15m"])[0, 1] > 0.95


def test_options_freq_signal_corr_and_sizes():
    panel, truth = make_synthetic_panel(
        n_symbols=3, n_timestamps=100, n_features=40, freq="1h", n_redundant=4,
        signal_corr={"fwd_ret_30m": 0.95},
    )  # fmt: skip
    assert panel.shape == (300, 46)
    assert truth.target_order[0] == "fwd_ret_30m"
    assert truth.horizons["fwd_ret_60m"] == pd.Timedelta("12h")
    assert len(truth.redundant_features) == 4 and len(truth.noise_features) == 26
    assert (
        np.diff(panel.index.get_level_values("timestamp").unique()) == np.timedelta64(1, "h")
    ).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_features": 8},
        {"n_symbols": 0},
        {"n_timestamps": 10},
        {"signal_corr": {"fwd_ret_60m": 0.5}},
        {"signal_corr": {"fwd_ret_5m": 1.5}},
        {"leaky": True, "leaky_target": "nope"},
        {"freq": "0min"},
        {"n_redundant": -1},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        make_synthetic_panel(**kwargs)


def test_fast_enough():
    make_synthetic_panel()
    started = time.perf_counter()
    make_synthetic_panel(n_symbols=6, n_timestamps=1500, n_features=24)
    assert time.perf_counter() - started < 1.0  # ~0.01 s on one core; slack for loaded CI


def test_write_synthetic_data_dir(tmp_path):
    truth = write_synthetic_data_dir(tmp_path, interval="1h", n_symbols=3, n_timestamps=50)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == [f"interval=1h/symbol=SYM00{i}/SYM00{i}.parquet" for i in range(3)]
    table = pd.read_parquet(tmp_path / "interval=1h/symbol=SYM001/SYM001.parquet")
    assert table.columns[0] == "ts" and len(table) == 50
    expected, expected_truth = make_synthetic_panel(n_symbols=3, n_timestamps=50)
    assert truth == expected_truth
    pd.testing.assert_frame_equal(load_panel(tmp_path), expected)
