"""intelligent-training: rank targets, select features and train many model families.

All heavy work happens under leakage-free purged time-series cross-validation on a
multi-symbol panel (a DataFrame indexed by ``("timestamp", "symbol")``).

The public names are resolved lazily so that ``import intelligent_training`` stays
cheap and never imports torch, dask or shap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from intelligent_training._version import __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from intelligent_training.cache import DiskCacheMemory
    from intelligent_training.data import load_panel, split_features_targets
    from intelligent_training.families import available_families
    from intelligent_training.model_selection import (
        CombinatorialPurgedSplit,
        PurgedTimeSeriesSplit,
    )
    from intelligent_training.pipeline import IntelligentPipeline
    from intelligent_training.ranking import TargetRanker
    from intelligent_training.selection import FeatureSelector
    from intelligent_training.training import ModelTrainer

_EXPORTS: dict[str, str] = {
    "CombinatorialPurgedSplit": "intelligent_training.model_selection",
    "DiskCacheMemory": "intelligent_training.cache",
    "FeatureSelector": "intelligent_training.selection",
    "IntelligentPipeline": "intelligent_training.pipeline",
    "ModelTrainer": "intelligent_training.training",
    "PurgedTimeSeriesSplit": "intelligent_training.model_selection",
    "TargetRanker": "intelligent_training.ranking",
    "available_families": "intelligent_training.families",
    "load_panel": "intelligent_training.data",
    "split_features_targets": "intelligent_training.data",
}

__all__ = [
    "CombinatorialPurgedSplit",
    "DiskCacheMemory",
    "FeatureSelector",
    "IntelligentPipeline",
    "ModelTrainer",
    "PurgedTimeSeriesSplit",
    "TargetRanker",
    "__version__",
    "available_families",
    "load_panel",
    "split_features_targets",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'intelligent_training' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
