"""ModelTrainer with CombinatorialPurgedSplit as cv: one OOF prediction per row per path."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.families import make_estimator
from intelligent_training.model_selection import CombinatorialPurgedSplit
from intelligent_training.training import ModelTrainer


def test_oof_predictions_hold_one_prediction_per_row_per_path():
    panel, truth = make_synthetic_panel(n_symbols=2, n_timestamps=240, random_state=0)
    target = truth.linear_target
    X = panel[truth.informative_features[target]]
    y = panel[target]
    cv = CombinatorialPurgedSplit(n_folds=4, n_test_folds=2)
    trainer = ModelTrainer(families=["linear"], cv=cv, random_state=0, verbose=False).fit(X, y)
    cv = clone(cv)

    oof = trainer.oof_predictions_[(target, "linear")]
    n_paths = len(cv.get_paths())  # C(3, 1) = 3
    assert oof.index.names == ["path", *X.index.names]
    assert len(oof) == n_paths * len(X)
    assert not oof.isna().any()  # every path covers every row once
    # Oracle: the prediction of a row on path p comes from the split that path p takes
    # for the row's fold, fitted on that split's (purged) training rows.
    timestamps = X.index.get_level_values("timestamp")
    fitted_cv = cv.set_params(horizon=trainer.horizons_[target])  # as the trainer purges
    folds = cv.fold_ids(X, None, timestamps)
    splits = list(fitted_cv.split(X, y, groups=timestamps))
    for p, row in enumerate(np.asarray(cv.get_paths())):
        for fold, split in enumerate(row):
            train, test = splits[split]
            rows = test[folds[test] == fold]
            model = make_estimator("linear", "regression", random_state=0)
            model.fit(X.iloc[train], y.iloc[train])
            expected = model.predict(X.iloc[rows])
            got = oof.xs(p, level="path").iloc[rows].to_numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # The paths differ (different training sets), and their mean is a sound forecast.
    by_path = oof.unstack("path")
    assert not np.allclose(by_path[0], by_path[1])
    assert np.corrcoef(by_path.mean(axis=1), y.loc[by_path.index])[0, 1] > 0.3
    assert isinstance(trainer.cv_metrics_, pd.DataFrame)
    folds_scored = set(trainer.cv_metrics_["fold"]) - {"mean"}
    assert folds_scored == set(range(cv.get_n_splits()))
