"""The torch networks (``nn.Module`` classes) behind the torch families.

This module imports torch at import time; the estimators import it lazily, only
inside ``_build_module``, so importing the families never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def mlp_stack(n_in: int, sizes: Sequence[int], dropout: float) -> tuple[nn.Sequential, int]:
    """``Linear -> ReLU -> Dropout`` layers; returns the stack and its output width."""
    layers: list[nn.Module] = []
    width = n_in
    for size in sizes:
        layers += [nn.Linear(width, int(size)), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(size)
    return nn.Sequential(*layers), width


class MLPNet(nn.Module):
    """Hidden layers then a linear output layer."""

    def __init__(self, n_in: int, n_out: int, sizes: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.body, width = mlp_stack(n_in, sizes, dropout)
        self.out = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


class SupervisedVAE(nn.Module):
    """Encoder -> Gaussian latent -> (decoder reconstructing x, head predicting y)."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        encoder_sizes: Sequence[int],
        latent_dim: int,
        head_sizes: Sequence[int],
        dropout: float,
    ) -> None:
        super().__init__()
        self.encoder, width = mlp_stack(n_in, encoder_sizes, dropout)
        self.mu = nn.Linear(width, latent_dim)
        self.logvar = nn.Linear(width, latent_dim)
        self.decoder = MLPNet(latent_dim, n_in, list(reversed(list(encoder_sizes))), 0.0)
        self.head = MLPNet(latent_dim, n_out, head_sizes, dropout)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction from the latent mean (deterministic)."""
        mu, _ = self.encode(x)
        return self.head(mu)


class ConditionalGAN(nn.Module):
    """Generator ``G(x, z) -> y`` and discriminator ``D(x, y) -> logit(real)``."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        generator_sizes: Sequence[int],
        discriminator_sizes: Sequence[int],
        noise_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.noise_dim = int(noise_dim)
        self.generator = MLPNet(n_in + self.noise_dim, n_out, generator_sizes, dropout)
        self.discriminator = MLPNet(n_in + n_out, 1, discriminator_sizes, 0.0)

    def generate(
        self, x: torch.Tensor, n_draws: int = 1, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Generator samples, shape ``(n_draws, batch, n_out)``.

        ``noise`` of shape ``(n_draws, 1, noise_dim)`` reuses the same draws for every
        row (prediction); otherwise every row gets fresh draws from the CPU generator,
        so a seed gives the same draws on every device.
        """
        if noise is None:
            noise = torch.randn(n_draws, x.shape[0], self.noise_dim, dtype=x.dtype)
        z = noise.to(device=x.device, dtype=x.dtype).expand(n_draws, x.shape[0], -1)
        xr = x.unsqueeze(0).expand(n_draws, *x.shape)
        return self.generator(torch.cat([xr, z], dim=-1))

    def discriminate(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat([x, y], dim=-1)).reshape(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generate(x, 1)[0]


class MultiTaskNet(nn.Module):
    """Shared trunk and one small head per target; output ``(batch, n_targets)``."""

    def __init__(
        self,
        n_in: int,
        n_targets: int,
        trunk_sizes: Sequence[int],
        head_sizes: Sequence[int],
        dropout: float,
    ) -> None:
        super().__init__()
        self.trunk, width = mlp_stack(n_in, trunk_sizes, dropout)
        self.heads = nn.ModuleList(MLPNet(width, 1, head_sizes, 0.0) for _ in range(n_targets))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        return torch.cat([head(h) for head in self.heads], dim=1)


class CNN1DNet(nn.Module):
    """Temporal convolutions over a window ``(batch, L, C)``; last step + mean pooled."""

    def __init__(
        self, n_in: int, n_out: int, channels: int, kernel_size: int, n_layers: int, dropout: float
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for _ in range(n_layers):
            layers += [
                nn.Conv1d(width, channels, kernel_size, padding=kernel_size // 2),
                nn.ReLU(),
            ]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = channels
        self.conv = nn.Sequential(*layers)
        self.out = nn.Linear(2 * channels, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x.transpose(1, 2))  # (batch, channels, L)
        return self.out(torch.cat([h[:, :, -1], h.mean(dim=2)], dim=1))


class LSTMNet(nn.Module):
    """LSTM over a window; the last step's output feeds a linear head."""

    def __init__(
        self, n_in: int, n_out: int, hidden_size: int, num_layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_in,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out = nn.Linear(hidden_size, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)
        return self.out(h[:, -1])


class TransformerNet(nn.Module):
    """Transformer encoder over a window; padded steps are masked out of attention."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        lookback: int,
        d_model: int,
        n_heads: int,
        n_layers: int,
        dim_feedforward: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.proj = nn.Linear(n_in, d_model)
        self.position = nn.Parameter(torch.zeros(lookback, d_model))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = x[..., -1] < 0.5  # last channel is the real-row mask
        h = self.proj(x) + self.position[-x.shape[1] :]
        h = self.encoder(h, src_key_padding_mask=padding)
        return self.out(self.norm(h[:, -1]))
