"""Tree-ensemble families: ``lightgbm``, ``random_forest``, ``extra_trees`` (``xgboost``:
:mod:`._xgboost`, imported only when a run uses it).

The libraries' own scikit-learn estimators, subclassed only to accept ``"auto"`` for
their leaf-size parameter (resolved from the row count at fit time, see
:mod:`~intelligent_training.families._row_scaling`). All of them handle NaN in the
features natively.
"""

from __future__ import annotations

from typing import Any

from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.utils._param_validation import StrOptions

from intelligent_training.families._lightgbm_layout import with_histogram_layout
from intelligent_training.families._row_scaling import AUTO, AutoLeafMixin
from intelligent_training.families._threads import resolve_n_jobs

#: Large-panel values of the ``"auto"`` leaf sizes (the packaged defaults ask for "auto").
LIGHTGBM_MIN_CHILD_SAMPLES = 100
FOREST_MIN_SAMPLES_LEAF = 50


# ---------------------------------------------------------------------- LightGBM
class _AutoLGBMMixin(AutoLeafMixin):
    _auto_caps = {"min_child_samples": LIGHTGBM_MIN_CHILD_SAMPLES}

    def _process_params(self, stage: str) -> dict[str, Any]:
        # LightGBM reads its parameters here at fit and predict time: the resolved
        # value replaces "auto" in this copy only.
        return self._with_auto_resolved(super()._process_params(stage))  # type: ignore[misc]


class AutoLGBMRegressor(_AutoLGBMMixin, LGBMRegressor):
    """``LGBMRegressor`` whose ``min_child_samples`` may be ``"auto"``.

    ``"auto"`` is ``min(100, max(1, n_rows // 10))`` at fit time; the value used is in
    ``auto_params_``. Everything else is LightGBM's.
    """

    def fit(self, X: Any, y: Any, *args: Any, **kwargs: Any) -> AutoLGBMRegressor:
        """Resolve ``"auto"`` for the rows of ``X``, then ``LGBMRegressor.fit``."""
        self._resolve_auto(X)
        super().fit(X, y, *args, **kwargs)
        return self


class AutoLGBMClassifier(_AutoLGBMMixin, LGBMClassifier):
    """``LGBMClassifier`` whose ``min_child_samples`` may be ``"auto"`` (see the regressor)."""

    def fit(self, X: Any, y: Any, *args: Any, **kwargs: Any) -> AutoLGBMClassifier:
        """Resolve ``"auto"`` for the rows of ``X``, then ``LGBMClassifier.fit``."""
        self._resolve_auto(X)
        super().fit(X, y, *args, **kwargs)
        return self


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
    """Build an ``AutoLGBMRegressor``/``AutoLGBMClassifier`` (silent, ``n_jobs`` honoured)."""
    kwargs = with_histogram_layout({"verbose": -1, **params})
    cls = AutoLGBMClassifier if _is_classification(task) else AutoLGBMRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **kwargs)


# ----------------------------------------------------------------------- forests
def _with_auto(constraints: dict[str, list[Any]], name: str) -> dict[str, list[Any]]:
    return {**constraints, name: [*constraints[name], StrOptions({AUTO})]}


class _AutoForestMixin(AutoLeafMixin):
    """``min_samples_leaf="auto"`` for the scikit-learn forests (listed first in the bases)."""

    _auto_caps = {"min_samples_leaf": FOREST_MIN_SAMPLES_LEAF}

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Resolve ``"auto"`` for the rows of ``X``, then fit the forest."""
        self._resolve_auto(X)
        return super().fit(X, y, sample_weight=sample_weight)  # type: ignore[misc]

    def _rows_per_tree(self, n_rows: int) -> int:
        # A tree is grown on its bootstrap sample when there is one.
        max_samples = getattr(self, "max_samples", None)
        if not getattr(self, "bootstrap", False) or max_samples is None:
            return n_rows
        if isinstance(max_samples, float):
            return max(round(n_rows * max_samples), 1)
        return min(int(max_samples), n_rows)

    def _make_estimator(self, append: bool = True, random_state: Any = None) -> Any:
        tree = super()._make_estimator(append=append, random_state=random_state)  # type: ignore[misc]
        resolved = self.__dict__.get("auto_params_")
        if resolved:
            tree.set_params(**resolved)
        return tree


class AutoRandomForestRegressor(_AutoForestMixin, RandomForestRegressor):
    """``RandomForestRegressor`` whose ``min_samples_leaf`` may be ``"auto"``.

    ``"auto"`` is ``min(50, max(1, n_tree_rows // 10))`` at fit time, with
    ``n_tree_rows`` the rows of one bootstrap sample; the value used is in
    ``auto_params_``. Everything else is scikit-learn's.
    """

    _parameter_constraints = _with_auto(
        RandomForestRegressor._parameter_constraints, "min_samples_leaf"
    )


class AutoRandomForestClassifier(_AutoForestMixin, RandomForestClassifier):
    """``RandomForestClassifier`` whose ``min_samples_leaf`` may be ``"auto"`` (see the
    regressor)."""

    _parameter_constraints = _with_auto(
        RandomForestClassifier._parameter_constraints, "min_samples_leaf"
    )


class AutoExtraTreesRegressor(_AutoForestMixin, ExtraTreesRegressor):
    """``ExtraTreesRegressor`` whose ``min_samples_leaf`` may be ``"auto"`` (see
    :class:`AutoRandomForestRegressor`)."""

    _parameter_constraints = _with_auto(
        ExtraTreesRegressor._parameter_constraints, "min_samples_leaf"
    )


class AutoExtraTreesClassifier(_AutoForestMixin, ExtraTreesClassifier):
    """``ExtraTreesClassifier`` whose ``min_samples_leaf`` may be ``"auto"`` (see
    :class:`AutoRandomForestRegressor`)."""

    _parameter_constraints = _with_auto(
        ExtraTreesClassifier._parameter_constraints, "min_samples_leaf"
    )


def build_random_forest(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> Any:
    """Build an ``AutoRandomForestRegressor``/``AutoRandomForestClassifier``."""
    cls = AutoRandomForestClassifier if _is_classification(task) else AutoRandomForestRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **params)


def build_extra_trees(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> Any:
    """Build an ``AutoExtraTreesRegressor``/``AutoExtraTreesClassifier``."""
    cls = AutoExtraTreesClassifier if _is_classification(task) else AutoExtraTreesRegressor
    return cls(random_state=random_state, n_jobs=resolve_n_jobs(n_jobs), **params)


_MOVED_TO_XGBOOST = (
    "AutoXGBRegressor",
    "LabelEncodedXGBClassifier",
    "XGBOOST_MIN_CHILD_WEIGHT",
    "build_xgboost",
)


def __getattr__(name: str) -> Any:
    """The XGBoost family's names, from :mod:`._xgboost` (models saved before the move
    unpickle through this module's path)."""
    if name in _MOVED_TO_XGBOOST:
        from intelligent_training.families import _xgboost

        return getattr(_xgboost, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
