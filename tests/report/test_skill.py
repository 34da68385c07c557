"""Per-timestamp out-of-fold skill: oracles against scipy / scikit-learn, and the fit hook."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from intelligent_training.report._skill import SKILL_COLUMNS, skill_by_timestamp


def _panel(n_ts, n_sym, rng):
    ts = np.repeat(np.arange(n_ts), n_sym)
    y = rng.normal(size=n_ts * n_sym)
    return ts, y


def test_rank_ic_per_timestamp_matches_scipy():
    rng = np.random.default_rng(0)
    ts, y = _panel(40, 6, rng)
    pred = 0.5 * y + rng.normal(size=y.size)
    pred[3] = np.nan  # ignored row
    frame, method = skill_by_timestamp(y, pred, ts, "regression")
    assert method == "rank_ic"
    for stamp, value in zip(frame["timestamp"], frame["value"]):
        rows = (ts == stamp) & np.isfinite(pred)
        assert value == pytest.approx(spearmanr(y[rows], pred[rows]).statistic)
    assert frame["n"].iloc[0] == 5 and (frame["n"].iloc[1:] == 6).all()


def test_auc_per_timestamp_matches_sklearn_and_skips_one_class_timestamps():
    rng = np.random.default_rng(1)
    ts, latent = _panel(50, 8, rng)
    y = (latent > 0).astype(float)
    y[ts == 7] = 1.0  # one class only: no AUC for timestamp 7
    pred = latent + rng.normal(size=latent.size)
    frame, _ = skill_by_timestamp(y, pred, ts, "binary")
    assert 7 not in set(frame["timestamp"])
    for stamp, value in zip(frame["timestamp"], frame["value"]):
        rows = ts == stamp
        assert value == pytest.approx(roc_auc_score(y[rows], pred[rows]) - 0.5)  # centred


def test_multiclass_labels_score_as_one_hot_macro_auc():
    ts = np.repeat([0, 1], 5)
    y = np.array([0, 1, 2, 0, 1, 2, 2, 2, 0, 1], dtype=float)
    pred = np.array([0, 1, 2, 1, 1, 0, 0, 2, 0, 1], dtype=float)
    frame, method = skill_by_timestamp(y, pred, ts, "multiclass")
    assert method == "auc"
    for stamp, value in zip(frame["timestamp"], frame["value"]):
        rows = ts == stamp
        one_hot = (pred[rows, None] == np.arange(3)[None, :]).astype(float)
        expected = roc_auc_score(y[rows], one_hot, multi_class="ovr", average="macro")
        assert value == pytest.approx(expected - 0.5)


def test_a_single_series_uses_the_pooled_rank_correlation():
    rng = np.random.default_rng(2)
    stamps = pd.date_range("2024-01-01", periods=200, freq="5min")
    y = rng.normal(size=200)
    pred = y + 0.5 * rng.normal(size=200)
    frame, method = skill_by_timestamp(y, pred, stamps, "regression")
    assert method == "pooled"
    assert len(frame) == 200 and (frame["timestamp"] == stamps).all()
    # one point per timestamp, its share of the pooled Spearman correlation
    assert frame["value"].mean() == pytest.approx(spearmanr(y, pred).statistic)


def test_fitted_pipeline_keeps_the_skill_of_both_stages(fitted):
    skill = fitted.skill_by_timestamp_
    assert tuple(skill.columns) == SKILL_COLUMNS
    ranking = skill[skill["stage"] == "ranking"]
    assert set(ranking["target"]) == set(fitted.ranker_.oof_predictions_)
    rankings = fitted.rankings_
    # the ranking stage's series is the ranker's own (the input of its t_stat) ...
    own = fitted.ranker_.skill_by_timestamp_.dropna(subset=["value"])
    assert len(ranking) == len(own)
    assert ranking["value"].to_numpy() == pytest.approx(own["value"].to_numpy(), rel=1e-6)
    # ... and its mean rank IC is the ranker's pooled ic_mean (an independent path)
    for target in rankings.index[rankings["task"] == "regression"]:
        for family in ("lightgbm", "xgboost"):
            part = ranking[(ranking["target"] == target) & (ranking["family"] == family)]
            assert part["value"].mean() == pytest.approx(rankings.loc[target, f"{family}_ic_mean"])
    # fold spans follow the ranker's walk-forward test blocks: ordered and disjoint
    spans = ranking[ranking["fold"] >= 0].groupby("fold")["timestamp"].agg(["min", "max"])
    assert list(spans.index) == [0, 1, 2]
    assert (spans["min"].iloc[1:].to_numpy() > spans["max"].iloc[:-1].to_numpy()).all()
    training = skill[skill["stage"] == "training"]
    assert set(training["target"]) == set(fitted.selected_targets_)
    assert set(training["family"]) == {"lightgbm", "linear", "ensemble"}


def test_the_ensemble_skill_is_that_of_the_mean_prediction(fitted, panel_xy):
    _, Y, _ = panel_xy
    target = next(
        t for t in fitted.selected_targets_ if fitted.trainers_[t].tasks_[t] == "regression"
    )
    oof = fitted.trainers_[target].oof_predictions_[target]
    mean = oof.mean(axis=1, skipna=False).dropna()
    stamps = mean.index.get_level_values("timestamp")
    expected = [
        spearmanr(Y.loc[mean.index, target][stamps == s], mean[stamps == s]).statistic
        for s in pd.unique(stamps)
    ]
    skill = fitted.skill_by_timestamp_
    got = skill[(skill["stage"] == "training") & (skill["target"] == target)]
    got = got[got["family"] == "ensemble"]
    assert got["value"].to_numpy() == pytest.approx(np.array(expected)[np.isfinite(expected)])


def test_training_skill_with_combinatorial_cv_uses_the_mean_over_paths():
    from types import SimpleNamespace

    from intelligent_training import ModelTrainer
    from intelligent_training.datasets import make_synthetic_panel
    from intelligent_training.model_selection import CombinatorialPurgedSplit
    from intelligent_training.report._skill import pipeline_skill_by_timestamp

    panel, truth = make_synthetic_panel(3, 240, 12, n_redundant=0, random_state=1)
    feats = [c for c in panel.columns if c.startswith("f") and c[1:].isdigit()]
    target = truth.linear_target
    cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=2)
    trainer = ModelTrainer(families=["linear"], cv=cv).fit(panel[feats], panel[target])
    oof = trainer.oof_predictions_
    assert oof.index.names[0] == "path" and oof.index.get_level_values("path").nunique() > 1
    pipe = SimpleNamespace(trainers_={target: trainer})
    table = pipeline_skill_by_timestamp(pipe, panel[[target]])
    rows = table[(table["stage"] == "training") & (table["family"] == "linear")]
    # one value per timestamp (not one per path), and the planted signal shows
    assert rows["timestamp"].is_unique
    assert rows["value"].mean() > 0.2
