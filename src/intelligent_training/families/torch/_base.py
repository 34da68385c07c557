"""Common machinery of the torch estimators.

:class:`TorchEstimatorBase` implements ``fit``/prediction once; a family only
builds its network (``_build_module``) and, when its loss is special, overrides
``_train_loss`` / ``_train_step`` / ``_predict_raw``. The regressor and classifier
flavours come from :class:`TorchRegressorMixin` and :class:`TorchClassifierMixin`.

What every family gets:

* inputs as a DataFrame (MultiIndex kept) or an array; standardised with NaN/inf
  imputed by the training median plus optional missing-indicator columns;
* rows whose target is NaN are left out of training (sequence families still use
  them as history);
* mini-batch AdamW training with early stopping on a validation slice cut from the
  **end** of the training data (the latest timestamps; a timestamp is never split),
  restoring the best weights;
* device ``"auto"`` (CUDA when available) or ``"cpu"``; ``n_jobs`` sets torch's
  thread count during fit/predict and restores it afterwards;
* deterministic results on CPU for a fixed ``random_state`` (torch's global RNG is
  seeded inside a forked state, so nothing outside the estimator is affected).
"""

from __future__ import annotations

import copy
import logging
import numbers
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from intelligent_training.exceptions import ConfigError, DataError
from intelligent_training.families.torch._preprocess import (
    Standardizer,
    as_float_matrix,
    feature_names,
)
from intelligent_training.families.torch._runtime import (
    import_torch,
    resolve_device,
    seeded,
    torch_threads,
)
from intelligent_training.families.torch._windows import row_time_keys
from intelligent_training.utils._param_validation import PositiveSizes, ValidatedParamsMixin

logger = logging.getLogger(__name__)

_PREDICT_BATCH = 8192


