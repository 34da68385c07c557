"""Conditional GAN (``gan`` family).

A generator ``G(x, z)`` produces the target given standardised features ``x`` and
Gaussian noise ``z``; a discriminator ``D(x, y)`` tells real (features, target)
pairs from generated ones. The generator minimises
``supervised_weight * supervised_loss(G(x, z), y) + adversarial_weight *
BCE(D(x, G(x, z)), real)``; the discriminator minimises the usual real/fake BCE.
``predict`` averages ``n_draws`` noise draws (seeded and shared by all rows, so a
row's prediction is repeatable and independent of the other rows); for binary
targets the generator emits a logit, the discriminator sees its sigmoid, and
``predict_proba`` is the sigmoid of the averaged logits. Binary and regression only.
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

_PARAMS = """generator_sizes : tuple of int, default=(64, 64)
        Hidden widths of the generator.
    discriminator_sizes : tuple of int, default=(64,)
        Hidden widths of the discriminator.
    noise_dim : int, default=4
        Size of the generator's noise input.
    adversarial_weight : float, default=0.1
        Weight of the adversarial term in the generator loss.
    supervised_weight : float, default=1.0
        Weight of the supervised term (MSE or BCE) in the generator loss.
    n_draws : int, default=16
        Noise draws averaged by ``predict``.
    dropout : float, default=0.0
        Dropout in the generator."""


class _GANBase(TorchEstimatorBase):
    _supports_multiclass = False
    _parameter_constraints = family_constraints(
        generator_sizes=SIZES,
        discriminator_sizes=SIZES,
        noise_dim=POSITIVE_INT,
        n_draws=POSITIVE_INT,
        adversarial_weight=NON_NEGATIVE,
        supervised_weight=NON_NEGATIVE,
    )

    def __init__(
        self,
        generator_sizes: tuple[int, ...] = (64, 64),
        discriminator_sizes: tuple[int, ...] = (64,),
        noise_dim: int = 4,
        adversarial_weight: float = 0.1,
        supervised_weight: float = 1.0,
        n_draws: int = 16,
        dropout: float = 0.0,
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
        self.generator_sizes = generator_sizes
        self.discriminator_sizes = discriminator_sizes
        self.noise_dim = noise_dim
        self.adversarial_weight = adversarial_weight
        self.supervised_weight = supervised_weight
        self.n_draws = n_draws
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
        from intelligent_training.families.torch._nets import ConditionalGAN

        return ConditionalGAN(
            n_inputs,
            n_outputs,
            _check_sizes("generator_sizes", self.generator_sizes),
            _check_sizes("discriminator_sizes", self.discriminator_sizes),
            int(self.noise_dim),
            float(self.dropout),
        )

    def _make_optimizers(self, module: Any) -> list[Any]:
        torch = import_torch()
        lr, wd = self.learning_rate, self.weight_decay
        return [
            torch.optim.AdamW(module.generator.parameters(), lr=lr, weight_decay=wd),
            torch.optim.AdamW(module.discriminator.parameters(), lr=lr, weight_decay=wd),
        ]

    def _as_sample(self, out: Any) -> Any:
        """What the discriminator sees of a generator output."""
        return out.sigmoid() if self._is_classifier else out

    def _train_step(self, module: Any, optimizers: list[Any], xb: Any, yb: Any) -> float:
        torch = import_torch()
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        opt_g, opt_d = optimizers
        real_y = yb.reshape(-1, 1).to(xb.dtype)
        ones = torch.ones(xb.shape[0], device=xb.device, dtype=xb.dtype)
        zeros = torch.zeros_like(ones)

        fake = self._as_sample(module.generate(xb)[0]).detach()
        loss_d = bce(module.discriminate(xb, real_y), ones) + bce(
            module.discriminate(xb, fake), zeros
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        out = module.generate(xb)[0]
        adversarial = bce(module.discriminate(xb, self._as_sample(out)), ones)
        supervised = self._supervised_loss(out, yb)
        loss_g = (
            float(self.supervised_weight) * supervised
            + float(self.adversarial_weight) * adversarial
        )
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return float(supervised.detach())

    def _predict_raw(self, module: Any, xb: Any) -> Any:
        # The same n_draws noise vectors (seeded) for every row: each row's prediction
        # depends on that row alone, not on its batch, order or device.
        torch = import_torch()
        generator = torch.Generator().manual_seed(int(self.seed_))
        noise = torch.randn(int(self.n_draws), 1, module.noise_dim, generator=generator)
        return module.generate(xb, int(self.n_draws), noise=noise).mean(dim=0)


class GANRegressor(TorchRegressorMixin, _GANBase):
    __doc__ = family_doc("Conditional-GAN regressor (``gan`` family).", _PARAMS)


class GANClassifier(TorchClassifierMixin, _GANBase):
    __doc__ = family_doc(
        "Conditional-GAN binary classifier (``gan`` family).",
        _PARAMS,
        "classes_ : ndarray\n        Class labels (two).",
    )
    _supports_multiclass = False

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
