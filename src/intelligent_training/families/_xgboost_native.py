"""XGBoost's fast native trainer: sketch and bin a fold once, train every target on it.

The family's :class:`~intelligent_training.families._specs.NativeTrainer` hook. One
``xgb.QuantileDMatrix`` per fold (sketch and binning once); each cell sets its label and
gives the base rows it must not use (purged for its horizon, or unlabelled) weight 0,
so the fold's binned matrix is reused as is. A matrix serves one thread at a time; a
concurrent thread gets a copy built with ``ref=`` (the cuts are reused, not
recomputed). The matrix is built from a copy of the base rows, freed once binned.

Parameters are the family's resolved ones mapped through the wrapper's own
``get_xgb_params`` (:func:`xgboost_native_params`), so a model here is the one
``make_estimator`` would fit on the same rows, up to the bin boundaries and row
subsampling that also draws zero-weight rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from intelligent_training.families._specs import NativeModel, NativeTrainer, check_resolved
from intelligent_training.families._tree_walk import Forest, Unsupported, build_forest
from intelligent_training.families._xgboost_capi import xgboost_train

__all__ = ["TRAINER", "XGBoostModel", "XGBoostTrainer", "xgboost_forest", "xgboost_native_params"]


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

    check_resolved(params)
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


def xgboost_forest(booster: Any) -> Forest:
    """The trees of an XGBoost booster as flat arrays (from its JSON model)."""
    model = json.loads(booster.save_raw("json"))
    gbm = model["learner"]["gradient_booster"]
    if gbm.get("name") != "gbtree":
        raise Unsupported(f"XGBoost booster {gbm.get('name')!r}")
    body = gbm["model"]
    n_class = int(model["learner"]["learner_model_param"].get("num_class", "0") or 0)
    trees, classes = [], []
    for tree, klass in zip(body["trees"], body["tree_info"]):
        if any(int(s) != 0 for s in tree["split_type"]):
            raise Unsupported("XGBoost categorical split")
        nodes = []
        for f, cond, lo, hi, dl in zip(
            tree["split_indices"],
            tree["split_conditions"],
            tree["left_children"],
            tree["right_children"],
            tree["default_left"],
        ):
            if lo == -1:  # a leaf: its value is in split_conditions
                nodes.append((-1, 0.0, -1, -1, 0, float(cond)))
            else:
                # XGBoost goes left when x < cond (in float32): for a float32 x that is
                # x <= the largest float32 below cond.
                below = float(np.nextafter(np.float32(cond), np.float32(-np.inf)))
                nodes.append((int(f), below, int(lo), int(hi), int(dl), 0.0))
        trees.append(nodes)
        classes.append(int(klass))
    return build_forest(trees, classes, max(n_class, 1))


class XGBoostModel(NativeModel):
    """A trained ``xgboost.Booster`` through the engine's interface."""

    def __init__(
        self, booster: Any, task: str, n_classes: int, n_features: int, n_threads: int
    ) -> None:
        self.booster = booster
        self.task = task
        self.n_classes = n_classes
        self.n_features = n_features
        self.n_threads = n_threads
        self.test_scores: np.ndarray | None = None

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Score matrix ``(n, k)``: prediction, P(class 1), or class probabilities."""
        raw = np.asarray(self.booster.inplace_predict(X), dtype=np.float64)
        return raw.reshape(len(raw), -1)

    def native_importance(self) -> np.ndarray:
        """Mean gain per split of every feature."""
        gains = self.booster.get_score(importance_type="gain")
        out = np.zeros(self.n_features)
        for key, value in gains.items():
            out[int(key[1:]) if key.startswith("f") else int(key)] = value
        return out

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP values ``(n, n_features, n_outputs)`` (``pred_contribs``)."""
        import xgboost as xgb

        p = self.n_features
        raw = np.asarray(self.booster.predict(xgb.DMatrix(X), pred_contribs=True))
        values = raw.reshape(len(X), -1, p + 1)[:, :, :p]
        return values.transpose(0, 2, 1)  # type: ignore[no-any-return]

    def forest(self) -> Any:
        """The trees as flat arrays (None for what the walk does not reproduce)."""
        try:
            return xgboost_forest(self.booster)
        except (Unsupported, KeyError, ValueError, TypeError):
            return None


class XGBoostTrainer(NativeTrainer):
    """The XGBoost family's fast native trainer (see the module docstring)."""

    unsupported = ("class_weight",)

    def native_params(
        self,
        params: Mapping[str, Any],
        task: str,
        n_classes: int,
        *,
        random_state: int | None,
        n_threads: int,
    ) -> tuple[dict[str, Any], int]:
        return xgboost_native_params(
            params, task, n_classes, random_state=random_state, n_threads=n_threads
        )

    def bin_params(self, native: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "max_bin": int(native.get("max_bin", 256)),
            "nthread": int(native.get("nthread", 1)),
        }

    def build(
        self, X: Any, base_rows: np.ndarray, params: Mapping[str, Any], ref: Any = None
    ) -> Any:
        import xgboost as xgb

        return xgb.QuantileDMatrix(
            X[base_rows],  # freed once binned
            label=np.zeros(len(base_rows), dtype=np.float32),
            ref=ref,
            max_bin=int(params.get("max_bin", 256)),
            nthread=int(params.get("nthread", 1)),
        )

    def train(
        self,
        bins: Any,
        X: Any,
        positions: np.ndarray,
        y: np.ndarray,
        native: Mapping[str, Any],
        num_boost_round: int,
        test_rows: np.ndarray | None = None,
        *,
        task: str,
        n_classes: int,
        weight: np.ndarray | None = None,
    ) -> XGBoostModel:
        """Train with the base rows outside ``positions`` at weight 0 (no re-binning);
        the test scores are left to ``predict`` (already cheap for XGBoost). ``weight``:
        the sample weights of ``positions`` (None: 1 each)."""
        n_base = len(bins.base_rows)
        label = np.zeros(n_base, dtype=np.float32)
        label[positions] = y
        row_weight = np.zeros(n_base, dtype=np.float32)
        row_weight[positions] = 1.0 if weight is None else weight
        dtrain = bins.acquire(X)
        try:
            dtrain.set_label(label)
            dtrain.set_weight(row_weight)
            booster = xgboost_train(dict(native), dtrain, num_boost_round)
        finally:
            bins.release(dtrain)
        return XGBoostModel(booster, task, n_classes, X.shape[1], int(native.get("nthread", 1)))


TRAINER = XGBoostTrainer()
