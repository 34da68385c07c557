"""Tiny stand-ins for the ranker, selector and trainer: the pipeline's orchestration is
tested on its own, fast; the real estimators are exercised end to end in tests/cli."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression

#: How often each stub's fit ran (cache hits do not call fit).
FIT_CALLS: collections.Counter = collections.Counter()


def _abs_corr(X: pd.DataFrame, y: pd.Series) -> pd.Series:
    return X.apply(lambda c: abs(np.corrcoef(c, y)[0, 1])).fillna(0.0)


class StubRanker(BaseEstimator):
    def __init__(self, top_n=2, memory=None, verbose=None, horizons=None, default_horizon=None):
        self.top_n = top_n
        self.memory = memory
        self.verbose = verbose
        self.horizons = horizons
        self.default_horizon = default_horizon

    def fit(self, X, Y):
        FIT_CALLS["rank"] += 1
        scores = {t: _abs_corr(X, Y[t].fillna(0)).max() for t in Y.columns}
        ranked = sorted(scores, key=scores.get, reverse=True)
        self.rankings_ = pd.DataFrame(
            {"score": [scores[t] for t in ranked], "rank": range(1, len(ranked) + 1)},
            index=pd.Index(ranked, name="target"),
        )
        self.selected_targets_ = ranked[: self.top_n]
        self.horizons_ = {t: 3 if "15m" in t else 1 for t in Y.columns}
        return self


class StubSelector(BaseEstimator):
    def __init__(self, top_m=2, fail_on=None, cv=None, horizons=None, default_horizon=None):
        self.top_m = top_m
        self.fail_on = fail_on
        self.cv = cv
        self.horizons = horizons
        self.default_horizon = default_horizon

    def fit(self, X, y):
        FIT_CALLS["select"] += 1
        if y.name == self.fail_on:
            raise RuntimeError("stub selector failure")
        imp = _abs_corr(X, y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.feature_importances_ = imp.to_numpy()
        self.importances_ = pd.DataFrame({"stub/native": imp, "stub/perm": imp / 2})
        self.agreement_matrix_ = pd.DataFrame([[1.0]], index=["stub"], columns=["stub"])
        self.support_ = imp.rank(ascending=False, method="first").to_numpy() <= self.top_m
        return self

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_[self.support_]


class StubTrainer(BaseEstimator):
    def __init__(self, strategy="single_task", fail_on=None, horizons=None, default_horizon=None):
        self.strategy = strategy
        self.fail_on = fail_on
        self.horizons = horizons
        self.default_horizon = default_horizon

    def fit(self, X, Y):
        FIT_CALLS["train"] += 1
        names = [Y.name] if isinstance(Y, pd.Series) else list(Y.columns)
        if self.fail_on in names:
            raise RuntimeError("stub trainer failure")
        self.model_ = LinearRegression().fit(X.to_numpy(), Y.to_numpy())
        self.columns_ = list(X.columns)
        self.multi_ = isinstance(Y, pd.DataFrame)
        self.targets_ = names
        self.models_ = {(names[0], "linear"): self.model_}
        self.cv_metrics_ = pd.DataFrame({"family": ["linear"], "r2": [0.1]})
        self.oof_predictions_ = pd.DataFrame({n: np.zeros(len(X)) for n in names}, index=X.index)
        return self

    def predict(self, X):
        pred = self.model_.predict(X[self.columns_].to_numpy())
        if self.multi_:
            return pd.DataFrame(pred, index=X.index, columns=self.targets_)
        return pred


def make_xy(n_symbols=3, n_timestamps=200, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product(
        [
            pd.date_range("2024-01-01", periods=n_timestamps, freq="5min"),
            [f"S{i}" for i in range(n_symbols)],
        ],
        names=["timestamp", "symbol"],
    )
    n = len(idx)
    X = pd.DataFrame(rng.normal(size=(n, 5)).astype("float32"), idx, [f"f{i}" for i in range(5)])
    Y = pd.DataFrame(
        {
            "fwd_ret_5m": X["f0"] * 2 + 0.1 * rng.normal(size=n),
            "y_up_15m": (X["f1"] + 0.5 * rng.normal(size=n) > 0).astype(float),
            "fwd_ret_60m": rng.normal(size=n),
        },
        index=idx,
    )
    return X, Y
