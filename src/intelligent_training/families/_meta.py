"""The ``meta_learning`` family: time-ordered stacking over base families.

Fit:

1. the training rows are cut into walk-forward purged inner folds
   (:class:`~intelligent_training.model_selection.PurgedTimeSeriesSplit`; train always
   before test, labels overlapping the test span purged);
2. every base family is fit on each inner training side and predicts its test side,
   giving out-of-fold (OOF) predictions: no row's own label ever reaches its stacked
   feature, and no later label either (an inner training side that holds a single class
   forecasts that class: the class prior);
3. the final learner (``final_family``, the torch ``mlp`` by default) is fit on the rows
   that have OOF predictions, with the OOF predictions as features (plus the raw features
   when ``passthrough=True``);
4. every base family is refit on all training rows; ``predict`` feeds their predictions
   to the final learner.

Defaults come from ``families/defaults.yaml`` (``meta_learning``) for every parameter
left at ``None``. Inputs are checked the scikit-learn way (``validate_data``: numeric,
NaN allowed, no inf, at least two rows, the fitted feature count and names at predict);
a bad input is a :class:`~intelligent_training.exceptions.DataError`. A DataFrame ``X``
is passed on as it is, so its panel index times the inner folds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.dummy import DummyClassifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from intelligent_training.exceptions import DataError, FamilyError

logger = logging.getLogger(__name__)

_NOT_STACKABLE = frozenset({"meta_learning", "multi_task"})


def _take_rows(X: Any, rows: np.ndarray) -> Any:
    if isinstance(X, pd.DataFrame | pd.Series):
        return X.iloc[rows]
    return X[rows]


class _MetaLearningBase(BaseEstimator):
    _task_kind: str = "regression"

    def __init__(
        self,
        base_families: list[str] | None = None,
        final_family: str | None = None,
        n_splits: int | None = None,
        passthrough: bool | None = None,
        horizon: int | str | pd.Timedelta | None = None,
        embargo: int | str | pd.Timedelta | None = None,
        base_params: Mapping[str, Mapping[str, Any]] | None = None,
        final_params: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        n_jobs: int | None = None,
        cpu_only: bool = False,
    ) -> None:
        self.base_families = base_families
        self.final_family = final_family
        self.n_splits = n_splits
        self.passthrough = passthrough
        self.horizon = horizon
        self.embargo = embargo
        self.base_params = base_params
        self.final_params = final_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.cpu_only = cpu_only

    # -- parameters ----------------------------------------------------------------------
    def _resolved_params(self, task: str) -> dict[str, Any]:
        from intelligent_training.families._registry import family_params, get_family

        defaults = family_params("meta_learning", task)
        resolved = {
            name: (defaults.get(name) if getattr(self, name) is None else getattr(self, name))
            for name in (
                "base_families",
                "final_family",
                "n_splits",
                "passthrough",
                "horizon",
                "embargo",
                "base_params",
                "final_params",
            )
        }
        bases = resolved["base_families"]
        if isinstance(bases, str):
            bases = [bases]
        if not bases:
            raise FamilyError("meta_learning: base_families must name at least one family.")
        bases = list(dict.fromkeys(bases))
        for name in [*bases, resolved["final_family"]]:
            get_family(name)
            if name in _NOT_STACKABLE:
                raise FamilyError(
                    f"meta_learning: {name!r} cannot be a base or final family of a stacking "
                    "learner; use single-target families such as lightgbm, linear or mlp."
                )
        resolved["base_families"] = bases
        n_splits = resolved["n_splits"]
        if not isinstance(n_splits, Integral) or isinstance(n_splits, bool) or n_splits < 1:
            raise FamilyError(f"meta_learning: n_splits must be an int >= 1, got {n_splits!r}.")
        base_params = resolved["base_params"] or {}
        if not isinstance(base_params, Mapping):
            raise FamilyError(
                "meta_learning: base_params must map family name -> parameter overrides."
            )
        unknown = sorted(set(base_params) - set(bases))
        if unknown:
            raise FamilyError(
                f"meta_learning: base_params names {unknown}, which are not in "
                f"base_families {bases}."
            )
        resolved["base_params"] = {k: dict(v or {}) for k, v in base_params.items()}
        resolved["final_params"] = dict(resolved["final_params"] or {})
        return resolved

    # -- stacking ------------------------------------------------------------------------
    def _make(self, name: str, task: str, params: Mapping[str, Any]) -> Any:
        from intelligent_training.families._registry import make_estimator

        return make_estimator(
            name,
            task,
            params,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            cpu_only=self.cpu_only,
        )

    def _base_output(self, estimator: Any, X: Any) -> np.ndarray:
        """One column (regression / binary) or one per class (multiclass)."""
        if self._task_kind == "regression":
            return np.asarray(estimator.predict(X), dtype=np.float64).reshape(-1, 1)
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        out = np.zeros((proba.shape[0], len(self.classes_)), dtype=np.float64)
        positions = np.searchsorted(self.classes_, np.asarray(estimator.classes_))
        out[:, positions] = proba
        if len(self.classes_) == 2:
            return out[:, 1:]
        return out

    def _stack_names(self, bases: list[str]) -> list[str]:
        if self._task_kind == "regression" or len(self.classes_) == 2:
            return list(bases)
        return [f"{name}__{label}" for name in bases for label in self.classes_]

    def _stacked_frame(self, stacked: np.ndarray, X: Any, rows: np.ndarray | None) -> Any:
        X_rows = X if rows is None else _take_rows(X, rows)
        index = X_rows.index if isinstance(X_rows, pd.DataFrame) else None
        frame = pd.DataFrame(stacked, columns=self.stacked_feature_names_, index=index)
        if not self.passthrough_:
            return frame
        raw = pd.DataFrame(np.asarray(X_rows, dtype=np.float64), index=index)
        raw.columns = [f"x{i}" for i in range(raw.shape[1])]
        return pd.concat([frame, raw], axis=1)

    def _fit_stack(self, X: Any, y: np.ndarray, task: str) -> None:
        from intelligent_training._progress import progress

        params = self._resolved_params(task)
        bases: list[str] = params["base_families"]
        self.passthrough_ = bool(params["passthrough"])
        splits = _inner_splits(X, params)
        self.inner_splits_ = splits
        self.stacked_feature_names_ = self._stack_names(bases)
        width = len(self.stacked_feature_names_) // len(bases)
        oof = np.full((len(y), len(self.stacked_feature_names_)), np.nan, dtype=np.float64)
        covered = np.zeros(len(y), dtype=bool)
        jobs = [(b, name, fold) for b, name in enumerate(bases) for fold in splits]
        for b, name, (train, test) in progress(jobs, total=len(jobs), desc="meta_learning OOF"):
            if task != "regression" and len(np.unique(y[train])) < 2:
                # An early inner fold of time-ordered rows may hold one class only: its
                # best forecast is that class (a prior), not a failed fit.
                estimator = DummyClassifier(strategy="prior")
            else:
                estimator = self._make(name, task, params["base_params"].get(name, {}))
            estimator.fit(_take_rows(X, train), y[train])
            oof[test, b * width : (b + 1) * width] = self._base_output(
                estimator, _take_rows(X, test)
            )
            covered[test] = True
        rows = np.flatnonzero(covered)
        self.oof_mask_ = covered
        self.oof_predictions_ = self._stacked_frame(oof[rows], X, rows)
        logger.debug(
            "meta_learning: %d of %d rows have out-of-fold base predictions", len(rows), len(y)
        )
        self.final_estimator_ = self._make(params["final_family"], task, params["final_params"])
        self.final_estimator_.fit(self.oof_predictions_, y[rows])
        self.base_estimators_ = {}
        for name in bases:
            estimator = self._make(name, task, params["base_params"].get(name, {}))
            self.base_estimators_[name] = estimator.fit(X, y)

    def _validate_X_y(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """scikit-learn's input checks (``validate_data``); a DataFrame ``X`` is kept as it
        is (its panel index times the inner folds), an array-like becomes a float array."""
        try:
            X_checked, y_arr = validate_data(
                self,
                X,
                y,
                dtype="numeric",
                ensure_all_finite="allow-nan",
                ensure_min_samples=2,
                y_numeric=self._task_kind == "regression",
            )
            if self._task_kind != "regression":
                check_classification_targets(y_arr)
        except ValueError as exc:
            raise DataError(f"meta_learning: {exc}") from exc
        return (X if isinstance(X, pd.DataFrame) else X_checked), y_arr

    def _stacked_for_predict(self, X: Any) -> Any:
        check_is_fitted(self, "final_estimator_")
        try:
            X_checked = validate_data(
                self, X, reset=False, dtype="numeric", ensure_all_finite="allow-nan"
            )
        except ValueError as exc:
            raise DataError(
                f"meta_learning: {exc} Pass the same feature columns as in fit."
            ) from exc
        if not isinstance(X, pd.DataFrame):
            X = X_checked
        stacked = np.hstack([self._base_output(est, X) for est in self.base_estimators_.values()])
        return self._stacked_frame(stacked, X, None)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # every family takes NaN features
        return tags


def _inner_splits(X: Any, params: Mapping[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    from intelligent_training.families._inner_splits import inner_time_splits

    return inner_time_splits(
        X, n_splits=params["n_splits"], horizon=params["horizon"], embargo=params["embargo"]
    )


class MetaLearningRegressor(RegressorMixin, _MetaLearningBase):
    """Stacking regressor over base families' out-of-fold predictions (time-ordered).

    Parameters
    ----------
    base_families : list of str, optional
        Base family names (default from YAML: ``["lightgbm", "linear"]``).
    final_family : str, optional
        The learner fit on the stacked predictions (default ``"mlp"``; ``"linear"`` works
        without torch).
    n_splits : int, optional
        Inner walk-forward folds (default 3).
    passthrough : bool, optional
        Also give the raw features to the final learner (default ``False``).
    horizon, embargo : int, str or Timedelta, optional
        Label horizon / embargo used to purge the inner folds (default 0). Set the
        target's horizon for overlapping labels.
    base_params : dict, optional
        ``{family: {param: value}}`` overrides of the base families.
    final_params : dict, optional
        Overrides of the final learner.
    random_state : int, optional
    n_jobs : int, optional
        Threads of every base / final estimator.
    cpu_only : bool, default=False
        Passed to torch families.

    Attributes
    ----------
    base_estimators_ : dict
        Family name -> base estimator refit on all rows.
    final_estimator_ : estimator
        The final learner, fit on ``oof_predictions_``.
    oof_predictions_ : DataFrame
        Stacked out-of-fold predictions of the rows in ``oof_mask_``.
    oof_mask_ : ndarray of bool
        Training rows that are in an inner test fold.
    inner_splits_ : list of (train, test)
        The inner folds.
    stacked_feature_names_ : list of str
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training.families import MetaLearningRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> y = X[:, 0] + 0.1 * rng.normal(size=600)
    >>> model = MetaLearningRegressor(final_family="linear", random_state=0).fit(X, y)
    >>> model.stacked_feature_names_
    ['lightgbm', 'linear']
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    _task_kind = "regression"

    def fit(self, X: Any, y: Any) -> MetaLearningRegressor:
        """Fit the base families out-of-fold, the final learner, then refit the bases."""
        X, y_arr = self._validate_X_y(X, y)
        self._fit_stack(X, y_arr.astype(np.float64), "regression")
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the final learner on the base families' predictions."""
        stacked = self._stacked_for_predict(X)
        return np.asarray(self.final_estimator_.predict(stacked), dtype=np.float64).ravel()


