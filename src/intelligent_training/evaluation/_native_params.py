"""LightGBM / XGBoost scikit-learn parameters mapped onto their native training APIs.

The fast path (:mod:`._fast`) trains with ``lgb.train`` / ``xgb.train`` on shared bins;
these mappers turn a family's resolved parameters into the native ones, so a native
model is the one the scikit-learn wrapper would fit. **Parameter precedence**: a seed or
thread count among the user's parameters (any alias) wins over the stage's
``random_state`` / thread budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intelligent_training.families._lightgbm_layout import with_histogram_layout

__all__ = [
    "bin_params",
    "lightgbm_native_params",
    "native_params",
    "xgboost_native_params",
]

# scikit-learn-wrapper-only keys that the native LightGBM API does not take.
_LGB_SKLEARN_ONLY = ("importance_type", "class_weight", "n_estimators", "objective")
_LGB_SEED_KEYS = ("random_state", "seed", "random_seed")
_LGB_THREAD_KEYS = ("n_jobs", "num_threads", "num_thread", "nthread", "nthreads")
#: Leaf-size parameters: they never decide the bins (a fold's bins serve every target,
#: whatever its row count and so its resolved ``"auto"`` leaf size).
_LEAF_KEYS = (
    "min_child_samples",
    "min_data_in_leaf",
    "min_child_weight",
    "min_sum_hessian_in_leaf",
)


def _check_resolved(params: Mapping[str, Any]) -> None:
    auto = sorted(k for k, v in params.items() if isinstance(v, str) and v == "auto")
    if auto:
        from intelligent_training.exceptions import FamilyError

        raise FamilyError(
            f"Parameters {auto} are still 'auto': resolve them for the training rows with "
            "family_params(..., n_rows=...) before mapping them to the native API."
        )


def lightgbm_native_params(
    params: Mapping[str, Any],
    task: str,
    n_classes: int,
    *,
    random_state: int | None,
    n_threads: int,
) -> tuple[dict[str, Any], int]:
    """Map ``LGBMRegressor``/``LGBMClassifier`` parameters to ``lgb.train`` ones.

    LightGBM's native API accepts the scikit-learn names as aliases
    (``min_child_samples``, ``subsample``, ``reg_lambda``, ...), so only the
    wrapper-only keys are removed and the objective is made explicit. A seed or thread
    count among ``params`` (any of LightGBM's aliases) wins over ``random_state`` /
    ``n_threads``.

    Returns
    -------
    native : dict
        Parameters for ``lgb.Dataset``/``lgb.train``.
    num_boost_round : int
        ``n_estimators`` (100, the wrapper's default, when absent).
    """
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
    if random_state is not None and not any(k in params for k in _LGB_SEED_KEYS):
        native["seed"] = int(random_state)
    if not any(k in params for k in _LGB_THREAD_KEYS):
        native["num_threads"] = int(n_threads)
    native["feature_pre_filter"] = False
    return with_histogram_layout(native), num_boost_round


def xgboost_native_params(
    params: Mapping[str, Any],
    task: str,
    n_classes: int,
    *,
    random_state: int | None,
    n_threads: int,
) -> tuple[dict[str, Any], int]:
    """Map ``XGBRegressor``/``XGBClassifier`` parameters to ``xgb.train`` ones.

    Uses the wrapper's own ``get_xgb_params`` so the translation is XGBoost's.
    ``random_state`` / ``n_jobs`` among ``params`` win over the stage's values.
    """
    from xgboost import XGBRegressor

    _check_resolved(params)
    kwargs: dict[str, Any] = {
        "tree_method": "hist",
        "device": "cpu",
        "verbosity": 0,
        "random_state": random_state,
        "n_jobs": int(n_threads),
        **params,
    }
    kwargs.pop("objective", None)
    est = XGBRegressor(**kwargs)
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


def native_params(
    family: str,
    params: Mapping[str, Any],
    task: str,
    n_classes: int,
    *,
    random_state: int | None,
    n_threads: int,
) -> tuple[dict[str, Any], int]:
    """The native parameters and boosting rounds of ``family`` (see the mappers above)."""
    mapper = lightgbm_native_params if family == "lightgbm" else xgboost_native_params
    return mapper(params, task, n_classes, random_state=random_state, n_threads=n_threads)


def bin_params(family: str, native: Mapping[str, Any]) -> dict[str, Any]:
    """The native parameters that decide a fold's bins (cells with equal ones share bins)."""
    if family == "lightgbm":
        drop = ("objective", "num_class", *_LEAF_KEYS)
        return {k: v for k, v in native.items() if k not in drop}
    return {"max_bin": int(native.get("max_bin", 256)), "nthread": int(native.get("nthread", 1))}
