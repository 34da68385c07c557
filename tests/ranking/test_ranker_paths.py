"""TargetRanker with a combinatorial purged splitter: one score per backtest path."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.metrics import spearman_to_correlation
from intelligent_training.model_selection import CombinatorialPurgedSplit
from intelligent_training.ranking import TargetRanker
from intelligent_training.ranking._score import composite_score

FAMILIES = {"lightgbm": {"n_estimators": 20, "num_leaves": 7}, "linear": {}}
TARGETS = ["fwd_ret_5m", "fwd_ret_30m", "y_up_15m", "fwd_ret_60m"]


@pytest.fixture(scope="module")
def fitted():
    panel, truth = make_synthetic_panel(n_symbols=4, n_timestamps=480, random_state=3)
    X, Y = panel[truth.features], panel[TARGETS]
    cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=2)
    ranker = TargetRanker(families=FAMILIES, cv=cv, top_n=2, random_state=0, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranker.fit(X, Y)
    return ranker, X, Y, cv


def _path_scores_by_hand(oof: pd.DataFrame, y: pd.Series, fold_of: pd.Series) -> np.ndarray:
    """The oracle: per path, the composite score of the (family x fold) skills of the
    path's stitched out-of-fold predictions."""
    scores = []
    for _, part in oof.groupby(level="path"):
        part = part.droplevel("path")
        groups = fold_of.loc[part.index].to_numpy()
        skills = np.full((part.shape[1], groups.max() + 1), np.nan)
        for fi, family in enumerate(part.columns):
            for g in np.unique(groups):
                rows = groups == g
                rho = spearmanr(part[family].to_numpy()[rows], y.loc[part.index[rows]]).statistic
                skills[fi, g] = spearman_to_correlation(rho)
        scores.append(composite_score(skills))
    return np.asarray(scores)


def test_path_spread_matches_the_stitched_paths(fitted):
    ranker, X, Y, cv = fitted
    rk = ranker.rankings_
    for col in ("n_paths", "score_path_mean", "score_path_std", "score_path_min"):
        assert col in rk.columns, col
    assert (rk["n_paths"] == cv.get_n_paths()).all()  # 4 folds, 2 tested: 3 paths
    fold_of = pd.Series(cv.fold_ids(X), index=X.index)
    for target in ("fwd_ret_5m", "fwd_ret_30m", "fwd_ret_60m"):
        oof = ranker.oof_predictions_[target]
        assert oof.index.names[0] == "path"
        assert not oof.index.duplicated().any()  # a row at most once per path
        if np.isnan(rk.loc[target, "stopped_after_folds"]):
            # each path is one complete out-of-fold history: every tested row once
            per_path = oof.groupby(level="path").size()
            assert per_path.nunique() == 1 and len(per_path) == cv.get_n_paths()
            assert per_path.iloc[0] == Y[target].notna().sum()
        expected = _path_scores_by_hand(oof, Y[target], fold_of)
        np.testing.assert_allclose(rk.loc[target, "score_path_min"], expected.min(), atol=1e-9)
        np.testing.assert_allclose(rk.loc[target, "score_path_std"], expected.std(), atol=1e-9)
        np.testing.assert_allclose(rk.loc[target, "score_path_mean"], expected.mean(), atol=1e-9)


def test_paths_separate_signal_from_noise(fitted):
    ranker, *_ = fitted
    rk = ranker.rankings_
    # the strong target is good on every path; the noise target on none
    assert rk.loc["fwd_ret_5m", "score_path_min"] > 0.3
    assert rk.loc["fwd_ret_60m", "score_path_min"] < rk.loc["fwd_ret_60m", "score_path_mean"]
    assert rk.loc["fwd_ret_60m", "score_path_mean"] < 0.15
    assert "fwd_ret_60m" not in ranker.selected_targets_
    assert ranker.selected_targets_[0] == "fwd_ret_5m"
    assert np.isfinite(
        rk.loc["y_up_15m", ["score_path_std", "t_stat", "q_value"]].astype(float)
    ).all()
