"""Builders of the torch families, called by the family registry.

Each ``build_<name>(task, params, *, random_state=None, n_jobs=None, cpu_only=False)``
returns an unfitted estimator. ``params`` are the registry's merged parameters
(packaged ``defaults.yaml`` + user overrides). Building imports torch so that a
missing installation fails early with
:class:`~intelligent_training.exceptions.MissingDependencyError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intelligent_training.exceptions import FamilyError
from intelligent_training.families._registry import split_runtime_params
from intelligent_training.families._validation import validate_family_params
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
    validate_family_params(family, params, task)
    params, random_state, n_jobs = split_runtime_params(
        dict(params or {}), random_state=random_state, n_jobs=n_jobs
    )
    for key, value in params.items():
        if key.endswith("_sizes") and isinstance(value, list):
            params[key] = tuple(value)  # YAML lists -> tuples (hashable, clone-stable)
    params["random_state"] = random_state
    params["n_jobs"] = n_jobs
    if cpu_only and "device" not in params:
        params["device"] = "cpu"
    return cls(**params)


class _Builder:
    """``build_<family>(task, params, *, random_state, n_jobs, cpu_only)`` for one family.

    Parameters
    ----------
    family : str
        Registry name.
    regressor, classifier : type
        Estimator classes for regression and for classification (``classifier=None``:
        one class serves every task).
    multiclass : bool, default=True
        Whether the classifier handles more than two classes.
    """

    def __init__(
        self, family: str, regressor: type, classifier: type | None, *, multiclass: bool = True
    ) -> None:
        self.family = family
        self.regressor = regressor
        self.classifier = classifier
        self.multiclass = multiclass
        names = regressor.__name__ + (f" or {classifier.__name__}" if classifier else "")
        self.__name__ = self.__qualname__ = f"build_{family}"
        self.__doc__ = f"Build an unfitted {names} for ``task`` (see the module docstring)."

    def __call__(
        self,
        task: str,
        params: Mapping[str, Any] | None = None,
        *,
        random_state: Any = None,
        n_jobs: int | None = None,
        cpu_only: bool = False,
    ) -> Any:
        if self.family == "multi_task" and task == "multi":
            # A DataFrame Y of mixed columns; the heads' tasks come from params["tasks"]
            # or are inferred from Y at fit time.
            task = "regression"
        return _build(
            self.family,
            self.regressor,
            self.classifier,
            task,
            params,
            random_state=random_state,
            n_jobs=n_jobs,
            cpu_only=cpu_only,
            multiclass=self.multiclass,
        )


build_mlp = _Builder("mlp", MLPRegressor, MLPClassifier)
build_vae = _Builder("vae", VAERegressor, VAEClassifier)
build_gan = _Builder("gan", GANRegressor, GANClassifier, multiclass=False)
build_multi_task = _Builder("multi_task", MultiTaskNetwork, None, multiclass=False)
build_cnn1d = _Builder("cnn1d", CNN1DRegressor, CNN1DClassifier)
build_lstm = _Builder("lstm", LSTMRegressor, LSTMClassifier)
build_transformer = _Builder("transformer", TransformerRegressor, TransformerClassifier)
