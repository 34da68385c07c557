"""Multi-task network (``multi_task`` family): shared trunk, one head per target.

Targets may mix regression and binary columns. A regression head is trained with
MSE on the standardised target, a binary head with BCE on its logit; a row's
missing (NaN) label is masked out of that head's loss only, so rows with some
labels still train the other heads. The loss is the mean of the per-head losses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import ConfigError, DataError
from intelligent_training.families.torch._base import TorchEstimatorBase
from intelligent_training.families.torch._common_params import (
    SIZES,
    _check_sizes,
    family_constraints,
    family_doc,
)
from intelligent_training.families.torch._runtime import import_torch

_TASKS = ("regression", "binary")

_PARAMS = """trunk_sizes : tuple of int, default=(128, 64)
        Hidden widths of the shared trunk.
    head_sizes : tuple of int, default=(32,)
        Hidden widths of each target's head.
    dropout : float, default=0.1
        Dropout in the trunk.
    tasks : None, str, list or dict, default=None
        Task per target column: ``"regression"`` or ``"binary"``. ``None`` (or
        ``"multi"``) infers it (two distinct values -> binary); a single string
        applies to every column; a list follows the column order; a dict maps
        column -> task (missing columns inferred)."""

_ATTRS = """targets_ : list of str
        Target column names in order (``y0, y1, ...`` for arrays).
    tasks_ : dict
        Task per target.
    classes_ : dict
        Class labels (two) per binary target.
    y_mean_, y_scale_ : ndarray
        Standardisation of the regression targets (0 and 1 for binary ones).
    is_binary_ : ndarray of bool
        Whether each target (in ``targets_`` order) is binary."""

_EXTRA = """
    Notes
    -----
    ``predict`` returns a 2-D array ``(n_samples, n_targets)`` in ``targets_``
    order: regression values and binary class labels. ``predict_proba`` returns a
    dict ``target -> (n_samples, 2)`` probabilities for each binary head, and
    ``predict_scores`` a float 2-D array with regression values and the positive
    class probability of binary heads (what ranking metrics need).