class MetaLearningClassifier(ClassifierMixin, _MetaLearningBase):
    """Stacking classifier (binary / multiclass) over base families' OOF probabilities.

    Same parameters and attributes as :class:`MetaLearningRegressor`; the stacked
    features are the base families' class probabilities (the positive class for binary
    targets). Adds ``classes_``.
    """

    _task_kind = "classification"

    def fit(self, X: Any, y: Any) -> MetaLearningClassifier:
        """Fit the base families out-of-fold, the final learner, then refit the bases."""
        X, y_arr = self._validate_X_y(X, y)
        self.classes_ = np.unique(y_arr)
        if len(self.classes_) < 2:
            raise DataError(
                f"meta_learning: the target has a single class {self.classes_.tolist()}; "
                "a classifier needs at least two classes."
            )
        task = "binary" if len(self.classes_) == 2 else "multiclass"
        self._fit_stack(X, y_arr, task)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the final learner, columns in ``classes_`` order."""
        stacked = self._stacked_for_predict(X)
        proba = np.asarray(self.final_estimator_.predict_proba(stacked), dtype=np.float64)
        out = np.zeros((proba.shape[0], len(self.classes_)), dtype=np.float64)
        positions = np.searchsorted(self.classes_, np.asarray(self.final_estimator_.classes_))
        out[:, positions] = proba
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Most likely class label."""
        check_is_fitted(self, "final_estimator_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]  # type: ignore[no-any-return]


def build_meta_learning(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> MetaLearningRegressor | MetaLearningClassifier:
    """Build the ``meta_learning`` family estimator for ``task``."""
    cls = MetaLearningRegressor if task == "regression" else MetaLearningClassifier
    return cls(random_state=random_state, n_jobs=n_jobs, cpu_only=cpu_only, **params)
