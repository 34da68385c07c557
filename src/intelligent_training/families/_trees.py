"""Tree-ensemble families: ``lightgbm``, ``xgboost``, ``random_forest``, ``extra_trees``.

Thin builders returning the libraries' own scikit-learn estimators, configured for
the task. All four handle NaN in the features natively.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xgboost import XGBClassifier, XGBRegressor

from intelligent_training.families._threads import resolve_n_jobs


def _is_classification(task: str) -> bool:
    return task in ("binary", "multiclass")


def build_lightgbm(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> Any:
    """Build a ``LGBMRegressor``/``LGBMClassifier`` (silent, ``n_jobs`` honoured)."""
    from lightgbm import LGBMClassifier, LGBMRegressor

    kwargs = {"verbose": -1, **params}
    cls = LGBMClassifier if _is_classification(task) else LGBMRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **kwargs)


class LabelEncodedXGBClassifier(XGBClassifier):
    """``XGBClassifier`` that accepts any class labels, not only ``0..k-1``.

    Labels are encoded before fitting; ``classes_`` holds the original labels and
    ``predict`` returns them. Everything else is ``XGBClassifier``'s.
    """

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelEncodedXGBClassifier:
        """Encode the labels of ``y`` and fit ``XGBClassifier`` on them."""
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        labels, codes = np.unique(y_arr, return_inverse=True)
        self.__dict__.pop("_original_classes", None)
        super().fit(X, codes.reshape(y_arr.shape), **fit_params)
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
    """Build an ``XGBRegressor``/``XGBClassifier`` with ``tree_method="hist"`` on CPU."""
    kwargs = {"tree_method": "hist", "device": "cpu", "verbosity": 0, **params}
    cls = LabelEncodedXGBClassifier if _is_classification(task) else XGBRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **kwargs)


def build_random_forest(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> Any:
    """Build a ``RandomForestRegressor``/``RandomForestClassifier``."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if _is_classification(task) else RandomForestRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **params)


def build_extra_trees(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> Any:
    """Build an ``ExtraTreesRegressor``/``ExtraTreesClassifier``."""
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    cls = ExtraTreesClassifier if _is_classification(task) else ExtraTreesRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **params)
