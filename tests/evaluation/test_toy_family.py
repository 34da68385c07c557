"""A family registered from outside the package runs through every stage, no engine change.

The toy family below (a least-squares linear model written here) is registered through
the public registry API with its capability hooks, used by name by TargetRanker,
FeatureSelector and ModelTrainer, and must learn the synthetic panel's planted signal.
The second test reads the imports of every ``evaluation`` module: the engine names no
family module (it asks the registry entry).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

import intelligent_training
from intelligent_training import FeatureSelector, ModelTrainer, TargetRanker
from intelligent_training.data import split_features_targets
from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.exceptions import FamilyError
from intelligent_training.families import (
    FamilySpec,
    available_families,
    register_family,
    unregister_family,
)


class ToyRegressor(RegressorMixin, BaseEstimator):
    """Ridge by normal equations on standardised inputs; NaN is not accepted."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        if np.isnan(X).any():
            raise ValueError("ToyRegressor does not take NaN")
        self.mean_, self.scale_ = X.mean(axis=0), X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.scale_
        y = np.asarray(y, dtype=np.float64)
        self.intercept_ = y.mean()
        gram = Z.T @ Z + self.alpha * np.eye(Z.shape[1])
        self.coef_ = np.linalg.solve(gram, Z.T @ (y - self.intercept_))
        self.feature_importances_ = np.abs(self.coef_)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return Z @ self.coef_ + self.intercept_


class ToyClassifier(ClassifierMixin, BaseEstimator):
    """A linear probability model squashed to (0, 1) (binary only)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.inner_ = ToyRegressor(alpha=self.alpha).fit(X, (y == self.classes_[1]) * 2.0 - 1)
        self.feature_importances_ = self.inner_.feature_importances_
        return self

    def predict_proba(self, X):
        p = 1.0 / (1.0 + np.exp(-2.0 * self.inner_.predict(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


def build_toy(task, params, *, random_state=None, n_jobs=None, cpu_only=False):
    """The toy family's builder (the registry's builder signature)."""
    return (ToyRegressor if task == "regression" else ToyClassifier)(**params)


TOY = FamilySpec(
    "toy",
    "linear",
    ("regression", "binary"),
    None,
    True,
    f"{__name__}:build_toy",
    estimators=(f"{__name__}:ToyRegressor", f"{__name__}:ToyClassifier"),
    tolerates_nan=False,
    explainers={"native": "own", "permutation": "batched"},
)


@pytest.fixture
def toy_family():
    register_family(TOY)
    try:
        yield "toy"
    finally:
        unregister_family("toy")


@pytest.fixture(scope="module")
def panel_xy():
    panel, truth = make_synthetic_panel(
        n_symbols=4, n_timestamps=400, n_features=14, random_state=3
    )
    X, Y = split_features_targets(panel)
    return X, Y, truth


def test_registry_adds_and_removes_a_family(toy_family):
    assert "toy" in available_families()
    with pytest.raises(FamilyError, match="already registered"):
        register_family(TOY)
    unregister_family("toy")
    assert "toy" not in available_families()
    register_family(TOY)  # the fixture removes it again


def test_a_toy_family_runs_through_ranking_selection_and_training(toy_family, panel_xy):
    X, Y, truth = panel_xy
    targets = ["fwd_ret_5m", "y_up_15m", "fwd_ret_60m"]
    ranker = TargetRanker(families=[toy_family], cv=3, top_n=2, random_state=0).fit(X, Y[targets])
    ranked = list(ranker.rankings_.index)
    # the strong linear targets rank above the noise target
    assert ranked.index("fwd_ret_60m") > max(ranked.index("fwd_ret_5m"), ranked.index("y_up_15m"))

    target = "fwd_ret_5m"
    selector = FeatureSelector(
        families=[toy_family],
        importance=("native", "permutation"),
        require_min_models=1,
        top_m=5,
        cv=3,
        random_state=0,
    ).fit(X, Y[target])
    chosen = set(selector.get_feature_names_out())
    planted = set(truth.informative_features[target])
    assert planted <= chosen | set(truth.redundant_features)
    assert chosen & planted
    assert not chosen & set(truth.noise_features)

    # a NaN feature is mean-imputed for it (it declares it does not tolerate NaN): the
    # cascade's out-of-fold columns hold NaN where no fold predicted
    trainer = ModelTrainer(families=[toy_family], strategy="cascade", cv=3, random_state=0)
    trainer.fit(X[sorted(chosen)], Y[["fwd_ret_5m", "y_up_15m"]])
    metrics = trainer.cv_metrics_
    assert len(metrics) and metrics.notna().any().any()
    prediction = trainer.predict(X[sorted(chosen)])
    corr = np.corrcoef(prediction["fwd_ret_5m"], Y[target].fillna(0.0))[0, 1]
    assert corr > 0.5


_ENGINE = Path(intelligent_training.__file__).parent / "evaluation"
#: What the engine may import from ``families``: the registry and its spec types.
_ALLOWED = {
    "intelligent_training.families",
    "intelligent_training.families._registry",
    "intelligent_training.families._specs",
}


def _family_modules_imported(path: Path) -> set[str]:
    """Modules under ``intelligent_training.families`` that ``path`` imports, other than
    the registry (names imported from the package itself are its public API, unless
    they are submodules)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
            modules += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if importlib.util.find_spec(node.module) is not None
                and _is_module(f"{node.module}.{alias.name}")
            ]
        else:
            continue
        found.update(
            m
            for m in modules
            if m.startswith("intelligent_training.families") and m not in _ALLOWED
        )
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError, ValueError):
        return False


def test_the_engine_imports_no_family_module():
    modules = sorted(_ENGINE.glob("*.py"))
    assert len(modules) > 5
    offending = {p.name: sorted(_family_modules_imported(p)) for p in modules}
    assert not {k: v for k, v in offending.items() if v}, offending


def test_the_engine_names_no_family_or_kind():
    """No literal family name or family kind in the engine's code (docstrings aside)."""
    from intelligent_training.families._specs import KINDS, REGISTRY

    names = set(REGISTRY) | set(KINDS)
    offending = {}
    for path in sorted(_ENGINE.glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        literals = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        }
        hit = sorted(literals & names)
        if hit:
            offending[path.name] = hit
    assert not offending, offending
