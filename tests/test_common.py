"""scikit-learn's estimator checks over the library's estimators.

Every public estimator appears here once, in a fast configuration (tiny models, few
folds), and must pass :func:`sklearn.utils.estimator_checks.parametrize_with_checks`.
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from intelligent_training.selection import FeatureSelector
from intelligent_training.training import ModelTrainer


def _fast_feature_selector() -> FeatureSelector:
    return FeatureSelector(
        families={
            "linear": {},
            "random_forest": {"n_estimators": 10, "min_samples_leaf": 1, "max_samples": None},
        },
        importance=("native", "permutation"),
        n_repeats=1,
        cv=2,
        random_state=0,
    )


ESTIMATORS = [
    _fast_feature_selector(),
    # single target, single family: the trainer is an ordinary regressor/classifier
    ModelTrainer(families=["linear"], cv=2),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
