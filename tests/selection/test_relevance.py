"""FeatureSelector(relevance="shadow"): features must beat autocorrelation-preserving shadows."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from intelligent_training.exceptions import ConfigError
from intelligent_training.selection import FeatureSelector

FAMILIES = {"linear": {}, "lightgbm": {"n_estimators": 60}, "xgboost": {"n_estimators": 60}}
PLANTED = ["obs_z2", "obs_z3"]


def _ar1(rng: np.random.Generator, n_t: int, n_s: int, phi: float) -> np.ndarray:
    """Stationary unit-variance AR(1) per symbol, shape (n_t, n_s)."""
    x = np.empty((n_t, n_s))
    x[0] = rng.standard_normal(n_s)
    shocks = rng.standard_normal((n_t, n_s)) * np.sqrt(1.0 - phi**2)
    for t in range(1, n_t):
        x[t] = phi * x[t - 1] + shocks[t]
    return x


def _nonlinear_panel(seed: int, n_t: int = 800, n_s: int = 3, n_noise: int = 10):
    """``y = z2**2 + z2*z3 + noise``; two features observe z2 and z3 with noise, the others
    are pure-noise AR(1) series as persistent as the latent factors."""
    rng = np.random.default_rng(seed)
    z2, z3 = _ar1(rng, n_t, n_s, 0.9), _ar1(rng, n_t, n_s, 0.9)
    columns = {
        "obs_z2": z2 + 0.2 * rng.standard_normal(z2.shape),
        "obs_z3": z3 + 0.2 * rng.standard_normal(z3.shape),
    }
    for j in range(n_noise):
        columns[f"noise_{j:02d}"] = _ar1(rng, n_t, n_s, 0.9)
    y = z2**2 + z2 * z3 + 0.5 * rng.standard_normal(z2.shape)
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n_t, freq="5min"), [f"S{i}" for i in range(n_s)]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame({k: v.reshape(-1).astype(np.float32) for k, v in columns.items()}, index)
    return X, pd.Series(y.reshape(-1), index=index, name="y_nl_5m")


def _selector(**kwargs):
    params = {
        "families": FAMILIES,
        "importance": ("native", "permutation"),
        "n_repeats": 2,
        "random_state": 0,
        "verbose": False,
    }
    params.update(kwargs)
    return FeatureSelector(**params)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nonlinear_target_features_beat_their_shadows(seed):
    X, y = _nonlinear_panel(seed)
    selector = _selector(top_m=len(PLANTED)).fit(X, y)
    selected = set(selector.selected_features_)
    assert len(selected & set(PLANTED)) / len(PLANTED) >= 0.75, selector.shadow_wins_
    # Asked for more than are relevant: fewer are selected, and never a pure-noise one.
    wide = _selector(top_m=6).fit(X, y)
    assert set(wide.selected_features_) <= set(PLANTED), wide.shadow_wins_
    assert set(PLANTED) <= set(wide.selected_features_)
    table = wide.shadow_wins_
    assert list(table.index) == list(X.columns)
    assert table.loc[PLANTED, "relevant"].all()
    assert (table["shadow_wins"] <= table["n_votes"]).all()
    np.testing.assert_array_equal(table["relevant"], 2 * table["shadow_wins"] > table["n_votes"])
    # The tree families learn the target; their cells vote.
    assert {"lightgbm", "xgboost"} <= set(wide.voting_families_)
    assert (wide.fold_skill_.loc[["lightgbm", "xgboost"]] > 0).all().all()
    # The shadows never leak into the public tables.
    assert list(wide.importances_.index) == list(X.columns)
    assert set(wide.fold_importances_["feature"]) == set(X.columns)


def test_fewer_than_top_m_is_logged(caplog):
    X, y = _nonlinear_panel(0)
    with caplog.at_level(logging.INFO, logger="intelligent_training.selection"):
        selector = _selector(top_m=6).fit(X, y)
    assert len(selector.selected_features_) < 6
    assert any("Fewer than top_m" in r.getMessage() for r in caplog.records)


def test_non_learning_family_does_not_vote():
    # A target no family can learn from these features (independent noise): cells with
    # skill <= 0 cast no vote, and a family with mean skill <= 0 is not in the consensus.
    X, _ = _nonlinear_panel(0, n_t=400)
    rng = np.random.default_rng(1)
    y = pd.Series(rng.standard_normal(len(X)), index=X.index, name="y_noise_5m")
    selector = _selector(top_m=3).fit(X, y)
    skill = selector.fold_skill_
    expected = [f for f in selector.families_ if skill.loc[f].mean() > 0]
    assert selector.voting_families_ == expected
    n_voting_cells = int((skill > 0).to_numpy().sum())
    assert (selector.shadow_wins_["n_votes"] == n_voting_cells).all()


def test_relevance_none_keeps_the_top_m_vote():
    X, y = _nonlinear_panel(0, n_t=400)
    selector = _selector(top_m=4, relevance=None).fit(X, y)
    selected = selector.selected_features_
    # No relevance test: the top-set vote alone, which lets a pure-noise feature in here.
    assert 0 < len(selected) <= 4
    assert (selector.votes_[selected] >= 2).all()
    assert set(selected) - set(PLANTED)
    for name in ("shadow_wins_", "fold_skill_", "voting_families_"):
        assert not hasattr(selector, name)
    assert selector.importances_.shape[0] == X.shape[1]


@pytest.mark.parametrize("bad", ["boruta", "", 1, True])
def test_relevance_is_validated(bad):
    X, y = _nonlinear_panel(0, n_t=100)
    with pytest.raises(ConfigError, match="relevance"):
        _selector(relevance=bad).fit(X, y)


def test_selection_csv_carries_the_shadow_columns():
    from types import SimpleNamespace

    from intelligent_training.pipeline._outputs import selection_table

    X, y = _nonlinear_panel(0, n_t=400)
    selector = _selector(top_m=2).fit(X, y)
    pipe = SimpleNamespace(
        selected_features_={"y_nl_5m": selector.selected_features_},
        selectors_={"y_nl_5m": selector},
    )
    table = selection_table(pipe, "y_nl_5m")
    assert list(table.index) == list(X.columns)
    for column in ("shadow_wins", "n_votes", "shadow_win_share", "relevant"):
        pd.testing.assert_series_equal(table[column], selector.shadow_wins_[column])
    assert "consensus_importance" in table and "votes" in table


def test_combinatorial_splitter_as_cv():
    from intelligent_training.model_selection import CombinatorialPurgedSplit

    X, y = _nonlinear_panel(0, n_t=600)
    cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=2)
    selector = _selector(top_m=6, cv=cv).fit(X, y)
    n_splits = cv.get_n_splits()
    assert len(selector.folds_) == n_splits
    assert list(selector.fold_skill_.columns) == list(range(n_splits))
    assert (selector.shadow_wins_["n_votes"] <= n_splits * len(FAMILIES)).all()
    assert set(selector.selected_features_) <= set(PLANTED)
    assert "obs_z2" in selector.selected_features_
