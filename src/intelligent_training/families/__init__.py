"""Model families: a registry of named, sklearn-style estimators.

Every family (``lightgbm``, ``xgboost``, ``random_forest``, ``extra_trees``, ``linear``,
``ngboost``, ``meta_learning`` and the torch families ``mlp``, ``vae``, ``gan``,
``multi_task``, ``cnn1d``, ``lstm``, ``transformer``) is registered by name and built for
a task (``regression``, ``binary``, ``multiclass``) by :func:`make_estimator`, with
defaults from the packaged ``defaults.yaml``. Importing this package imports neither
torch nor any other optional dependency.

Examples
--------
>>> from intelligent_training.families import get_family, resolve_families
>>> get_family("lightgbm").kind
'tree'
>>> list(resolve_families(["lightgbm", "linear"]))
['lightgbm', 'linear']
"""

from __future__ import annotations

from intelligent_training.families._linear import (
    StandardizedLogisticRegression,
    StandardizedRidge,
)
from intelligent_training.families._meta import MetaLearningClassifier, MetaLearningRegressor
from intelligent_training.families._registry import (
    FamilySpec,
    available_families,
    family_params,
    get_family,
    make_estimator,
    register_family,
    resolve_families,
    split_runtime_params,
    unregister_family,
)
from intelligent_training.families._validation import validate_family_params

__all__ = [
    "FamilySpec",
    "MetaLearningClassifier",
    "MetaLearningRegressor",
    "StandardizedLogisticRegression",
    "StandardizedRidge",
    "available_families",
    "family_params",
    "get_family",
    "make_estimator",
    "register_family",
    "resolve_families",
    "split_runtime_params",
    "unregister_family",
    "validate_family_params",
]
