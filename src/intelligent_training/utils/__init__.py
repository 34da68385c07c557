"""Developer utilities: estimator discovery and declarative parameter checks.

Examples
--------
>>> from intelligent_training.utils import all_estimators
>>> names = [name for name, _ in all_estimators()]
>>> "TargetRanker" in names and "FeatureSelector" in names
True
"""

from __future__ import annotations

from intelligent_training.utils._discovery import all_estimators
from intelligent_training.utils._param_validation import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    STAGE_CONSTRAINTS,
    HorizonLike,
    MappingOf,
    PositiveSizes,
    Predicate,
    StrictInterval,
    Subset,
    ValidatedParamsMixin,
    stage_constraints,
)

__all__ = [
    "NON_NEGATIVE_INT",
    "POSITIVE_INT",
    "STAGE_CONSTRAINTS",
    "HorizonLike",
    "MappingOf",
    "PositiveSizes",
    "Predicate",
    "StrictInterval",
    "Subset",
    "ValidatedParamsMixin",
    "all_estimators",
    "stage_constraints",
]
