"""Torch runtime helpers: lazy import, device choice, threads and seeding.

Nothing here imports torch at module import time; every helper imports it
through :func:`import_torch`, which turns a missing installation into a
:class:`~intelligent_training.exceptions.MissingDependencyError` naming the extra.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from intelligent_training.exceptions import ConfigError, MissingDependencyError

INSTALL_HINT = 'pip install "intelligent-training[torch]"'


def import_torch() -> Any:
    """Import and return the ``torch`` module.

    Raises
    ------
    MissingDependencyError
        When torch is not installed, with the command that installs it.
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised via monkeypatch
        raise MissingDependencyError(
            "The torch model families (mlp, vae, gan, multi_task, cnn1d, lstm, "
            f"transformer) need PyTorch, which is not installed. Install it with: {INSTALL_HINT}"
        ) from exc
    return torch


def resolve_device(device: str | None) -> str:
    """Turn the ``device`` parameter into a concrete torch device string.

    ``"auto"`` (or ``None``) picks ``"cuda"`` when a CUDA device is available,
    else ``"cpu"``. ``"cpu"`` always works; ``"cuda"``/``"cuda:N"`` require CUDA.
    """
    torch = import_torch()
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, str):
        raise ConfigError(
            f"device={device!r} is not valid; use 'auto', 'cpu' or 'cuda' (or 'cuda:N')."
        )
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device={device!r} was requested but CUDA is not available; "
                "use device='auto' or 'cpu' (cpu_only=True)."
            )
        return device
    if device == "cpu":
        return device
    raise ConfigError(f"device={device!r} is not valid; use 'auto', 'cpu' or 'cuda'.")


def resolve_n_threads(n_jobs: int | None) -> int | None:
    """Number of torch intra-op threads for ``n_jobs`` (``None`` keeps torch's own)."""
    if n_jobs is None:
        return None
    if not isinstance(n_jobs, int | float) or int(n_jobs) == 0:
        raise ConfigError(f"n_jobs={n_jobs!r} is not valid; use None, a positive int or -1.")
    n_jobs = int(n_jobs)
    cpus = os.cpu_count() or 1
    if n_jobs < 0:
        return max(1, cpus + 1 + n_jobs)
    return n_jobs


@contextlib.contextmanager
def torch_threads(n_jobs: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n_jobs)``; restore afterwards."""
    torch = import_torch()
    n = resolve_n_threads(n_jobs)
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def seeded(seed: int, device: str) -> Iterator[None]:
    """Seed torch's global generators inside the block without leaking state.

    The global RNG state (CPU, and the current CUDA device when used) is saved and
    restored, so fitting one estimator never changes another one's random stream.
    """
    torch = import_torch()
    devices: list[int] = []
    if device.startswith("cuda"):
        index = torch.device(device).index
        devices = [torch.cuda.current_device() if index is None else index]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
