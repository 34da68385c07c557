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
from intelligent_training.utils._param_validation import PositiveSizes, ValidatedParamsMixin

__all__ = ["PositiveSizes", "ValidatedParamsMixin", "all_estimators"]
