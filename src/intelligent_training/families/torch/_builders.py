"""Builders of the torch families, called by the family registry.

Each ``build_<name>(task, params, *, random_state=None, n_jobs=None, cpu_only=False)``
returns an unfitted estimator. ``params`` are the registry's merged parameters
(packaged ``defaults.yaml`` + user overrides). Building imports torch so that a
missing installation fails early with
:class:`~intelligent_training.exceptions.MissingDependencyError`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from intelligent_training.exceptions import FamilyError
from intelligent_training.families.torch._gan import GANClassifier, GANRegressor
from intelligent_training.families.torch._mlp import MLPClassifier, MLPRegressor
from intelligent_training.families.torch._multi_task import MultiTaskNetwork
from intelligent_training.families.torch._runtime import import_torch
from intelligent_training.families.torch._sequence import (
    CNN1DClassifier,
    CNN1DRegressor,
    LSTMClassifier,
    LSTMRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from intelligent_training.families.torch._vae import VAEClassifier, VAERegressor

_RUNTIME_KEYS = ("random_state", "n_jobs", "device")


def _build(
    family: str,
    regressor: type,
    classifier: type | None,
    task: str,
    params: Mapping[str, Any] | None,
    *,
    random_state: Any,
    n_jobs: int | None,
    cpu_only: bool,
    multiclass: bool = True,
) -> Any:
    import_torch()
    tasks = ["regression", "binary"] + (["multiclass"] if multiclass else [])
    if task not in tasks:
        raise FamilyError(
            f"Family {family!r} does not support task {task!r}; use one of {', '.join(tasks)}."
        )
    cls = regressor if task == "regression" or classifier is None else classifier
    params = dict(params or {})
    valid = set(inspect.signature(cls).parameters)
    unknown = sorted(set(params) - valid)
    if unknown:
        raise FamilyError(
            f"Unknown parameter(s) {unknown} for family {family!r}; valid parameters: "
            f"{', '.join(sorted(valid - set(_RUNTIME_KEYS)))}."
        )
    for key, value in params.items():
        if key.endswith("_sizes") and isinstance(value, list):
            params[key] = tuple(value)  # YAML lists -> tuples (hashable, clone-stable)
    params["random_state"] = random_state
    params["n_jobs"] = n_jobs
    if cpu_only:
        params["device"] = "cpu"
    return cls(**params)


def build_mlp(
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
) -> Any:
    """Build an :class:`MLPRegressor` or :class:`MLPClassifier` for ``task``."""
    return _build(
        "mlp",
        MLPRegressor,
        MLPClassifier,
        task,
        params,
        random_state=random_state,
        n_jobs=n_jobs,
        cpu_only=cpu_only,
    )


def build_vae(
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
) -> Any:
    """Build a :class:`VAERegressor` or :class:`VAEClassifier` for ``task``."""
    return _build(
        "vae",
        VAERegressor,
        VAEClassifier,
        task,
        params,
        random_state=random_state,
        n_jobs=n_jobs,
        cpu_only=cpu_only,
    )


def build_gan(
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
) -> Any:
    """Build a :class:`GANRegressor` or :class:`GANClassifier` (binary only) for ``task``."""
    return _build(
        "gan",
        GANRegressor,
        GANClassifier,
        task,
        params,
        random_state=random_state,
        n_jobs=n_jobs,
        cpu_only=cpu_only,
        multiclass=False,
    )


def build_multi_task(
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
) -> Any:
    """Build a :class:`MultiTaskNetwork`.

    ``task`` may be ``"multi"`` (a DataFrame ``Y`` of mixed regression/binary
    columns), ``"regression"`` or ``"binary"``; the per-column tasks are inferred
    from ``Y`` at fit time unless ``params["tasks"]`` sets them.
    """
    if task == "multi":
        task = "regression"
    return _build(
        "multi_task",
        MultiTaskNetwork,
        None,
        task,
        params,
        random_state=random_state,
        n_jobs=n_jobs,
        cpu_only=cpu_only,
        multiclass=False,
    )


def build_cnn1d(
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
) -> Any:
    """Build a :class:`CNN1DRegressor` or :class:`CNN1DClassifier` for ``task``."""
    return _build(
        "cnn1d",
        CNN1DRegressor,
        CNN1DClassifier,
        task,
        params,
        random_state=random_state,
        n_jobs=n_jobs,
        cpu_only=cpu_only,
    )


def build_lstm(
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
) -> Any:
    """Build an :class:`LSTMRegressor` or :class:`LSTMClassifier` for ``task``."""
    return _build(
        "lstm",
        LSTMRegressor,
        LSTMClassifier,
        task,
        params,
        random_state=random_state,
        n_jobs=n_jobs,
        cpu_only=cpu_only,
    )


def build_transformer(
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
) -> Any:
    """Build a :class:`TransformerRegressor` or :class:`TransformerClassifier` for ``task``."""
    return _build(
        "transformer",
        TransformerRegressor,
        TransformerClassifier,
        task,
        params,
        random_state=random_state,
        n_jobs=n_jobs,
        cpu_only=cpu_only,
    )
