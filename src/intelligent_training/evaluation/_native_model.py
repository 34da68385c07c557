"""A trained native booster (LightGBM / XGBoost) seen through the cell engine's interface:
scores, native importance and exact TreeSHAP contributions."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NativeModel"]


class NativeModel:
    """A trained native booster seen through the engine's interface.

    Parameters
    ----------
    family : {"lightgbm", "xgboost"}
    booster : lightgbm.Booster or xgboost.Booster
    task : {"regression", "binary", "multiclass"}
    n_classes : int
    n_features : int
    n_threads : int
    """

    def __init__(
        self, family: str, booster: Any, task: str, n_classes: int, n_features: int, n_threads: int
    ) -> None:
        self.family = family
        self.booster = booster
        self.task = task
        self.n_classes = n_classes
        self.n_features = n_features
        self.n_threads = n_threads
        #: Scores of the cell's test rows computed while training (or None).
        self.test_scores: np.ndarray | None = None

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Score matrix ``(n, k)``: prediction, P(class 1), or class probabilities."""
        if self.family == "lightgbm":
            raw = self.booster.predict(X, num_threads=self.n_threads)
        else:
            raw = self.booster.inplace_predict(X)
        raw = np.asarray(raw, dtype=np.float64)
        return raw.reshape(len(raw), -1)

    def native_importance(self) -> np.ndarray:
        """Gain per feature (LightGBM: total gain; XGBoost: mean gain per split)."""
        if self.family == "lightgbm":
            return np.asarray(self.booster.feature_importance(importance_type="gain"), float)
        gains = self.booster.get_score(importance_type="gain")
        out = np.zeros(self.n_features)
        for key, value in gains.items():
            out[int(key[1:]) if key.startswith("f") else int(key)] = value
        return out

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP values ``(n, n_features, n_outputs)`` on the raw (margin) scale."""
        p = self.n_features
        if self.family == "lightgbm":
            raw = np.asarray(self.booster.predict(X, pred_contrib=True, num_threads=self.n_threads))
            k = raw.shape[1] // (p + 1)
            values = raw.reshape(len(X), k, p + 1)[:, :, :p]
        else:
            import xgboost as xgb

            raw = np.asarray(self.booster.predict(xgb.DMatrix(X), pred_contribs=True))
            values = raw.reshape(len(X), -1, p + 1)[:, :, :p]
        return values.transpose(0, 2, 1)  # type: ignore[no-any-return]
