"""ModelTrainer's scikit-learn estimator type comes from ``task``, never from ``fit``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import KFold, StratifiedKFold, check_cv, cross_validate
from sklearn.utils import get_tags

from intelligent_training.exceptions import DataError
from intelligent_training.training import ModelTrainer

SIGNAL = "fwd_ret_5m"
BINARY = "y_up_15m"


def _trainer(**params):
    return ModelTrainer(families=["linear"], cv=2, threads=1, **params)


@pytest.mark.parametrize(
    ("task", "classifier", "regressor"),
    [("auto", False, False), ("regression", False, True), ("classification", True, False)],
)
def test_the_estimator_type_depends_only_on_task(xy, task, classifier, regressor):
    X, Y, _ = xy
    trainer = _trainer(task=task)
    before = get_tags(trainer)
    assert (is_classifier(trainer), is_regressor(trainer)) == (classifier, regressor)
    trainer.fit(X, Y[SIGNAL] if task == "regression" else Y[BINARY])
    assert get_tags(trainer) == before  # fit does not change the tags
    for est in (trainer, clone(trainer)):
        assert (is_classifier(est), is_regressor(est)) == (classifier, regressor)
    # A classifier has predict_proba before fit too (sklearn's available_if).
    assert hasattr(_trainer(task=task), "predict_proba") == classifier


def test_cross_validation_stratifies_a_classifier():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.r_[np.zeros(180, dtype=int), np.ones(60, dtype=int)])
    X = rng.normal(size=(240, 3))
    X[:, 0] += 3.0 * y
    trainer = _trainer(task="classification")
    assert isinstance(check_cv(3, y, classifier=is_classifier(trainer)), StratifiedKFold)
    result = cross_validate(trainer, X, y, cv=3, return_indices=True)
    for test in result["indices"]["test"]:
        assert np.bincount(y[test]).tolist() == [60, 20]  # the class ratio in every fold
    assert result["test_score"].min() > 0.8  # accuracy (ModelTrainer.score)
    # Without a declared type sklearn uses plain KFold, whose folds do not keep the ratio.
    auto = check_cv(3, y, classifier=is_classifier(_trainer()))
    assert type(auto) is KFold
    assert any(np.bincount(y[test]).tolist() != [60, 20] for _, test in auto.split(X, y))


def test_classification_on_a_continuous_target_is_an_error(xy):
    X, Y, _ = xy
    with pytest.raises(DataError, match=rf"task='classification'.*'{SIGNAL}'.*continuous"):
        _trainer(task="classification").fit(X, Y[SIGNAL])
    # every target of a DataFrame is checked
    with pytest.raises(DataError, match=rf"'{SIGNAL}' has continuous values"):
        _trainer(task="classification").fit(X, Y[[BINARY, SIGNAL]])


def test_classification_on_a_single_class_is_an_error(xy):
    X, _, _ = xy
    y = pd.Series(1, index=X.index, name="y_up_5m")
    with pytest.raises(DataError, match=r"single class \[1\].*at least two classes"):
        _trainer(task="classification").fit(X, y)


def test_regression_reads_class_labels_as_numbers(xy):
    X, Y, _ = xy
    trainer = _trainer(task="regression").fit(X, Y[BINARY])
    assert trainer.tasks_ == {BINARY: "regression"}
    assert not hasattr(trainer, "predict_proba") and not hasattr(trainer, "classes_")
    pred = trainer.predict(X)
    assert pred.dtype == np.float64 and not set(np.unique(pred)) <= {0.0, 1.0}
    auto = _trainer().fit(X, Y[BINARY])  # the same target, inferred: binary
    assert auto.tasks_ == {BINARY: "binary"} and set(auto.predict(X)) <= {0, 1}


def test_classification_takes_more_classes_than_auto_infers():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 2))
    y = np.clip(np.round(3 * X[:, 0] + 6), 0, 11).astype(int)  # 12 integer classes
    assert _trainer().fit(X, y).tasks_ == {"y": "regression"}  # auto: too many for classes
    trainer = _trainer(task="classification").fit(X, y)
    assert trainer.tasks_ == {"y": "multiclass"}
    np.testing.assert_array_equal(trainer.classes_, np.unique(y))
    assert trainer.predict_proba(X).shape == (600, len(np.unique(y)))


def test_predict_proba_of_a_trainer_fitted_on_several_targets_is_an_error(xy):
    X, Y, _ = xy
    labels = Y[[BINARY]].assign(y_up_60m=(Y[SIGNAL] > 0).astype(float).where(Y[SIGNAL].notna()))
    trainer = _trainer(task="classification").fit(X, labels)
    assert trainer.tasks_ == {BINARY: "binary", "y_up_60m": "binary"}
    with pytest.raises(DataError, match="fitted on one target"):
        trainer.predict_proba(X)
    assert list(trainer.predict(X).columns) == [BINARY, "y_up_60m"]


def test_a_trainer_pickled_before_task_existed_loads_as_auto():
    trainer = _trainer(task="classification")
    state = trainer.__getstate__()
    del state["task"]
    restored = ModelTrainer.__new__(ModelTrainer)
    restored.__setstate__(state)
    assert restored.get_params()["task"] == "auto" and not is_classifier(restored)
