"""Feed-forward network (``mlp`` family)."""

from __future__ import annotations

from typing import Any

from intelligent_training.families.torch._base import TorchEstimatorBase
from intelligent_training.families.torch._common_params import (
    SIZES,
    _check_sizes,
    family_constraints,
    family_doc,
)
from intelligent_training.families.torch._task_mixins import (
    TorchClassifierMixin,
    TorchRegressorMixin,
)

_PARAMS = """hidden_sizes : tuple of int, default=(128, 64)
        Widths of the hidden ``Linear -> ReLU -> Dropout`` layers.
    dropout : float, default=0.1
        Dropout probability after each hidden layer."""


class _MLPBase(TorchEstimatorBase):
    _parameter_constraints = family_constraints(hidden_sizes=SIZES)

    def __init__(
        self,
        hidden_sizes: tuple[int, ...] = (128, 64),
        dropout: float = 0.1,
        max_epochs: int = 30,
        batch_size: int = 1024,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        patience: int = 4,
        validation_fraction: float = 0.15,
        validation_gap: int = 0,
        missing_indicators: bool = True,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.validation_gap = validation_gap
        self.missing_indicators = missing_indicators
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _build_module(self, n_inputs: int, n_outputs: int) -> Any:
        from intelligent_training.families.torch._nets import MLPNet

        sizes = _check_sizes("hidden_sizes", self.hidden_sizes)
        return MLPNet(n_inputs, n_outputs, sizes, float(self.dropout))


class MLPRegressor(TorchRegressorMixin, _MLPBase):
    __doc__ = family_doc(
        "Multi-layer perceptron regressor (``mlp`` family).",
        _PARAMS,
        extra="""
    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training.families.torch import MLPRegressor
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> model = MLPRegressor(max_epochs=3, random_state=0, device="cpu").fit(X, X[:, 0])
    >>> model.predict(X[:2]).shape
    (2,)
""",
    )


class MLPClassifier(TorchClassifierMixin, _MLPBase):
    __doc__ = family_doc(
        "Multi-layer perceptron classifier, binary or multiclass (``mlp`` family).",
        _PARAMS,
        "classes_ : ndarray\n        Class labels.",
    )
