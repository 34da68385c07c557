"""Torch model families: ``mlp``, ``vae``, ``gan``, ``multi_task``, ``cnn1d``, ``lstm``,
``transformer``.

Importing this package does not import torch; torch is imported when an estimator
is built or fitted, and a missing installation raises
:class:`~intelligent_training.exceptions.MissingDependencyError` with the command
``pip install "intelligent-training[torch]"``. The family registry
(:mod:`intelligent_training.families`) calls the ``build_<name>`` functions; the
estimator classes can also be used directly. See ``docs/torch_families.md``.
"""

from __future__ import annotations

from intelligent_training.families.torch._builders import (
    build_cnn1d,
    build_gan,
    build_lstm,
    build_mlp,
    build_multi_task,
    build_transformer,
    build_vae,
)
from intelligent_training.families.torch._gan import GANClassifier, GANRegressor
from intelligent_training.families.torch._mlp import MLPClassifier, MLPRegressor
from intelligent_training.families.torch._multi_task import MultiTaskNetwork
from intelligent_training.families.torch._sequence import (
    CNN1DClassifier,
    CNN1DRegressor,
    LSTMClassifier,
    LSTMRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from intelligent_training.families.torch._vae import VAEClassifier, VAERegressor
from intelligent_training.families.torch._windows import lookback_indices

__all__ = [
    "CNN1DClassifier",
    "CNN1DRegressor",
    "GANClassifier",
    "GANRegressor",
    "LSTMClassifier",
    "LSTMRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "MultiTaskNetwork",
    "TransformerClassifier",
    "TransformerRegressor",
    "VAEClassifier",
    "VAERegressor",
    "build_cnn1d",
    "build_gan",
    "build_lstm",
    "build_mlp",
    "build_multi_task",
    "build_transformer",
    "build_vae",
    "lookback_indices",
]