def validation_split(
    rows: np.ndarray, time_keys: np.ndarray, fraction: float, gap: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split training ``rows`` into (fit rows, validation rows) at the END in time.

    The validation slice holds the latest ``fraction`` of ``rows`` rounded to whole
    timestamps (all rows of the cut timestamp go to validation). The ``gap`` distinct
    timestamps just before the slice are dropped from the fit rows (a purge, for labels
    that overlap in time). Returns an empty validation array when ``fraction`` is 0 or
    either side would be empty.
    """
    if fraction <= 0 or rows.size < 2:
        return rows, rows[:0]
    keys = time_keys[rows]
    n_val = int(round(fraction * rows.size))
    if n_val < 1:
        return rows, rows[:0]
    cut = np.sort(keys, kind="stable")[rows.size - n_val]
    is_val = keys >= cut
    if is_val.all() or not is_val.any():
        return rows, rows[:0]
    is_fit = ~is_val
    if gap > 0:
        earlier = np.unique(keys[is_fit])
        if earlier.size <= gap:
            return rows, rows[:0]
        is_fit &= keys < earlier[-gap]
    return rows[is_fit], rows[is_val]


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


MIN_STEPS_PER_EPOCH = 16
MIN_BATCH_SIZE = 64


def effective_batch_size(batch_size: int, n_train: int) -> int:
    """Mini-batch size actually used: ``batch_size``, made smaller on small data.

    Small training sets get batches of ``max(64, ceil(n_train / 16))`` rows (when that is
    below ``batch_size``) so that every epoch still takes at least 16 optimiser steps;
    large data keeps the large, fast batches.
    """
    per_step = max(MIN_BATCH_SIZE, -(-n_train // MIN_STEPS_PER_EPOCH))
    return max(1, min(batch_size, per_step))


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


class TorchEstimatorBase(ValidatedParamsMixin, BaseEstimator):
    """Shared fit/predict logic; not used directly (see the family classes).

    The parameters every family shares are checked at the start of ``fit`` by
    ``_parameter_constraints`` (a family adds its own with :func:`family_constraints`);
    a violation is a :class:`~intelligent_training.exceptions.ParameterError`.
    """

    _is_classifier = False
    _parameter_constraints: dict[str, list[Any]] = COMMON_CONSTRAINTS

    # ----------------------------------------------------------------- hooks
    def _build_module(self, n_inputs: int, n_outputs: int) -> Any:
        raise NotImplementedError

    def _validate_family_params(self) -> None:
        """Check what constraints cannot say, e.g. between two parameters (in ``fit``)."""

    def _n_module_inputs(self, n_columns: int) -> int:
        return n_columns

    def _prepare_inputs(self, X: Any, Xs: np.ndarray, device: str) -> dict[str, Any]:
        torch = import_torch()
        return {"features": torch.as_tensor(Xs, device=device)}

    def _take(self, inputs: dict[str, Any], rows: Any) -> Any:
        return inputs["features"][rows]

    def _train_loss(self, module: Any, xb: Any, yb: Any) -> Any:
        return self._supervised_loss(module(xb), yb)

    def _make_optimizers(self, module: Any) -> list[Any]:
        torch = import_torch()
        return [
            torch.optim.AdamW(
                module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
        ]

    def _train_step(self, module: Any, optimizers: list[Any], xb: Any, yb: Any) -> float:
        (optimizer,) = optimizers
        optimizer.zero_grad(set_to_none=True)
        loss = self._train_loss(module, xb, yb)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def _predict_raw(self, module: Any, xb: Any) -> Any:
        """Raw network outputs ``(batch, n_outputs)`` in eval mode."""
        return module(xb)

    # ------------------------------------------------------------ targets
    def _fit_target(self, y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _supervised_loss(self, out: Any, yb: Any) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> TorchEstimatorBase:
        """Fit the network.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features. NaN/inf are imputed. Sequence families read the
            ``(timestamp, symbol)`` MultiIndex of a DataFrame to build windows.
        y : array-like
            Target; rows where it is NaN are not used as training examples.

        Returns
        -------
        self
        """
        torch = import_torch()
        self._validate_params()
        self._validate_family_params()
        if y is None:
            raise DataError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        Xa = as_float_matrix(X)
        n_rows = Xa.shape[0]
        y_enc, keep = self._fit_target(y, n_rows)
        if keep.sum() < 2:
            raise DataError(
                f"Only {int(keep.sum())} rows have a non-missing target (n_samples = "
                f"{int(keep.sum())}); need at least 2 samples to fit."
            )
        self.n_features_in_ = Xa.shape[1]
        names = feature_names(X)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.standardizer_ = Standardizer(missing_indicators=bool(self.missing_indicators)).fit(
            Xa[keep]
        )
        Xs = self.standardizer_.transform(Xa)
        device = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        rows = np.flatnonzero(keep)
        train_rows, val_rows = validation_split(
            rows,
            row_time_keys(X, n_rows),
            float(self.validation_fraction),
            int(self.validation_gap),
        )
        self.seed_ = seed
        with torch_threads(self.n_jobs), seeded(seed, device):
            inputs = self._prepare_inputs(X, Xs, device)
            y_t = torch.as_tensor(y_enc, device=device)
            module = self._build_module(self._n_module_inputs(Xs.shape[1]), self.n_outputs_)
            module = module.to(device)
            self._train(module, inputs, y_t, train_rows, val_rows, device)
        self.module_ = module.to("cpu").eval()
        self.device_ = device
        return self

    def _train(
        self,
        module: Any,
        inputs: dict[str, Any],
        y_t: Any,
        train_rows: np.ndarray,
        val_rows: np.ndarray,
        device: str,
    ) -> None:
        torch = import_torch()
        optimizers = self._make_optimizers(module)
        train_t = torch.as_tensor(train_rows, device=device)
        val_t = torch.as_tensor(val_rows, device=device)
        use_val = val_rows.size > 0
        best_loss = np.inf
        best_state: dict[str, Any] | None = None
        best_epoch = 0
        bad_epochs = 0
        self.train_loss_curve_: list[float] = []
        self.validation_loss_curve_: list[float] = []
        batch = effective_batch_size(int(self.batch_size), train_rows.size)
        epoch = 0
        for epoch in range(1, int(self.max_epochs) + 1):
            module.train()
            perm = train_t[torch.randperm(train_t.numel()).to(device)]
            total, count = 0.0, 0
            for start in range(0, perm.numel(), batch):
                rows = perm[start : start + batch]
                loss = self._train_step(module, optimizers, self._take(inputs, rows), y_t[rows])
                total += loss * rows.numel()
                count += rows.numel()
            self.train_loss_curve_.append(total / max(count, 1))
            if not use_val:
                continue
            val_loss = self._validation_loss(module, inputs, y_t, val_t)
            self.validation_loss_curve_.append(val_loss)
            logger.debug(
                "%s epoch %d: train %.5f, validation %.5f",
                type(self).__name__,
                epoch,
                self.train_loss_curve_[-1],
                val_loss,
            )
            if val_loss < best_loss - 1e-7:
                best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            else:
                bad_epochs += 1
                if bad_epochs > int(self.patience):
                    break
        if best_state is not None:
            module.load_state_dict(best_state)
        self.n_epochs_ = epoch
        self.best_epoch_ = best_epoch if use_val else epoch
        self.best_validation_loss_ = float(best_loss) if use_val else None
        if self.verbose:
            logger.info(
                "%s: %d epochs on %s, best epoch %d (validation loss %s)",
                type(self).__name__,
                self.n_epochs_,
                device,
                self.best_epoch_,
                self.best_validation_loss_,
            )

    def _validation_loss(self, module: Any, inputs: dict[str, Any], y_t: Any, val_t: Any) -> float:
        torch = import_torch()
        module.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, val_t.numel(), _PREDICT_BATCH):
                rows = val_t[start : start + _PREDICT_BATCH]
                outs.append(self._predict_raw(module, self._take(inputs, rows)))
            loss = self._supervised_loss(torch.cat(outs), y_t[val_t])
        return float(loss)

    # -------------------------------------------------------------- predict
    def _check_predict_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "module_")
        Xa = as_float_matrix(X)
        if Xa.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {Xa.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input; pass the same columns as in fit."
            )
        names = feature_names(X)
        fitted = getattr(self, "feature_names_in_", None)
        if names is not None and fitted is not None and not np.array_equal(names, fitted):
            raise DataError(
                f"X's columns differ from those seen in fit (first fitted: {list(fitted[:5])}, "
                f"given: {list(names[:5])}); pass the same columns in the same order."
            )
        return Xa

    def _raw_outputs(self, X: Any) -> np.ndarray:
        """Network outputs for ``X`` as a float64 array ``(n, n_outputs)``."""
        torch = import_torch()
        Xa = self._check_predict_X(X)
        Xs = self.standardizer_.transform(Xa)
        device = self.device_
        if device != "cpu" and not torch.cuda.is_available():
            device = "cpu"
        module = self.module_ if device == "cpu" else copy.deepcopy(self.module_).to(device)
        module.eval()
        outs = []
        with torch_threads(self.n_jobs), seeded(self.seed_ + 1, device), torch.no_grad():
            inputs = self._prepare_inputs(X, Xs, device)
            n = Xs.shape[0]
            for start in range(0, n, _PREDICT_BATCH):
                rows = torch.arange(start, min(start + _PREDICT_BATCH, n), device=device)
                outs.append(self._predict_raw(module, self._take(inputs, rows)).cpu())
        return torch.cat(outs).to(torch.float64).numpy()


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
