"""scikit-learn's estimator checks on a single-target, single-family ModelTrainer."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from intelligent_training.training import ModelTrainer


@parametrize_with_checks([ModelTrainer(families=["linear"], cv=2)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
