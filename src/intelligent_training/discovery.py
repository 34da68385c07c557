"""Discovery of the library's public estimators (like ``sklearn.utils.all_estimators``).

It imports every stage and every installed family, so it sits above all of them (the top
layer of ``docs/architecture.md``); nothing in the library imports it.

Examples
--------
>>> from intelligent_training.discovery import all_estimators
>>> names = [name for name, _ in all_estimators()]
>>> "TargetRanker" in names and "FeatureSelector" in names
True
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["all_estimators"]

_STAGES = (
    ("intelligent_training.ranking", "TargetRanker"),
    ("intelligent_training.selection", "FeatureSelector"),
    ("intelligent_training.training", "ModelTrainer"),
    ("intelligent_training.pipeline", "IntelligentPipeline"),
)
_TYPES = ("classifier", "regressor", "transformer", "stage", "family")


def _stage_classes() -> list[type]:
    import importlib

    return [getattr(importlib.import_module(module), name) for module, name in _STAGES]


def _family_classes() -> list[type]:
    from intelligent_training.families import available_families, get_family

    classes: list[type] = []
    for name in available_families(installed_only=True):
        for cls in get_family(name).estimator_classes():
            if cls not in classes:
                classes.append(cls)
    return classes


def _matches(cls: type, kind: str, stages: list[type]) -> bool:
    from sklearn.base import ClassifierMixin, RegressorMixin, TransformerMixin

    if kind == "stage":
        return cls in stages
    if kind == "family":
        return cls not in stages
    mixin = {
        "classifier": ClassifierMixin,
        "regressor": RegressorMixin,
        "transformer": TransformerMixin,
    }[kind]
    return issubclass(cls, mixin)


def all_estimators(type_filter: str | Iterable[str] | None = None) -> list[tuple[str, type]]:
    """Every public estimator class of the library, as ``(name, class)`` sorted by name.

    The four stages (``TargetRanker``, ``FeatureSelector``, ``ModelTrainer``,
    ``IntelligentPipeline``) and the estimator class of every registered model family
    whose optional dependency is installed (the torch families only with torch).

    Parameters
    ----------
    type_filter : str, list of str or None
        Keep only ``"classifier"``, ``"regressor"``, ``"transformer"`` (by their
        scikit-learn mixin), ``"stage"`` or ``"family"`` classes; several kinds keep
        their union. ``None`` keeps all.

    Returns
    -------
    list of (str, type)

    Examples
    --------
    >>> from intelligent_training.discovery import all_estimators
    >>> dict(all_estimators("stage")).keys() >= {"TargetRanker", "ModelTrainer"}
    True
    >>> "StandardizedRidge" in dict(all_estimators("regressor"))
    True
    """
    stages = _stage_classes()
    classes = stages + [cls for cls in _family_classes() if cls not in stages]
    if type_filter is not None:
        kinds = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = sorted(set(kinds) - set(_TYPES))
        if unknown:
            from intelligent_training.exceptions import ConfigError

            raise ConfigError(
                f"all_estimators: unknown type_filter {unknown}; use any of {list(_TYPES)}."
            )
        classes = [c for c in classes if any(_matches(c, k, stages) for k in kinds)]
    return sorted(((cls.__name__, cls) for cls in classes), key=lambda item: item[0])
