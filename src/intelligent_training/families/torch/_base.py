"""Common machinery of the torch estimators.

:class:`TorchEstimatorBase` implements ``fit``/prediction once; a family only
builds its network (``_build_module``) and, when its loss is special, overrides
``_train_loss`` / ``_train_step`` / ``_predict_raw``. The regressor and classifier
flavours come from :class:`~intelligent_training.families.torch._task_mixins.TorchRegressorMixin`
and :class:`~intelligent_training.families.torch._task_mixins.TorchClassifierMixin`; the
parameters every family shares (constraints, docstring blocks) are in
:mod:`~intelligent_training.families.torch._common_params`.

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
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from intelligent_training.exceptions import DataError
from intelligent_training.families.torch._common_params import COMMON_CONSTRAINTS
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
from intelligent_training.utils._param_validation import ValidatedParamsMixin

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
