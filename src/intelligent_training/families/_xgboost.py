"""The ``xgboost`` family: XGBoost's scikit-learn estimators, subclassed only to accept
``"auto"`` for their leaf size (see :mod:`~intelligent_training.families._row_scaling`)
and, for the classifier, any class labels. A module of its own so that XGBoost is
imported only by runs that use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xgboost import XGBClassifier, XGBRegressor

from intelligent_training.families._row_scaling import AutoLeafMixin
from intelligent_training.families._threads import resolve_n_jobs

__all__ = ["AutoXGBRegressor", "LabelEncodedXGBClassifier", "build_xgboost"]

#: Large-panel value of the ``"auto"`` leaf size (the packaged defaults ask for "auto").
XGBOOST_MIN_CHILD_WEIGHT = 50.0


class _AutoXGBMixin(AutoLeafMixin):
    _auto_caps = {"min_child_weight": XGBOOST_MIN_CHILD_WEIGHT}

    def get_xgb_params(self) -> dict[str, Any]:
        """XGBoost's native parameters, with ``"auto"`` resolved (the cap before a fit)."""
        return self._with_auto_resolved(super().get_xgb_params())  # type: ignore[misc]


class AutoXGBRegressor(_AutoXGBMixin, XGBRegressor):
    """``XGBRegressor`` whose ``min_child_weight`` may be ``"auto"``.

    ``"auto"`` is ``min(50, max(1, n_rows // 10))`` at fit time; the value used is in
    ``auto_params_``. Everything else is XGBoost's.
    """

    def fit(self, X: Any, y: Any, **fit_params: Any) -> AutoXGBRegressor:
        """Resolve ``"auto"`` for the rows of ``X``, then ``XGBRegressor.fit``."""
        self._resolve_auto(X)
        super().fit(X, y, **fit_params)
        return self


class LabelEncodedXGBClassifier(_AutoXGBMixin, XGBClassifier):
    """``XGBClassifier`` that accepts any class labels, not only ``0..k-1``.

    Labels are encoded before fitting; ``classes_`` holds the original labels and
    ``predict`` returns them. ``min_child_weight`` may be ``"auto"``: a child weight
    is a sum of hessians, at most 1/4 per row for the logistic loss, so ``"auto"`` is
    ``min(50, max(1, (n_rows / 4) // 10))`` (50 from 2,000 rows on). Everything else
    is ``XGBClassifier``'s.
    """

    def _rows_per_tree(self, n_rows: int) -> int:
        # in hessian units: a row weighs at most p (1 - p) <= 1/4 in the logistic loss
        return n_rows // 4

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelEncodedXGBClassifier:
        """Encode the labels of ``y`` and fit ``XGBClassifier`` on them."""
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        labels, codes = np.unique(y_arr, return_inverse=True)
        self.__dict__.pop("_original_classes", None)
        self._resolve_auto(X)
        objective = self.objective
        try:
            super().fit(X, codes.reshape(y_arr.shape), **fit_params)
        finally:
            # XGBClassifier.fit rewrites ``objective`` (multi:softprob for > 2 classes);
            # a parameter must not change in fit, and predictions do not depend on it.
            self.objective = objective
        self._original_classes = labels
        return self

    @property
    def classes_(self) -> np.ndarray:  # type: ignore[override]
        """The original class labels, in sorted order."""
        original = self.__dict__.get("_original_classes")
        if original is not None:
            return original
        return np.arange(self.n_classes_)

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        """Predict the original class labels of ``X``."""
        codes = super().predict(X, **kwargs)
        if kwargs.get("output_margin"):
            return codes
        return self.classes_[np.asarray(codes, dtype=np.intp)]


def build_xgboost(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> Any:
    """Build an ``AutoXGBRegressor``/``LabelEncodedXGBClassifier`` (``hist`` on CPU)."""
    kwargs = {"tree_method": "hist", "device": "cpu", "verbosity": 0, **params}
    cls = LabelEncodedXGBClassifier if task in ("binary", "multiclass") else AutoXGBRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **kwargs)
