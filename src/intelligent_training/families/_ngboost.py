"""The ``ngboost`` family (optional extra ``ngboost``): natural-gradient boosting.

NaN features are median-imputed first (NGBoost itself rejects NaN). The point
prediction is the mean of the predicted distribution (regression) or the most likely
class. ``feature_importances_`` are NGBoost's split-gain importances of the location
parameter (regression) or averaged over the class parameters (classification).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.impute import SimpleImputer
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from intelligent_training.exceptions import DataError, MissingDependencyError
from intelligent_training.families._row_scaling import AutoLeafMixin

_INSTALL_HINT = 'pip install "intelligent-training[ngboost]"'


def _import_ngboost() -> Any:
    try:
        import ngboost
    except ImportError as exc:
        raise MissingDependencyError(
            "The 'ngboost' model family needs the ngboost package, which is not installed. "
            f"Install it with: {_INSTALL_HINT}"
        ) from exc
    return ngboost


class _StageSeeds:
    """The seeds of one NGBoost fit's base trees: a new one for every tree.

    NGBoost clones its base learner for every boosting stage, and ``clone`` deep-copies
    parameters; this object is shared by the clones instead (``__deepcopy__`` returns
    it), so each stage's tree draws its own seed from one generator seeded by the
    estimator's ``random_state``: the same ``random_state`` gives the same model.
    """

    def __init__(self, random_state: Any) -> None:
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        self._rng = np.random.default_rng(seed)

    def __deepcopy__(self, memo: dict[int, Any]) -> _StageSeeds:
        return self

    def next(self) -> int:
        return int(self._rng.integers(np.iinfo(np.int32).max))


class _StageSeededTree(DecisionTreeRegressor):
    """NGBoost's base tree (internal): seeded anew for every stage from ``seeds``.

    With one fixed seed for every stage, ``splitter="random"`` drew the same thresholds
    at every stage, and when ``col_sample`` left a single column nothing was learnt.
    """

    def __init__(
        self,
        *,
        max_depth: int | None = None,
        min_samples_leaf: int = 1,
        splitter: str = "best",
        seeds: _StageSeeds | None = None,
    ) -> None:
        super().__init__(
            criterion="squared_error",
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            splitter=splitter,
        )
        self.seeds = seeds

    def fit(self, X: Any, y: Any, sample_weight: Any = None, check_input: bool = True) -> Any:
        """Draw this stage's seed, then fit the tree (an internal learner of one stage)."""
        if self.seeds is not None:
            self.random_state = self.seeds.next()
        return super().fit(X, y, sample_weight=sample_weight, check_input=check_input)


