"""Supervised variational autoencoder (``vae`` family).

The encoder maps standardised features to a Gaussian latent ``q(z|x)``; a decoder
reconstructs the features from ``z`` and a head predicts the target from ``z``.
Training minimises ``supervised + reconstruction_weight * MSE(x_hat, x) +
kl_weight * KL(q(z|x) || N(0, I))`` with the reparameterisation trick; prediction
uses the latent mean, so it is deterministic.
"""

from __future__ import annotations

from typing import Any

from intelligent_training.families.torch._base import TorchEstimatorBase
from intelligent_training.families.torch._common_params import (
    NON_NEGATIVE,
    POSITIVE_INT,
    SIZES,
    _check_sizes,
    family_constraints,
    family_doc,
)
from intelligent_training.families.torch._runtime import import_torch
from intelligent_training.families.torch._task_mixins import (
    TorchClassifierMixin,
    TorchRegressorMixin,
)

_PARAMS = """encoder_sizes : tuple of int, default=(64,)
        Hidden widths of the encoder (the decoder mirrors them).
    latent_dim : int, default=8
        Size of the latent code.
    head_sizes : tuple of int, default=(32,)
        Hidden widths of the prediction head on the latent code.
    dropout : float, default=0.0
        Dropout in encoder and head.
    reconstruction_weight : float, default=0.5
        Weight of the feature reconstruction loss.
    kl_weight : float, default=0.01
        Weight of the KL divergence to the standard normal prior."""


class _VAEBase(TorchEstimatorBase):
    _parameter_constraints = family_constraints(
        encoder_sizes=SIZES,
        latent_dim=POSITIVE_INT,
        head_sizes=SIZES,
        reconstruction_weight=NON_NEGATIVE,
        kl_weight=NON_NEGATIVE,
    )

    def __init__(
        self,
        encoder_sizes: tuple[int, ...] = (64,),
        latent_dim: int = 8,
        head_sizes: tuple[int, ...] = (32,),
        dropout: float = 0.0,
        reconstruction_weight: float = 0.5,
        kl_weight: float = 0.01,
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
        self.encoder_sizes = encoder_sizes
        self.latent_dim = latent_dim
        self.head_sizes = head_sizes
        self.dropout = dropout
        self.reconstruction_weight = reconstruction_weight
        self.kl_weight = kl_weight
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
        from intelligent_training.families.torch._nets import SupervisedVAE

        return SupervisedVAE(
            n_inputs,
            n_outputs,
            _check_sizes("encoder_sizes", self.encoder_sizes),
            int(self.latent_dim),
            _check_sizes("head_sizes", self.head_sizes),
            float(self.dropout),
        )

    def _train_loss(self, module: Any, xb: Any, yb: Any) -> Any:
        torch = import_torch()
        mu, logvar = module.encode(xb)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        supervised = self._supervised_loss(module.head(z), yb)
        reconstruction = torch.nn.functional.mse_loss(module.decoder(z), xb)
        kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        return (
            supervised
            + float(self.reconstruction_weight) * reconstruction
            + float(self.kl_weight) * kl
        )


class VAERegressor(TorchRegressorMixin, _VAEBase):
    __doc__ = family_doc("Supervised VAE regressor (``vae`` family).", _PARAMS)


class VAEClassifier(TorchClassifierMixin, _VAEBase):
    __doc__ = family_doc(
        "Supervised VAE classifier, binary or multiclass (``vae`` family).",
        _PARAMS,
        "classes_ : ndarray\n        Class labels.",
    )
