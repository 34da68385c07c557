"""What every torch family shares in its parameters: constraints and docstring blocks.

A family's class adds its own constraints with :func:`family_constraints` and builds
its numpydoc docstring with :func:`family_doc` (the shared parameters and attributes
are written once, here).
"""

from __future__ import annotations

import numbers
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import Interval

from intelligent_training.exceptions import ConfigError
from intelligent_training.utils._param_validation import PositiveSizes

__all__ = [
    "COMMON_ATTRS_DOC",
    "COMMON_CONSTRAINTS",
    "COMMON_PARAMS_DOC",
    "NON_NEGATIVE",
    "POSITIVE_INT",
    "SIZES",
    "family_constraints",
    "family_doc",
]

COMMON_PARAMS_DOC = """max_epochs : int
        Maximum passes over the training rows.
    batch_size : int
        Largest mini-batch size; small training sets use smaller batches so that each
        epoch takes at least 16 optimiser steps (never below 64 rows).
    learning_rate : float
        AdamW learning rate.
    weight_decay : float
        AdamW weight decay.
    patience : int
        Epochs without validation improvement before stopping.
    validation_fraction : float
        Latest fraction of the training rows (whole timestamps) held out for early
        stopping; the best epoch's weights are kept. 0 disables early stopping.
    validation_gap : int, default=0
        Timestamps (rows, without a timestamp index) dropped between the fit rows and
        the validation slice, so that overlapping labels (e.g. a 12-bar forward return)
        do not leak into the early-stopping signal; set it to the label horizon in bars.
    missing_indicators : bool, default=True
        Append a 0/1 input column per feature that had missing values in training.
    device : {"auto", "cpu", "cuda"}, default="auto"
        ``"auto"`` uses CUDA when available; the builders pass ``"cpu"`` for
        ``cpu_only=True``.
    n_jobs : int, optional
        Torch threads during fit/predict (restored afterwards); ``None`` keeps torch's
        setting, ``-1`` uses all cores.
    random_state : int, RandomState or None
        Seed; a fixed seed gives identical results on CPU.
    verbose : int, default=0
        Log a one-line training summary at INFO level when true."""

COMMON_ATTRS_DOC = """module_ : torch.nn.Module
        The fitted network (kept on CPU; moved to ``device_`` to predict).
    n_features_in_ : int
        Number of input features seen in fit.
    feature_names_in_ : ndarray of str
        Column names seen in fit (only when X was a DataFrame with string names).
    n_epochs_, best_epoch_ : int
        Epochs run and the epoch whose weights were kept.
    train_loss_curve_, validation_loss_curve_ : list of float
        Loss per epoch (validation: supervised loss on the validation slice).
    device_ : str
        Device used in fit."""


def family_doc(summary: str, params: str, attrs: str = "", extra: str = "") -> str:
    """Assemble a numpydoc class docstring from the shared parameter blocks."""
    attr_block = COMMON_ATTRS_DOC + (("\n    " + attrs) if attrs else "")
    return (
        f"{summary}\n\n    Parameters\n    ----------\n    {params}\n    {COMMON_PARAMS_DOC}"
        f"\n\n    Attributes\n    ----------\n    {attr_block}\n{extra}"
    )


#: Constraints of the parameters every torch family shares (checked in ``fit``).
COMMON_CONSTRAINTS: dict[str, list[Any]] = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "patience": [Interval(Integral, 0, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "validation_gap": [Interval(Integral, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "missing_indicators": ["boolean"],
    "device": [str, None],
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def family_constraints(**extra: list[Any]) -> dict[str, list[Any]]:
    """The common constraints plus a family's own (``name=[constraint, ...]``)."""
    return {**COMMON_CONSTRAINTS, **extra}


#: Constraint shorthands for the families.
POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]
NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
SIZES = [PositiveSizes()]


def _check_sizes(name: str, value: Any, *, allow_empty: bool = True) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral):
        value = (value,)
    try:
        sizes = tuple(int(v) for v in value)
    except TypeError as exc:
        raise ConfigError(f"{name}={value!r} must be a list of positive layer sizes.") from exc
    if any(s < 1 for s in sizes) or (not sizes and not allow_empty):
        raise ConfigError(f"{name}={value!r} must be a list of positive layer sizes.")
    return sizes