class _NGBoostBase(AutoLeafMixin, BaseEstimator):
    _auto_caps = {"min_samples_leaf": 50}
    _parameter_constraints: dict[str, list[Any]] = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "minibatch_frac": [Interval(Real, 0, 1, closed="right")],
        "col_sample": [Interval(Real, 0, 1, closed="right")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "splitter": [StrOptions({"best", "random"})],
        "natural_gradient": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        minibatch_frac: float = 0.5,
        col_sample: float = 1.0,
        max_depth: int = 3,
        min_samples_leaf: int | str = "auto",
        splitter: str = "random",
        natural_gradient: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.minibatch_frac = minibatch_frac
        self.col_sample = col_sample
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.splitter = splitter
        self.natural_gradient = natural_gradient
        self.random_state = random_state

    def _rows_per_tree(self, n_rows: int) -> int:
        # Each boosting stage grows its trees on a minibatch of the rows.
        return max(int(self.minibatch_frac * n_rows), 1)

    def _ngb_kwargs(self, X: Any) -> dict[str, Any]:
        min_samples_leaf = self._resolve_auto(X).get("min_samples_leaf", self.min_samples_leaf)
        base = _StageSeededTree(
            max_depth=self.max_depth,
            min_samples_leaf=min_samples_leaf,
            splitter=self.splitter,
            seeds=_StageSeeds(self.random_state),
        )
        return {
            "Base": base,
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "minibatch_frac": self.minibatch_frac,
            "col_sample": self.col_sample,
            "natural_gradient": self.natural_gradient,
            "random_state": self.random_state,
            "verbose": False,
        }

    def _prepare(self, X: Any, y: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", **kwargs)
        if X.shape[0] < 2:
            raise DataError(
                f"{type(self).__name__} needs at least 2 samples to fit; got n_samples = "
                f"{X.shape[0]}."
            )
        self.imputer_ = SimpleImputer(strategy="median", keep_empty_features=True)
        return self.imputer_.fit_transform(X), y

    def _transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self.imputer_.transform(X)  # type: ignore[no-any-return]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class NGBoostRegressor(RegressorMixin, _NGBoostBase):
    """NGBoost with a Normal predictive distribution, NaN-safe.

    Parameters
    ----------
    n_estimators, learning_rate, minibatch_frac, col_sample, natural_gradient
        As in :class:`ngboost.NGBRegressor`.
    max_depth, min_samples_leaf, splitter
        Of the base regression trees. ``min_samples_leaf="auto"`` (the default) is
        ``min(50, max(1, n_minibatch_rows // 10))`` at fit time (the value used is in
        ``auto_params_``). ``splitter="random"`` (random thresholds, no sorting) is
        about 10x faster than ``"best"`` at nearly the same accuracy.
    random_state : int, optional

    Attributes
    ----------
    model_ : ngboost.NGBRegressor
    imputer_ : SimpleImputer
    feature_importances_ : ndarray of shape (n_features,)
    n_features_in_ : int
    """

    def fit(self, X: Any, y: Any) -> NGBoostRegressor:
        """Fit on ``(X, y)``."""
        self._validate_params()
        ngboost = _import_ngboost()
        from ngboost.distns import Normal

        Xt, y = self._prepare(X, y, y_numeric=True)
        self.model_ = ngboost.NGBRegressor(Dist=Normal, **self._ngb_kwargs(Xt))
        self.model_.fit(Xt, np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted mean of the target."""
        Xt = self._transform(X)
        return np.asarray(self.model_.predict(Xt), dtype=np.float64)

    def pred_dist(self, X: Any) -> Any:
        """The predicted Normal distributions (``.loc``, ``.scale``)."""
        Xt = self._transform(X)
        return self.model_.pred_dist(Xt)

    @property
    def feature_importances_(self) -> np.ndarray:
        """Split-gain importances of the location parameter."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.feature_importances_[0], dtype=np.float64)


class NGBoostClassifier(ClassifierMixin, _NGBoostBase):
    """NGBoost with a Bernoulli / categorical predictive distribution, NaN-safe.

    Any class labels; ``classes_`` holds them in sorted order.

    Attributes
    ----------
    model_ : ngboost.NGBClassifier
    classes_ : ndarray
    imputer_ : SimpleImputer
    feature_importances_ : ndarray of shape (n_features,)
    n_features_in_ : int
    """

    def fit(self, X: Any, y: Any) -> NGBoostClassifier:
        """Fit on ``(X, y)``."""
        self._validate_params()
        ngboost = _import_ngboost()
        from ngboost.distns import k_categorical

        Xt, y = self._prepare(X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise DataError(
                f"NGBoostClassifier needs at least 2 classes; the target has one class "
                f"{list(self.classes_)}."
            )
        dist = k_categorical(max(len(self.classes_), 2))
        self.model_ = ngboost.NGBClassifier(Dist=dist, **self._ngb_kwargs(Xt))
        self.model_.fit(Xt, codes)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        Xt = self._transform(X)
        return np.asarray(self.model_.predict_proba(Xt), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Most likely class label."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]  # type: ignore[no-any-return]

    @property
    def feature_importances_(self) -> np.ndarray:
        """Split-gain importances averaged over the class parameters."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.feature_importances_, dtype=np.float64).mean(axis=0)


def build_ngboost(
    task: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    n_jobs: int | None,
    cpu_only: bool = False,
) -> NGBoostRegressor | NGBoostClassifier:
    """Build the ``ngboost`` family estimator for ``task``."""
    _import_ngboost()
    cls = NGBoostRegressor if task == "regression" else NGBoostClassifier
    return cls(random_state=random_state, **params)
