"""ModelTrainer's API: outputs, failures, max_rows_train, validation, no input mutation."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier

from intelligent_training.exceptions import ConfigError, DataError, FamilyError
from intelligent_training.training import ModelTrainer
from intelligent_training.training._strategies import recent_rows as _recent_rows

from ._helpers import FAST_LGBM, summary

SIGNAL = "fwd_ret_5m"
BINARY = "y_up_15m"


def test_series_target_predicts_a_1d_array(xy):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families={"lightgbm": FAST_LGBM, "linear": {}}, cv=2).fit(
        X, Y[SIGNAL]
    )
    pred = trainer.predict(X)
    assert isinstance(pred, np.ndarray) and pred.shape == (len(X),)
    # task="auto" declares no scikit-learn type (test_estimator_type.py); it acts as a
    # regressor on a regression target
    assert not hasattr(trainer, "predict_proba")
    # The ensemble is the mean of the families' predictions.
    per_family = trainer.predict_all(X)
    assert list(per_family.columns) == [(SIGNAL, "lightgbm"), (SIGNAL, "linear")]
    np.testing.assert_allclose(pred, per_family.mean(axis=1).to_numpy())
    assert trainer.score(X, Y[SIGNAL]) > 0.3
    assert trainer.targets_ == [SIGNAL] and trainer.n_features_in_ == X.shape[1]
    assert list(trainer.feature_names_in_) == list(X.columns)


def test_binary_series_target_is_a_classifier(xy):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families={"lightgbm": FAST_LGBM, "linear": {}}, cv=2).fit(
        X, Y[BINARY]
    )
    assert hasattr(trainer, "predict_proba")  # "auto" on one binary target acts as a classifier
    np.testing.assert_array_equal(trainer.classes_, np.unique(Y[BINARY]))
    proba = trainer.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Mean of the families' positive-class probabilities, thresholded at one half.
    mean_p = trainer.predict_all(X).mean(axis=1).to_numpy()
    np.testing.assert_allclose(proba[:, 1], mean_p)
    np.testing.assert_array_equal(trainer.predict(X), trainer.classes_[(mean_p > 0.5).astype(int)])
    assert 0.6 < trainer.score(X, Y[BINARY]) <= 1.0
    assert not is_classifier(trainer)  # tags from the parameters ("auto": no type), not fit


def test_dataframe_targets_predict_a_dataframe(xy):
    X, Y, _ = xy
    Y = Y[[SIGNAL, BINARY]]
    trainer = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, Y)
    pred = trainer.predict(X.iloc[:30])
    assert isinstance(pred, pd.DataFrame)
    assert list(pred.columns) == [SIGNAL, BINARY]
    assert pred.index.equals(X.index[:30])
    assert pred[BINARY].between(0, 1).all()  # binary targets: P(positive class)
    all_pred = trainer.predict_all(X.iloc[:30])
    np.testing.assert_allclose(all_pred[(BINARY, "linear")], pred[BINARY])
    assert trainer.tasks_ == {SIGNAL: "regression", BINARY: "binary"}
    assert trainer.horizons_ == {SIGNAL: pd.Timedelta("5min"), BINARY: pd.Timedelta("15min")}


def test_multiclass_target(xy):
    X, Y, _ = xy
    y = pd.Series(
        np.digitize(Y[SIGNAL].fillna(0.0), np.quantile(Y[SIGNAL].dropna(), [1 / 3, 2 / 3])),
        index=X.index,
        name="y_tercile_5m",
    )
    trainer = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, y)
    assert trainer.tasks_ == {"y_tercile_5m": "multiclass"}
    assert trainer.predict_proba(X).shape == (len(X), 3)
    assert set(trainer.predict(X)) <= {0, 1, 2}
    assert summary(trainer).loc["y_tercile_5m", "auc"] > 0.7


def test_nan_target_rows_are_dropped_per_target(xy):
    X, Y, _ = xy
    Y = Y[[SIGNAL, "fwd_ret_60m"]].copy()
    Y.iloc[-3:, 0] = np.nan  # the last bar of a 5m label is unknown
    Y.iloc[-36:, 1] = np.nan  # the last 12 bars of a 60m label
    Y.iloc[7, 1] = np.nan
    trainer = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, Y)
    s = summary(trainer)
    assert s.loc[SIGNAL, "n_final"] == Y[SIGNAL].notna().sum()
    assert s.loc["fwd_ret_60m", "n_final"] == Y["fwd_ret_60m"].notna().sum()
    oof = trainer.oof_predictions_[("fwd_ret_60m", "linear")]
    assert oof[Y["fwd_ret_60m"].isna()].isna().all()


def test_input_is_not_modified(xy):
    X, Y, _ = xy
    X0, Y0 = X.copy(), Y.copy()
    ModelTrainer(threads=1, families=["linear"], strategy="cascade", cv=2).fit(
        X, Y[[SIGNAL, BINARY]]
    )
    pd.testing.assert_frame_equal(X, X0)
    pd.testing.assert_frame_equal(Y, Y0)


def test_failing_family_is_recorded_and_skipped(xy, caplog):
    X, Y, _ = xy
    broken = {**FAST_LGBM, "num_leaves": -5}  # LightGBM refuses this at fit time
    with caplog.at_level(logging.WARNING, logger="intelligent_training.training"):
        trainer = ModelTrainer(threads=1, families={"lightgbm": broken, "linear": {}}, cv=2).fit(
            X, Y[[SIGNAL, BINARY]]
        )
    assert set(trainer.models_) == {(SIGNAL, "linear"), (BINARY, "linear")}
    failed = trainer.cv_metrics_.query("family == 'lightgbm'")
    assert len(failed) == 2 * (2 + 1)
    assert (failed["status"] == "failed").all()
    assert failed["error"].str.contains("num_leaves").all()
    assert (trainer.cv_metrics_.query("family == 'linear'")["status"] == "ok").all()
    assert "lightgbm" in caplog.text and "num_leaves" in caplog.text
    pred = trainer.predict(X)
    assert list(pred.columns) == [SIGNAL, BINARY]
    assert list(trainer.oof_predictions_.columns) == [(SIGNAL, "linear"), (BINARY, "linear")]


def test_all_families_failing_raises(xy):
    X, Y, _ = xy
    broken = {**FAST_LGBM, "num_leaves": -5}
    with pytest.raises(FamilyError, match=r"(?s)Every model family failed.*num_leaves"):
        ModelTrainer(threads=1, families={"lightgbm": broken}, cv=2).fit(X, Y[SIGNAL])


def test_family_without_the_task_is_skipped(xy):
    X, Y, _ = xy
    y = pd.Series(np.arange(len(X)) % 3, index=X.index, name="y_cls_5m")
    trainer = ModelTrainer(threads=1, families=["linear", "gan"], cv=2).fit(
        X, y
    )  # gan: no multiclass
    row = summary(trainer).loc["y_cls_5m"].set_index("family").loc["gan"]
    assert row["status"] == "skipped" and "multiclass" in row["error"]
    assert list(trainer.models_) == [("y_cls_5m", "linear")]


def test_max_rows_train_fits_final_models_on_the_latest_timestamps(xy):
    X, Y, _ = xy
    y = Y[SIGNAL]
    full = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, y)
    capped = ModelTrainer(threads=1, families=["linear"], cv=2, max_rows_train=301).fit(X, y)
    assert summary(capped).loc[SIGNAL, "n_final"] == 300  # whole timestamps of 3 symbols
    # Cross-validation is unchanged; only the final models differ.
    pd.testing.assert_frame_equal(full.oof_predictions_, capped.oof_predictions_)
    recent = X.index.get_level_values("timestamp") >= X.index.get_level_values("timestamp")[-300]
    manual = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X[recent], y[recent])
    np.testing.assert_allclose(capped.predict(X), manual.predict(X))


def test_recent_rows_keeps_whole_latest_timestamps():
    ts = np.repeat(np.arange(10), 3)
    rows = np.arange(30)
    np.testing.assert_array_equal(_recent_rows(rows, ts, 7), np.arange(24, 30))
    np.testing.assert_array_equal(_recent_rows(rows, ts, 9), np.arange(21, 30))
    np.testing.assert_array_equal(_recent_rows(rows, ts, 2), np.arange(27, 30))
    np.testing.assert_array_equal(_recent_rows(rows, ts, None), rows)


def test_array_input_rows_are_consecutive_bars():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=400)
    trainer = ModelTrainer(threads=1, families=["linear"], cv=3).fit(X, y)
    assert trainer.predict(X).shape == (400,)
    assert summary(trainer).loc["y", "r2"] > 0.8
    assert list(trainer.oof_predictions_.index) == list(range(400))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"strategy": "joint"}, "strategy"),
        ({"max_rows_train": 0}, "max_rows_train"),
        ({"threads": -1}, "threads"),
        ({"cv": "five"}, "cv"),
        ({"horizons": ["5m"]}, "horizons"),
        ({"task": "binary"}, r"'task' parameter of ModelTrainer must be a str among"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"default_horizon": "soon"}, "default_horizon"),
    ],
)
def test_invalid_parameters_raise_config_error(xy, params, match):
    X, Y, _ = xy
    with pytest.raises(ConfigError, match=match):
        ModelTrainer(**{"families": ["linear"], "threads": 1, **params}).fit(X, Y[SIGNAL])


def test_bad_data_raises_data_error(xy):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families=["linear"], cv=2)
    X_inf = X.copy()
    X_inf.iloc[5, 2] = np.inf
    with pytest.raises(DataError, match=f"infinity in feature column.*{X.columns[2]}"):
        trainer.fit(X_inf, Y[SIGNAL])
    with pytest.raises(DataError, match="not on the same index as X"):
        trainer.fit(X, Y[SIGNAL].iloc[::-1])
    with pytest.raises(DataError, match="every row"):
        trainer.fit(X, pd.Series(np.nan, index=X.index, name="fwd_ret_5m"))
    with pytest.raises(DataError, match="inconsistent numbers of samples"):
        trainer.fit(X, Y[SIGNAL].to_numpy()[:-1])


@pytest.mark.parametrize("family", ["lightgbm", "linear"])
def test_nan_features_are_missing_values_not_errors(xy, family):
    X, Y, _ = xy
    X_nan = X.copy()
    X_nan.iloc[::7, [1, 3]] = np.nan
    trainer = ModelTrainer(families=[family], cv=2, threads=1, random_state=0)
    trainer.fit(X_nan, Y[SIGNAL])
    pred = trainer.predict(X_nan)
    assert np.isfinite(pred).all()
    summary = trainer.cv_metrics_.query("fold == 'mean'")
    assert (summary["status"] == "ok").all()
    assert float(summary["r2"].iloc[0]) > 0.3


def test_horizon_overrides_change_the_purge(xy):
    X, Y, _ = xy
    y = Y[SIGNAL]
    default = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, y)
    longer = ModelTrainer(threads=1, families=["linear"], cv=2, horizons={SIGNAL: 20}).fit(X, y)
    assert longer.horizons_[SIGNAL] == 20

    def n_train(trainer):
        return trainer.cv_metrics_.query("fold != 'mean'")["n_train"].to_numpy()

    assert (n_train(longer) < n_train(default)).all()


def test_integer_labels_keep_their_dtype(xy):
    X, Y, _ = xy
    y = (Y[BINARY] > 0).astype(np.int64) * 2 - 1  # labels -1 / +1
    trainer = ModelTrainer(threads=1, families=["linear"], cv=2).fit(X, y)
    assert trainer.classes_.tolist() == [-1, 1]
    pred = trainer.predict(X)
    assert pred.dtype == np.int64 and set(pred) <= {-1, 1}


@pytest.mark.parametrize("scale", [1e300, 1e16])
def test_an_overflowing_target_is_a_data_error_in_every_stage(xy, scale):
    """The one label rule (evaluation.encode_target): |y| beyond MAX_ABS_TARGET is refused
    before any cell runs, by the trainer, the ranker and the selector alike."""
    from intelligent_training import FeatureSelector, TargetRanker
    from intelligent_training.evaluation._labels import MAX_ABS_TARGET

    X, Y, _ = xy
    y = Y[SIGNAL] * scale
    assert np.abs(y).max() > MAX_ABS_TARGET
    fits = (
        lambda: ModelTrainer(families=["linear"], cv=2).fit(X, y),
        lambda: TargetRanker(families=["linear"], cv=2).fit(X, y.to_frame()),
        lambda: FeatureSelector(families=["linear"], require_min_models=1, cv=2).fit(X, y),
    )
    for fit in fits:
        with pytest.raises(DataError, match=rf"target '{SIGNAL}' has values up to .*rescale"):
            fit()
    ModelTrainer(families=["linear"], cv=2).fit(X, Y[SIGNAL] * 1e6)  # large but fine


def test_summary_row_sizes_are_the_folds_means_and_the_final_fit_is_its_own_column(xy):
    X, Y, _ = xy
    trainer = ModelTrainer(threads=1, families=["linear"], cv=3).fit(X, Y[SIGNAL])
    metrics = trainer.cv_metrics_
    folds = metrics[metrics["fold"].astype(str) != "mean"]
    mean = metrics[metrics["fold"].astype(str) == "mean"].iloc[0]
    assert mean["n_train"] == folds["n_train"].mean()
    assert mean["n_test"] == folds["n_test"].mean()
    assert mean["n_final"] == Y[SIGNAL].notna().sum()
    assert folds["n_final"].isna().all()
