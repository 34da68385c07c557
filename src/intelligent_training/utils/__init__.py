"""Declarative parameter checks shared by the estimators.

Estimator discovery (``all_estimators``, which imports every stage and family) lives in
:mod:`intelligent_training.discovery`, above everything it finds.
"""

from __future__ import annotations

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
    "stage_constraints",
]