"""


def _infer_task(values: np.ndarray) -> str:
    present = values[~pd.isna(values)]
    return "binary" if np.unique(present).size == 2 else "regression"


class MultiTaskNetwork(TorchEstimatorBase):
    _parameter_constraints = family_constraints(trunk_sizes=SIZES, head_sizes=SIZES)
    __doc__ = family_doc(
        "Multi-task network: shared trunk and one head per target (``multi_task`` family).",
        _PARAMS,
        _ATTRS,
        _EXTRA,
    )

    def __init__(
        self,
        trunk_sizes: tuple[int, ...] = (128, 64),
        head_sizes: tuple[int, ...] = (32,),
        dropout: float = 0.1,
        tasks: Any = None,
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
        self.trunk_sizes = trunk_sizes
        self.head_sizes = head_sizes
        self.dropout = dropout
        self.tasks = tasks
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
        from intelligent_training.families.torch._nets import MultiTaskNet

        return MultiTaskNet(
            n_inputs,
            n_outputs,
            _check_sizes("trunk_sizes", self.trunk_sizes),
            _check_sizes("head_sizes", self.head_sizes),
            float(self.dropout),
        )

    # ------------------------------------------------------------ targets
    def _resolve_tasks(self, names: list[str], columns: list[np.ndarray]) -> dict[str, str]:
        spec = self.tasks
        if spec is None or spec == "multi":
            wanted: dict[str, str | None] = dict.fromkeys(names)
        elif isinstance(spec, str):
            wanted = dict.fromkeys(names, spec)
        elif isinstance(spec, dict):
            unknown = sorted(set(spec) - set(names))
            if unknown:
                raise ConfigError(f"tasks names unknown target columns {unknown}; got {names}.")
            wanted = {n: spec.get(n) for n in names}
        else:
            spec = list(spec)
            if len(spec) != len(names):
                raise ConfigError(
                    f"tasks has {len(spec)} entries but there are {len(names)} targets."
                )
            wanted = dict(zip(names, spec))
        tasks = {}
        for name, values in zip(names, columns):
            task = wanted[name] or _infer_task(values)
            if task not in _TASKS:
                raise ConfigError(
                    f"Task {task!r} for target {name!r} is not supported by multi_task; "
                    f"use one of {list(_TASKS)}."
                )
            tasks[name] = task
        return tasks

    def _fit_target(self, y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(y, pd.DataFrame):
            names = [str(c) for c in y.columns]
            columns = [y.iloc[:, j].to_numpy() for j in range(y.shape[1])]
        elif isinstance(y, pd.Series):
            names = [str(y.name) if y.name is not None else "y0"]
            columns = [y.to_numpy()]
        else:
            arr = np.asarray(y)
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2:
                raise DataError(f"Y must be 1-D or 2-D, got shape {arr.shape}.")
            names = [f"y{j}" for j in range(arr.shape[1])]
            columns = [arr[:, j] for j in range(arr.shape[1])]
        if not columns:
            raise DataError("Y has no target columns; pass at least one.")
        if len(columns[0]) != n_rows:
            raise DataError(f"X has {n_rows} rows but Y has {len(columns[0])}; they must match.")
        tasks = self._resolve_tasks(names, columns)
        encoded = np.full((n_rows, len(names)), np.nan, dtype=np.float32)
        means = np.zeros(len(names))
        scales = np.ones(len(names))
        classes: dict[str, np.ndarray] = {}
        for j, (name, values) in enumerate(zip(names, columns)):
            present = ~np.asarray(pd.isna(values), dtype=bool)
            if tasks[name] == "binary":
                labels, codes = np.unique(values[present], return_inverse=True)
                if labels.size != 2:
                    raise DataError(
                        f"Binary target {name!r} has {labels.size} distinct values "
                        f"{list(labels)[:5]}; it needs exactly 2."
                    )
                classes[name] = labels
                encoded[present, j] = codes
            else:
                try:
                    col = np.asarray(values, dtype=np.float64)
                except (TypeError, ValueError) as exc:
                    raise DataError(f"Regression target {name!r} is not numeric ({exc}).") from exc
                present &= np.isfinite(col)
                if not present.any():
                    raise DataError(f"Target {name!r} has no finite values.")
                means[j] = col[present].mean()
                std = col[present].std()
                scales[j] = std if std > 1e-12 else 1.0
                encoded[present, j] = (col[present] - means[j]) / scales[j]
        self.targets_ = names
        self.tasks_ = tasks
        self.classes_ = classes
        self.y_mean_ = means
        self.y_scale_ = scales
        self.n_outputs_ = len(names)
        self.is_binary_ = np.array([tasks[n] == "binary" for n in names])
        keep = np.asarray(~np.isnan(encoded).all(axis=1), dtype=bool)
        return encoded, keep

    def _supervised_loss(self, out: Any, yb: Any) -> Any:
        torch = import_torch()
        functional = torch.nn.functional
        present = ~torch.isnan(yb)
        target = torch.where(present, yb, torch.zeros_like(yb))
        is_binary = torch.as_tensor(self.is_binary_, device=out.device)
        squared = (out - target) ** 2
        logistic = functional.binary_cross_entropy_with_logits(out, target, reduction="none")
        loss = torch.where(is_binary, logistic, squared) * present
        counts = present.sum(dim=0)
        per_head = loss.sum(dim=0) / counts.clamp(min=1)
        return per_head[counts > 0].mean() if bool((counts > 0).any()) else loss.sum()

    # ------------------------------------------------------------ predict
    def predict_scores(self, X: Any) -> np.ndarray:
        """Regression values and positive-class probabilities, ``(n, n_targets)`` float."""
        raw = self._raw_outputs(X)
        out = raw * self.y_scale_ + self.y_mean_
        binary = self.is_binary_
        out[:, binary] = 1.0 / (1.0 + np.exp(-np.clip(raw[:, binary], -50, 50)))
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n_samples, n_targets)``: values, or class labels for binary heads."""
        scores = self.predict_scores(X)
        numeric = all(np.issubdtype(c.dtype, np.number) for c in self.classes_.values())
        out = scores.astype(np.float64 if numeric else object)
        for j, name in enumerate(self.targets_):
            if name in self.classes_:
                out[:, j] = self.classes_[name][(scores[:, j] >= 0.5).astype(int)]
        return out

    def predict_proba(self, X: Any) -> dict[str, np.ndarray]:
        """Class probabilities ``(n_samples, 2)`` per binary target (``classes_`` order)."""
        scores = self.predict_scores(X)
        return {
            name: np.column_stack([1.0 - scores[:, j], scores[:, j]])
            for j, name in enumerate(self.targets_)
            if name in self.classes_
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = True
        return tags
