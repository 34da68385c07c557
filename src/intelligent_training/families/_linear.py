"""The ``linear`` family: standardised ridge / logistic regression with NaN handling.

Features are median-imputed (NaN-safe), standardised, then fit by ``Ridge``
(regression) or ``LogisticRegression`` (binary / multiclass). ``feature_importances_``
is ``|coef|`` on the standardised scale, so it is comparable across features.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data


def _preprocessor() -> list[tuple[str, Any]]:
    return [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
    ]


class _StandardizedLinearMixin:
    """Shared input checks and fitted-attribute plumbing of the two linear estimators."""

    pipeline_: Pipeline

    def _fit_data(self, X: Any, y: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        # NaN is imputed, inf is an error; n_features_in_/feature_names_in_ are set here.
        return validate_data(self, X, y, ensure_all_finite="allow-nan", **kwargs)  # type: ignore[arg-type]

    def _predict_data(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return validate_data(self, X, reset=False, ensure_all_finite="allow-nan")  # type: ignore[arg-type]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        return tags

    @property
    def coef_(self) -> np.ndarray:
        """Coefficients on the standardised feature scale."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_[-1].coef_  # type: ignore[no-any-return]

    @property
    def feature_importances_(self) -> np.ndarray:
        """``|coef_|`` on the standardised scale (averaged over classes), one per feature."""
        coef = np.abs(np.atleast_2d(self.coef_))
        return coef.mean(axis=0)  # type: ignore[no-any-return]


class StandardizedRidge(_StandardizedLinearMixin, RegressorMixin, BaseEstimator):
    """Ridge regression on median-imputed, standardised features.

    Parameters
    ----------
    alpha : float, default=1.0
        L2 penalty of :class:`sklearn.linear_model.Ridge`.
    max_iter : int, optional
        Iterations of iterative ridge solvers (the default direct solver ignores it).

    Attributes
    ----------
    pipeline_ : Pipeline
        The fitted imputer -> scaler -> ridge pipeline.
    coef_ : ndarray of shape (n_features,)
        Coefficients on the standardised scale.
    feature_importances_ : ndarray of shape (n_features,)
        ``|coef_|``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fit on a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training.families import StandardizedRidge
    >>> X = np.array([[0.0, 1.0], [1.0, np.nan], [2.0, 0.0], [3.0, 1.0]])
    >>> StandardizedRidge(alpha=0.1).fit(X, [0.0, 1.0, 2.0, 3.0]).predict(X).round(1)
    array([0., 1., 2., 3.])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, alpha: float = 1.0, max_iter: int | None = None) -> None:
        self.alpha = alpha
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> StandardizedRidge:
        """Fit the imputer, the scaler and the ridge on ``(X, y)``."""
        self._validate_params()
        X, y = self._fit_data(X, y, y_numeric=True)
        self.pipeline_ = Pipeline(
            [*_preprocessor(), ("model", Ridge(alpha=self.alpha, max_iter=self.max_iter))]
        )
        self.pipeline_.fit(X, np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict the target of ``X``."""
        X = self._predict_data(X)
        return self.pipeline_.predict(X)  # type: ignore[no-any-return]


class StandardizedLogisticRegression(_StandardizedLinearMixin, ClassifierMixin, BaseEstimator):
    """L2 logistic regression on median-imputed, standardised features.

    Binary and multiclass (multinomial) targets; any class labels.

    Parameters
    ----------
    alpha : float, default=1.0
        L2 penalty strength, as for the ridge regressor (``C = 1 / alpha`` of
        :class:`sklearn.linear_model.LogisticRegression`), so one override serves
        regression and classification targets.
    max_iter : int, default=500
        Iterations of the lbfgs solver.
    random_state : int, optional
        Unused by lbfgs; kept so every family takes a seed.

    Attributes
    ----------
    pipeline_ : Pipeline
    classes_ : ndarray
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    feature_importances_ : ndarray of shape (n_features,)
        ``|coef_|`` averaged over classes.
    n_iter_ : ndarray
        Iterations of the lbfgs solver.
    n_features_in_ : int
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, alpha: float = 1.0, max_iter: int = 500, random_state: int | None = None
    ) -> None:
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> StandardizedLogisticRegression:
        """Fit the imputer, the scaler and the logistic regression on ``(X, y)``."""
        self._validate_params()
        X, y = self._fit_data(X, y)
        model = LogisticRegression(
            C=1.0 / self.alpha, max_iter=self.max_iter, random_state=self.random_state
        )
        self.pipeline_ = Pipeline([*_preprocessor(), ("model", model)])
        self.pipeline_.fit(X, y)
        self.classes_ = self.pipeline_[-1].classes_
        self.n_iter_ = self.pipeline_[-1].n_iter_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels of ``X``."""
        X = self._predict_data(X)
        return self.pipeline_.predict(X)  # type: ignore[no-any-return]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Predict class probabilities of ``X``, columns in ``classes_`` order."""
        X = self._predict_data(X)
        return self.pipeline_.predict_proba(X)  # type: ignore[no-any-return]

    def decision_function(self, X: Any) -> np.ndarray:
        """Signed distance to the decision boundary (log-odds for binary)."""
        X = self._predict_data(X)
        return self.pipeline_.decision_function(X)  # type: ignore[no-any-return]


def build_linear(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> StandardizedRidge | StandardizedLogisticRegression:
    """Build the ``linear`` family estimator for ``task``."""
    if task == "regression":
        return StandardizedRidge(**params)
    return StandardizedLogisticRegression(random_state=random_state, **params)


def _linear_parts(estimator: Any) -> tuple[Callable[[Any], np.ndarray], np.ndarray] | None:
    """(transform to the linear model's inputs, coef ``(k, p)``) of a linear model."""
    from sklearn.pipeline import Pipeline

    pipe = getattr(estimator, "pipeline_", estimator)
    if isinstance(pipe, Pipeline):
        final, steps = pipe[-1], pipe[:-1]
        if hasattr(pipe, "feature_names_in_"):
            transform = steps.transform
        else:  # fitted on an array: give it one (a frame would warn about its names)
            transform = lambda X: steps.transform(np.asarray(X))  # noqa: E731
    else:
        final, transform = pipe, (lambda X: X)
    if not type(final).__module__.startswith("sklearn.linear_model"):
        return None
    coef = getattr(final, "coef_", None)
    if coef is None:
        return None
    return transform, np.atleast_2d(np.asarray(coef, dtype=np.float64))


def linear_contributions(
    estimator: Any, X: Any, background: Any, rng: Any = None
) -> np.ndarray | None:
    """Exact SHAP values of a linear model, ``(n, n_features, n_outputs)``, or None.

    The linear family's SHAP explainer (its ``FamilySpec.explainers["shap"]``); ``rng``
    is unused (the values are exact).

    For a linear model ``f(z) = coef . z + b`` on its (imputed, standardised) inputs
    ``z`` and independent features, the SHAP value of feature ``j`` against a
    background is ``coef_j * (z_j - mean(z_j))`` (the model's own, margin scale).
    """
    parts = _linear_parts(estimator)
    if parts is None:
        return None
    transform, coef = parts
    Z = np.asarray(transform(X), dtype=np.float64)
    centre = np.asarray(transform(background), dtype=np.float64).mean(axis=0)
    if Z.shape[1] != coef.shape[1]:
        return None
    return (Z - centre)[:, :, None] * coef.T[None, :, :]  # type: ignore[no-any-return]
