"""Honest out-of-fold metrics for every strategy, and the cascade's use of OOF features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intelligent_training import families as families_module
from intelligent_training.model_selection import PurgedTimeSeriesSplit
from intelligent_training.training import ModelTrainer

from ._helpers import FAST_LGBM, FAST_TORCH, summary

SIGNAL = "fwd_ret_5m"  # linear in a few features: the planted signal
NOISE = "fwd_ret_60m"  # overlapping 12-bar forward sum of pure noise
SIGNAL_BINARY = "y_up_15m"
NOISE_BINARY = "y_will_peak_60m_0.8"


def _check_honest(trainer, family):
    s = summary(trainer, family)
    assert s.loc[SIGNAL, "status"] == "ok"
    assert s.loc[SIGNAL, "skill"] > 0.3
    assert s.loc[SIGNAL, "ic_mean"] > 0.3
    # Overlapping noise labels on persistent features: honest purged OOF sees nothing.
    assert abs(s.loc[NOISE, "ic_mean"]) < 0.1
    assert s.loc[NOISE, "skill"] < 0.1


def test_single_task_oof_metrics_are_honest(xy):
    X, Y, truth = xy
    assert SIGNAL == truth.linear_target and NOISE in truth.noise_targets
    Y = Y[[SIGNAL, SIGNAL_BINARY, NOISE, NOISE_BINARY]]
    trainer = ModelTrainer(
        threads=1, families={"lightgbm": FAST_LGBM, "linear": {}}, cv=3, random_state=0
    ).fit(X, Y)
    for family in ("lightgbm", "linear"):
        _check_honest(trainer, family)
        s = summary(trainer, family)
        assert s.loc[SIGNAL_BINARY, "auc"] > 0.65
        assert abs(s.loc[NOISE_BINARY, "auc"] - 0.5) < 0.1
    # One row per target x family x fold plus one summary row each.
    assert len(trainer.cv_metrics_) == 4 * 2 * (3 + 1)
    assert set(trainer.models_) == {(t, f) for t in Y for f in ("lightgbm", "linear")}
    # The out-of-fold predictions reproduce the per-fold metrics' inputs.
    oof = trainer.oof_predictions_
    assert list(oof.index) == list(X.index)
    assert oof.columns.names == ["target", "family"]
    folds = trainer.cv_metrics_.query("target == @SIGNAL and family == 'linear' and fold != 'mean'")
    assert oof[(SIGNAL, "linear")].notna().sum() == folds["n_test"].sum()


def test_oof_rows_follow_purged_folds(xy):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families=["linear"], cv=3).fit(X, Y[NOISE])
    cv = PurgedTimeSeriesSplit(n_splits=3, horizon=pd.Timedelta("60min"))
    tested = np.zeros(len(X), dtype=bool)
    folds = trainer.cv_metrics_[trainer.cv_metrics_["fold"] != "mean"]
    for (train, test), n_train in zip(cv.split(X), folds["n_train"]):
        tested[test] = True
        assert len(train) == n_train  # purged with the 60m horizon parsed from the name
    known = Y[NOISE].notna().to_numpy()
    oof = trainer.oof_predictions_[(NOISE, "linear")].to_numpy()
    assert np.isnan(oof[~tested]).all()
    assert np.isfinite(oof[tested & known]).all()


def test_multi_task_one_shared_model_with_honest_metrics(xy):
    pytest.importorskip("torch")
    X, Y, _ = xy
    Y = Y[[SIGNAL, SIGNAL_BINARY, NOISE]]
    params = {"trunk_sizes": [32], "head_sizes": [8], **FAST_TORCH}
    trainer = ModelTrainer(
        threads=1,
        families={"multi_task": params},
        strategy="multi_task",
        cv=3,
        random_state=0,
        cpu_only=True,
    ).fit(X, Y)
    models = [trainer.models_[(t, "multi_task")] for t in Y]
    assert all(m is models[0] for m in models)
    s = summary(trainer, "multi_task")
    assert s.loc[SIGNAL, "skill"] > 0.1
    assert s.loc[SIGNAL_BINARY, "auc"] > 0.6
    assert s.loc[NOISE, "skill"] < 0.1
    # The joint folds are purged with the longest horizon (60m) among the targets.
    longest = PurgedTimeSeriesSplit(n_splits=3, horizon=pd.Timedelta("60min"))
    expected = [len(train) for train, _ in longest.split(X)]
    folds = trainer.cv_metrics_.query("target == @SIGNAL and fold != 'mean'")
    assert folds["n_train"].tolist() == expected
    pred = trainer.predict(X)
    assert list(pred.columns) == list(Y.columns)
    assert pred[SIGNAL_BINARY].between(0, 1).all()


def test_multi_task_strategy_adds_the_family_and_keeps_others(xy):
    pytest.importorskip("torch")
    X, Y, _ = xy
    X, Y = X.iloc[:600], Y.iloc[:600]
    params = {"trunk_sizes": [8], "head_sizes": [4], **FAST_TORCH, "max_epochs": 2}
    trainer = ModelTrainer(
        threads=1,
        families={"linear": {}, "multi_task": params},
        strategy="multi_task",
        cv=2,
        cpu_only=True,
    ).fit(X, Y[[SIGNAL, NOISE]])
    assert set(trainer.families_) == {"linear", "multi_task"}
    assert {f for _, f in trainer.models_} == {"linear", "multi_task"}
    assert trainer.models_[(SIGNAL, "linear")] is not trainer.models_[(NOISE, "linear")]


def test_cascade_oof_metrics_are_honest(xy):
    X, Y, _ = xy
    Y = Y[[SIGNAL, SIGNAL_BINARY, NOISE]]
    trainer = ModelTrainer(
        threads=1, families={"lightgbm": FAST_LGBM, "linear": {}}, strategy="cascade", cv=3
    ).fit(X, Y)
    for family in ("lightgbm", "linear"):
        _check_honest(trainer, family)
    assert trainer.cascade_columns_ == {
        SIGNAL: [],
        SIGNAL_BINARY: [f"__cascade__{SIGNAL}"],
        NOISE: [f"__cascade__{SIGNAL}", f"__cascade__{SIGNAL_BINARY}"],
    }
    pred = trainer.predict(X.iloc[:20])
    assert pred.shape == (20, 3) and np.isfinite(pred.to_numpy()).all()


class _Spy:
    """Records the columns of every X a wrapped estimator is fitted on."""

    calls: list[tuple[str, pd.DataFrame]] = []


@pytest.fixture()
def spy_make_estimator(monkeypatch):
    real = families_module.make_estimator
    _Spy.calls = []

    def spying(name, task, params=None, **kwargs):
        estimator = real(name, task, params, **kwargs)
        fit = estimator.fit

        def recording_fit(X, y, **fit_kwargs):
            _Spy.calls.append((task, X.copy()))
            return fit(X, y, **fit_kwargs)

        estimator.fit = recording_fit
        return estimator

    monkeypatch.setattr(families_module, "make_estimator", spying)
    return _Spy


def test_cascade_feeds_out_of_fold_not_in_sample_predictions(xy, spy_make_estimator):
    X, Y, _ = xy
    Y = Y[[SIGNAL, NOISE]]
    trainer = ModelTrainer(threads=1, families=["linear"], strategy="cascade", cv=3).fit(X, Y)
    column = f"__cascade__{SIGNAL}"
    oof = trainer.oof_predictions_[(SIGNAL, "linear")]
    later = [X_fit for _, X_fit in spy_make_estimator.calls if column in X_fit]
    assert len(later) == 3 + 1  # every fold and the final fit of the second target
    for X_fit in later:
        seen = X_fit[column]
        expected = oof.loc[X_fit.index]
        # Rows with an out-of-fold prediction see exactly it; rows never in a test fold
        # get the training mean (linear models cannot take NaN) - never the in-sample fit.
        has_oof = expected.notna()
        np.testing.assert_array_equal(seen[has_oof].to_numpy(), expected[has_oof].to_numpy())
        if (~has_oof).any():
            fill = expected[has_oof].mean() if has_oof.any() else 0.0
            np.testing.assert_allclose(seen[~has_oof].to_numpy(), fill)


def test_cascade_does_not_leak_an_identical_target():
    # Target b is a copy of target a, which is pure noise. In-sample predictions of a
    # memorising model of a would reveal b; out-of-fold ones carry nothing.
    rng = np.random.default_rng(3)
    n = 600
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n // 3, freq="5min"), ["A", "B", "C"]],
        names=["timestamp", "symbol"],
    )
    X = pd.DataFrame(rng.normal(size=(n, 4)), index=index, columns=list("pqrs"))
    noise = rng.normal(size=n)
    Y = pd.DataFrame({"tgt_a_1b": noise, "tgt_b_1b": noise}, index=index)
    memorise = {"n_estimators": 40, "num_leaves": 63, "min_child_samples": 2, "learning_rate": 0.3}
    trainer = ModelTrainer(
        threads=1, families={"lightgbm": memorise}, strategy="cascade", cv=3
    ).fit(X, Y)
    in_sample = trainer.models_[("tgt_a_1b", "lightgbm")].predict(X)
    assert np.corrcoef(in_sample, noise)[0, 1] > 0.5  # in-sample would have leaked
    s = summary(trainer, "lightgbm")
    assert abs(s.loc["tgt_b_1b", "ic_mean"]) < 0.1
    assert s.loc["tgt_b_1b", "skill"] < 0.15


def test_n_jobs_gives_the_same_results(xy):
    X, Y, _ = xy
    Y = Y[[SIGNAL, NOISE]]
    kwargs = {"families": {"lightgbm": FAST_LGBM, "linear": {}}, "cv": 2, "random_state": 0}
    serial = ModelTrainer(threads=1, **kwargs).fit(X, Y)
    parallel = ModelTrainer(n_jobs=2, threads=1, **kwargs).fit(X, Y)
    pd.testing.assert_frame_equal(serial.oof_predictions_, parallel.oof_predictions_)
    pd.testing.assert_frame_equal(serial.predict(X), parallel.predict(X))
