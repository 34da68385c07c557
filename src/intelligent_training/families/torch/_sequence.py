"""Sequence families over per-symbol lookback windows: ``cnn1d``, ``lstm``, ``transformer``.

Each row is predicted from its window of the last ``lookback`` rows of the same
symbol (see :mod:`~intelligent_training.families.torch._windows`): windows never
cross symbols and never contain a later row. Rows with a short history are
left-padded with zeros and the extra mask input channel (1 = real row,
0 = padding) marks the padded steps; the transformer also masks them out of
attention. Windows are gathered batch by batch from the standardised feature
matrix, so memory stays ``O(n_rows * (n_features + lookback))``.

``predict`` builds windows from the ``X`` it is given: pass the preceding rows too
(and ignore their predictions) when the first ``lookback - 1`` rows per symbol
should see their real history rather than padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intelligent_training.exceptions import ConfigError
from intelligent_training.families.torch._base import TorchEstimatorBase
from intelligent_training.families.torch._common_params import (
    POSITIVE_INT,
    family_constraints,
    family_doc,
)
from intelligent_training.families.torch._runtime import import_torch
from intelligent_training.families.torch._task_mixins import (
    TorchClassifierMixin,
    TorchRegressorMixin,
)
from intelligent_training.families.torch._windows import gather_windows, lookback_indices

_LOOKBACK_DOC = """lookback : int, default=16
        Window length in rows of the same symbol, the current row included."""


class _SequenceBase(TorchEstimatorBase):
    """Window plumbing shared by the sequence families."""

    def _n_module_inputs(self, n_columns: int) -> int:
        return n_columns + 1  # + the mask channel

    def _prepare_inputs(self, X: Any, Xs: np.ndarray, device: str) -> dict[str, Any]:
        torch = import_torch()
        windows = lookback_indices(X, int(self.lookback), n_rows=Xs.shape[0])
        return {
            "features": torch.as_tensor(Xs, device=device),
            "windows": torch.as_tensor(windows, device=device),
        }

    def _take(self, inputs: dict[str, Any], rows: Any) -> Any:
        return gather_windows(inputs["features"], inputs["windows"][rows])


# ---------------------------------------------------------------- cnn1d
_CNN_PARAMS = (
    _LOOKBACK_DOC
    + """
    channels : int, default=32
        Convolution channels.
    kernel_size : int, default=3
        Temporal kernel size (odd values keep the window length).
    n_layers : int, default=2
        Number of convolution layers.
    dropout : float, default=0.1
        Dropout after each convolution."""
)


class _CNN1DBase(_SequenceBase):
    _parameter_constraints = family_constraints(
        lookback=POSITIVE_INT,
        channels=POSITIVE_INT,
        kernel_size=POSITIVE_INT,
        n_layers=POSITIVE_INT,
    )

    def __init__(
        self,
        lookback: int = 16,
        channels: int = 32,
        kernel_size: int = 3,
        n_layers: int = 2,
        dropout: float = 0.1,
        max_epochs: int = 20,
        batch_size: int = 1024,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-5,
        patience: int = 3,
        validation_fraction: float = 0.15,
        validation_gap: int = 0,
        missing_indicators: bool = True,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.lookback = lookback
        self.channels = channels
        self.kernel_size = kernel_size
        self.n_layers = n_layers
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
        from intelligent_training.families.torch._nets import CNN1DNet

        return CNN1DNet(
            n_inputs,
            n_outputs,
            int(self.channels),
            int(self.kernel_size),
            int(self.n_layers),
            float(self.dropout),
        )


class CNN1DRegressor(TorchRegressorMixin, _CNN1DBase):
    __doc__ = family_doc("1-D CNN regressor over lookback windows (``cnn1d`` family).", _CNN_PARAMS)


class CNN1DClassifier(TorchClassifierMixin, _CNN1DBase):
    __doc__ = family_doc(
        "1-D CNN classifier over lookback windows (``cnn1d`` family).",
        _CNN_PARAMS,
        "classes_ : ndarray\n        Class labels.",
    )


# ----------------------------------------------------------------- lstm
_LSTM_PARAMS = (
    _LOOKBACK_DOC
    + """
    hidden_size : int, default=32
        LSTM hidden size.
    num_layers : int, default=1
        Stacked LSTM layers.
    dropout : float, default=0.0
        Dropout between stacked layers (only when ``num_layers > 1``)."""
)


class _LSTMBase(_SequenceBase):
    _parameter_constraints = family_constraints(
        lookback=POSITIVE_INT, hidden_size=POSITIVE_INT, num_layers=POSITIVE_INT
    )

    def __init__(
        self,
        lookback: int = 16,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        max_epochs: int = 20,
        batch_size: int = 1024,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-5,
        patience: int = 3,
        validation_fraction: float = 0.15,
        validation_gap: int = 0,
        missing_indicators: bool = True,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.lookback = lookback
        self.hidden_size = hidden_size
        self.num_layers = num_layers
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
        from intelligent_training.families.torch._nets import LSTMNet

        return LSTMNet(
            n_inputs, n_outputs, int(self.hidden_size), int(self.num_layers), float(self.dropout)
        )


class LSTMRegressor(TorchRegressorMixin, _LSTMBase):
    __doc__ = family_doc("LSTM regressor over lookback windows (``lstm`` family).", _LSTM_PARAMS)


class LSTMClassifier(TorchClassifierMixin, _LSTMBase):
    __doc__ = family_doc(
        "LSTM classifier over lookback windows (``lstm`` family).",
        _LSTM_PARAMS,
        "classes_ : ndarray\n        Class labels.",
    )


# ---------------------------------------------------------- transformer
_TRANSFORMER_PARAMS = (
    _LOOKBACK_DOC
    + """
    d_model : int, default=32
        Embedding width.
    n_heads : int, default=2
        Attention heads (must divide ``d_model``).
    n_layers : int, default=1
        Encoder layers.
    dim_feedforward : int, default=64
        Width of each layer's feed-forward block.
    dropout : float, default=0.0
        Dropout inside the encoder (off by default: ~20% faster on CPU; early
        stopping and weight decay regularise)."""
)


class _TransformerBase(_SequenceBase):
    _parameter_constraints = family_constraints(
        lookback=POSITIVE_INT,
        d_model=POSITIVE_INT,
        n_heads=POSITIVE_INT,
        n_layers=POSITIVE_INT,
        dim_feedforward=POSITIVE_INT,
    )

    def __init__(
        self,
        lookback: int = 16,
        d_model: int = 32,
        n_heads: int = 2,
        n_layers: int = 1,
        dim_feedforward: int = 64,
        dropout: float = 0.0,
        max_epochs: int = 10,
        batch_size: int = 1024,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        patience: int = 3,
        validation_fraction: float = 0.15,
        validation_gap: int = 0,
        missing_indicators: bool = True,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.lookback = lookback
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
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

    def _validate_family_params(self) -> None:
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"n_heads={self.n_heads} must divide d_model={self.d_model}; change one of them."
            )

    def _build_module(self, n_inputs: int, n_outputs: int) -> Any:
        from intelligent_training.families.torch._nets import TransformerNet

        return TransformerNet(
            n_inputs,
            n_outputs,
            int(self.lookback),
            int(self.d_model),
            int(self.n_heads),
            int(self.n_layers),
            int(self.dim_feedforward),
            float(self.dropout),
        )


class TransformerRegressor(TorchRegressorMixin, _TransformerBase):
    __doc__ = family_doc(
        "Transformer-encoder regressor over lookback windows (``transformer`` family).",
        _TRANSFORMER_PARAMS,
    )


class TransformerClassifier(TorchClassifierMixin, _TransformerBase):
    __doc__ = family_doc(
        "Transformer-encoder classifier over lookback windows (``transformer`` family).",
        _TRANSFORMER_PARAMS,
        "classes_ : ndarray\n        Class labels.",
    )
