"""The task flavours of the torch estimators: regression and classification.

:class:`TorchRegressorMixin` and :class:`TorchClassifierMixin` are what differs between
a family's regressor and its classifier: how the target is encoded for training, the
supervised loss, and how the network's outputs become predictions. The fit loop itself
is :class:`~intelligent_training.families.torch._base.TorchEstimatorBase`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning

from intelligent_training.exceptions import DataError
from intelligent_training.families.torch._runtime import import_torch

__all__ = ["TorchClassifierMixin", "TorchRegressorMixin"]


class TorchRegressorMixin(RegressorMixin):
    """Regression flavour: standardised target, MSE loss, ``predict`` in target units."""

    _is_classifier = False

    def _fit_target(self, y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        y_arr = _as_1d_target(y, n_rows)
        keep = np.isfinite(y_arr)
        mean = float(y_arr[keep].mean()) if keep.any() else 0.0
        std = float(y_arr[keep].std()) if keep.any() else 1.0
        self.y_mean_ = mean
        self.y_scale_ = std if std > 1e-12 else 1.0
        self.n_outputs_ = 1
        y_enc = np.where(keep, (y_arr - mean) / self.y_scale_, 0.0).astype(np.float32)
        return y_enc, keep

    def _supervised_loss(self, out: Any, yb: Any) -> Any:
        torch = import_torch()
        return torch.nn.functional.mse_loss(out.reshape(-1), yb)

    def predict(self, X: Any) -> np.ndarray:
        """Predict the target (original units), shape ``(n_samples,)``."""
        raw = self._raw_outputs(X)  # type: ignore[attr-defined]
        return raw[:, 0] * self.y_scale_ + self.y_mean_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class TorchClassifierMixin(ClassifierMixin):
    """Classification flavour: binary (one logit, BCE) or multiclass (softmax, CE)."""

    _is_classifier = True
    _supports_multiclass = True

    def _fit_target(self, y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        y_arr = _ravel_target(y_arr, n_rows)
        if y_arr.dtype.kind in "fc":
            keep = np.isfinite(y_arr)
        else:
            keep = ~np.asarray(_isnull(y_arr), dtype=bool)
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y_arr[keep]) if keep.any() else "unknown"
        if kind not in ("binary", "multiclass"):
            raise DataError(
                f"Unknown label type: {kind!r} target passed to {type(self).__name__}; a "
                "classifier needs discrete class labels. Use the regression task instead."
            )
        classes, codes = np.unique(y_arr[keep], return_inverse=True)
        if classes.size < 2:
            raise DataError(
                f"The target has {classes.size} class(es) {list(classes)}; a classifier needs "
                "at least 2. Check the target column."
            )
        if classes.size > 2 and not self._supports_multiclass:
            raise DataError(
                f"Only binary classification is supported. {type(self).__name__} got "
                f"{classes.size} classes; use another family for multiclass targets."
            )
        self.classes_ = classes
        self.n_outputs_ = 1 if classes.size == 2 else int(classes.size)
        full = np.zeros(n_rows, dtype=np.int64)
        full[keep] = codes
        if classes.size == 2:
            return full.astype(np.float32), keep
        return full, keep

    def _supervised_loss(self, out: Any, yb: Any) -> Any:
        torch = import_torch()
        functional = torch.nn.functional
        if self.n_outputs_ == 1:
            return functional.binary_cross_entropy_with_logits(out.reshape(-1), yb)
        return functional.cross_entropy(out, yb)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)`` in ``classes_`` order."""
        raw = self._raw_outputs(X)  # type: ignore[attr-defined]
        return _logits_to_proba(raw)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label per row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _logits_to_proba(raw: np.ndarray) -> np.ndarray:
    if raw.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-np.clip(raw[:, 0], -50, 50)))
        return np.column_stack([1.0 - p, p])
    z = raw - raw.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _isnull(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


def _ravel_target(y_arr: np.ndarray, n_rows: int) -> np.ndarray:
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it was raveled.",
            DataConversionWarning,
            stacklevel=4,
        )
        y_arr = y_arr[:, 0]
    if y_arr.ndim != 1:
        raise DataError(
            f"y must be 1-D (one target), got shape {y_arr.shape}; use the multi_task family "
            "for several targets."
        )
    if y_arr.shape[0] != n_rows:
        raise DataError(f"X has {n_rows} rows but y has {y_arr.shape[0]}; they must match.")
    return y_arr


def _as_1d_target(y: Any, n_rows: int) -> np.ndarray:
    raw = y.to_numpy() if hasattr(y, "to_numpy") else y
    try:
        y_arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"y must be numeric for regression ({exc}).") from exc
    return _ravel_target(y_arr, n_rows)
