"""Bin once, fit many: native LightGBM / XGBoost training shared across targets.

The feature matrix of a cross-validation fold is the same for every candidate
target; only the label (and, through the per-target purge and NaN labels, a few
rows) changes. Binning the features (LightGBM's ``Dataset`` construction, XGBoost's
quantile sketch) is the expensive, label-independent part, so it is done **once per
fold** from that fold's training rows and reused by every target:

- LightGBM: one constructed ``lgb.Dataset`` per fold (its bin mappers come from the
  fold's training rows); each target trains on ``Dataset.subset(rows)`` with its own
  label. A subset copies already-binned rows, it never re-bins.
- XGBoost: one ``xgb.QuantileDMatrix`` per fold (the quantile sketch and binning
  happen once); each target sets its label on it and gives the rows it must not use
  (purged for its horizon, or unlabelled) weight 0. A matrix is used by one thread
  at a time; a concurrent thread gets a copy built with ``ref=`` (cuts reused).

Hyperparameters are :func:`~intelligent_training.families.family_params` mapped onto
the native APIs, so a model here is the model ``make_estimator`` would fit on the
same rows, up to the bin boundaries (which come from the fold's widest training set)
and, for XGBoost, row subsampling that also draws zero-weight rows.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from intelligent_training.exceptions import FamilyError
from intelligent_training.families import split_runtime_params
from intelligent_training.families._threads import resolve_n_jobs

__all__ = ["FAST_FAMILIES", "FoldBins", "lightgbm_native_params", "xgboost_native_params"]

FAST_FAMILIES = ("lightgbm", "xgboost")

# scikit-learn-wrapper-only keys that the native LightGBM API does not take.
_LGB_SKLEARN_ONLY = ("importance_type", "class_weight", "n_estimators", "objective")


def _check_resolved(params: dict[str, Any]) -> None:
    auto = sorted(k for k, v in params.items() if isinstance(v, str) and v == "auto")
    if auto:
        raise FamilyError(
            f"Parameters {auto} are still 'auto': resolve them for the training rows with "
            "family_params(..., n_rows=...) before mapping them to the native API."
        )


def lightgbm_native_params(
    params: dict[str, Any],
    task: str,
    n_classes: int,
    *,
    random_state: int | None,
    n_threads: int,
) -> tuple[dict[str, Any], int]:
    """Map ``LGBMRegressor``/``LGBMClassifier`` parameters to ``lgb.train`` ones.

    LightGBM's native API accepts the scikit-learn names as aliases
    (``min_child_samples``, ``subsample``, ``colsample_bytree``, ``reg_lambda``, ...),
    so only the wrapper-only keys are removed and the objective is made explicit.

    Returns
    -------
    native : dict
        Parameters for ``lgb.Dataset``/``lgb.train``.
    num_boost_round : int
        ``n_estimators`` (100, the wrapper's default, when absent).
    """
    # the user's random_state / n_jobs win over the stage's (one precedence rule)
    params, random_state, n_jobs = split_runtime_params(
        params, random_state=random_state, n_jobs=n_threads
    )
    n_threads = resolve_n_jobs(n_jobs)
    _check_resolved(params)
    native = {k: v for k, v in params.items() if k not in _LGB_SKLEARN_ONLY}
    num_boost_round = int(params.get("n_estimators", 100))
    if task == "regression":
        native["objective"] = params.get("objective") or "regression"
    elif task == "binary":
        native["objective"] = "binary"
    else:
        native["objective"] = "multiclass"
        native["num_class"] = int(n_classes)
    native.setdefault("verbose", -1)
    if random_state is not None:
        native["seed"] = int(random_state)
    native["num_threads"] = int(n_threads)
    native["feature_pre_filter"] = False
    return native, num_boost_round


def xgboost_native_params(
    params: dict[str, Any],
    task: str,
    n_classes: int,
    *,
    random_state: int | None,
    n_threads: int,
) -> tuple[dict[str, Any], int]:
    """Map ``XGBRegressor``/``XGBClassifier`` parameters to ``xgb.train`` ones.

    Uses the wrapper's own ``get_xgb_params`` so the translation is XGBoost's.
    """
    from xgboost import XGBRegressor

    params, random_state, n_jobs = split_runtime_params(
        params, random_state=random_state, n_jobs=n_threads
    )
    n_threads = resolve_n_jobs(n_jobs)
    _check_resolved(params)
    kwargs = {"tree_method": "hist", "device": "cpu", "verbosity": 0, **params}
    kwargs.pop("objective", None)
    est = XGBRegressor(**kwargs, random_state=random_state, n_jobs=int(n_threads))
    native = {k: v for k, v in est.get_xgb_params().items() if v is not None}
    num_boost_round = int(est.n_estimators if est.n_estimators is not None else 100)
    if task == "regression":
        native["objective"] = params.get("objective") or "reg:squarederror"
    elif task == "binary":
        native["objective"] = "binary:logistic"
    else:
        native["objective"] = "multi:softprob"
        native["num_class"] = int(n_classes)
    return native, num_boost_round


class FoldBins:
    """The binned training features of one fold, built lazily and once.

    Parameters
    ----------
    family : {"lightgbm", "xgboost"}
    X_train : ndarray of shape (n_base, n_features), float32
        The fold's widest training set (the least-purged one); every target's
        training rows are a subset of it.
    bin_params : dict
        Native parameters that decide the bins (``max_bin``, threads, ...).

    Notes
    -----
    Thread-safe: concurrent targets of the same fold wait for one construction.
    """

    def __init__(self, family: str, X_train: np.ndarray, bin_params: dict[str, Any]) -> None:
        self.family = family
        self.X_train = X_train
        self.bin_params = bin_params
        self._lock = threading.Lock()
        self._base: Any = None
        self._free: list[Any] = []  # XGBoost matrices not in use by any thread
        self._base_taken = False

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for distributed runs: ship the rows, rebuild the bins on arrival.
        return {"family": self.family, "X_train": self.X_train, "bin_params": self.bin_params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["family"], state["X_train"], state["bin_params"])  # type: ignore[misc]

    def base(self) -> Any:
        """The constructed LightGBM ``Dataset`` / XGBoost ``QuantileDMatrix``."""
        with self._lock:
            if self._base is None:
                self._base = self._build()
            return self._base

    def _build(self) -> Any:
        n = self.X_train.shape[0]
        if self.family == "lightgbm":
            import lightgbm as lgb

            ds = lgb.Dataset(
                self.X_train,
                label=np.zeros(n, dtype=np.float32),
                params=dict(self.bin_params),
                free_raw_data=True,
            )
            return ds.construct()
        import xgboost as xgb

        return xgb.QuantileDMatrix(
            self.X_train,
            label=np.zeros(n, dtype=np.float32),
            max_bin=int(self.bin_params.get("max_bin", 256)),
            nthread=int(self.bin_params.get("nthread", 1)),
        )

    def fit_predict(
        self,
        rows: np.ndarray,
        y: np.ndarray,
        X_test: np.ndarray,
        native: dict[str, Any],
        num_boost_round: int,
    ) -> np.ndarray:
        """Train on ``rows`` (positions in the fold's training set) and predict ``X_test``.

        Returns
        -------
        ndarray
            Regression: predictions, shape ``(n_test,)``; binary: P(class 1),
            shape ``(n_test,)``; multiclass: probabilities ``(n_test, n_classes)``.
        """
        base = self.base()
        if self.family == "lightgbm":
            import lightgbm as lgb

            sub = base.subset(rows, params=dict(self.bin_params)).construct()
            sub.set_label(y)
            # keep_training_booster: predict with the trained booster as is, skipping
            # lgb.train's model-to-string round trip (same trees, same predictions).
            lgb_booster = lgb.train(
                native, sub, num_boost_round=num_boost_round, keep_training_booster=True
            )
            return np.asarray(lgb_booster.predict(X_test, num_threads=native["num_threads"]))
        import xgboost as xgb

        # Rows outside ``rows`` (purged for this horizon, or unlabelled) get weight 0,
        # so the fold's binned matrix is reused as is: no re-binning, no copy.
        label = np.zeros(base.num_row(), dtype=np.float32)
        label[rows] = y
        weight = np.zeros(base.num_row(), dtype=np.float32)
        weight[rows] = 1.0
        dtrain = self._acquire()
        try:
            dtrain.set_label(label)
            dtrain.set_weight(weight)
            booster = xgb.train(native, dtrain, num_boost_round=num_boost_round)
        finally:
            self._release(dtrain)
        return np.asarray(booster.inplace_predict(X_test))

    def _acquire(self) -> Any:
        """A binned XGBoost matrix of this fold that no other thread is using."""
        base = self.base()
        with self._lock:
            if self._free:
                return self._free.pop()
            if not self._base_taken:
                self._base_taken = True
                return base
        import xgboost as xgb

        # Another thread holds the base: a copy that reuses its quantile cuts.
        return xgb.QuantileDMatrix(
            self.X_train,
            label=np.zeros(self.X_train.shape[0], dtype=np.float32),
            ref=base,
            max_bin=int(self.bin_params.get("max_bin", 256)),
            nthread=int(self.bin_params.get("nthread", 1)),
        )

    def _release(self, matrix: Any) -> None:
        with self._lock:
            self._free.append(matrix)
