"""One unit of work: fit a family on a fold's training rows, measure importance on its test rows.

The selector runs one :func:`measure_fold` per (family, fold), sequentially or
through joblib. A failure is caught and returned as a message, so that one broken
family never aborts the others (the selector reports it and decides what to do).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.families import make_estimator
from intelligent_training.selection._importance import (
    fold_losses,
    native_importance,
    permutation_importance,
    shap_importance,
)

__all__ = ["FoldResult", "FoldTask", "measure_fold"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoldTask:
    """What :func:`measure_fold` needs besides the data."""

    family: str
    params: dict[str, Any]
    kind: str
    fold: int
    methods: tuple[str, ...]
    task: str
    n_repeats: int
    shap_sample_size: int
    permutation_sample_size: int | None
    seed: int
    n_jobs: int | None
    label_horizon: int = 0


@dataclass
class FoldResult:
    """Raw importances of one (family, fold), or the reason it failed."""

    family: str
    fold: int
    importances: dict[str, np.ndarray] = field(default_factory=dict)
    n_train: int = 0
    n_test: int = 0
    test_loss: float = float("nan")
    fit_seconds: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    error: str | None = None


def _frame_builder(
    index: pd.Index | None, columns: list[str], rows: np.ndarray
) -> Any:  # pragma: no cover - exercised by sequence families only
    """Callable turning a (possibly stacked) array into a DataFrame with the panel index."""
    assert index is not None
    sub_index = index[rows]

    def to_frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=sub_index, columns=columns)

    return to_frame


def measure_fold(
    spec: FoldTask,
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
    *,
    index: pd.Index | None = None,
    columns: list[str] | None = None,
) -> FoldResult:
    """Fit ``spec.family`` on ``train`` rows and measure ``spec.methods`` on ``test`` rows.

    Parameters
    ----------
    spec : FoldTask
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Target (class codes ``0 .. k-1`` for classification).
    train, test : ndarray of int
        Row positions of the fold.
    groups : ndarray of shape (n_samples,)
        Group (symbol) code of every row, all 0 when symbols are pooled.
    n_groups : int
    index, columns : optional
        The panel index and feature names; only sequence families, which build
        windows per symbol, receive DataFrames instead of arrays.

    Returns
    -------
    FoldResult
        ``error`` is set (and ``importances`` empty) when anything failed.
    """
    start = time.perf_counter()
    cpu_start = time.process_time()
    result = FoldResult(spec.family, spec.fold, n_train=len(train), n_test=len(test))
    rng = np.random.RandomState(spec.seed)
    try:
        estimator = make_estimator(
            spec.family,
            spec.task,
            spec.params,
            random_state=spec.seed,
            n_jobs=spec.n_jobs,
            label_horizon=spec.label_horizon,
        )
        needs_frame = spec.kind == "sequence" and index is not None and columns is not None
        X_train, X_test = X[train], X[test]
        if needs_frame:  # pragma: no cover - sequence families are slow; covered by slow tests
            to_input = _frame_builder(index, list(columns or []), test)
            estimator.fit(_frame_builder(index, list(columns or []), train)(X_train), y[train])
        else:
            to_input = None
            estimator.fit(X_train, y[train])
        result.fit_seconds = time.perf_counter() - start
        y_test = y[test]
        result.test_loss = fold_losses(estimator, X_test, y_test, task=spec.task, to_input=to_input)
        for method in spec.methods:
            if method == "native":
                values = native_importance(estimator, X.shape[1])
                if values is None:
                    logger.info("Family %r has no native importance; skipped.", spec.family)
                    continue
                result.importances[method] = np.repeat(values, n_groups, axis=0)
            elif method == "permutation":
                rows = np.arange(len(test))
                limit = spec.permutation_sample_size
                # Sequence models need contiguous history: they always see every test row.
                if limit is not None and len(test) > limit and to_input is None:
                    rows = np.sort(rng.choice(len(test), size=limit, replace=False))
                result.importances[method] = permutation_importance(
                    estimator,
                    X_test[rows],
                    y_test[rows],
                    task=spec.task,
                    groups=groups[test][rows],
                    n_groups=n_groups,
                    n_repeats=spec.n_repeats,
                    rng=rng,
                    to_input=to_input,
                )
            elif method == "shap":
                result.importances[method] = shap_importance(
                    estimator,
                    X_test,
                    task=spec.task,
                    tree=spec.kind == "tree",
                    groups=groups[test],
                    n_groups=n_groups,
                    sample_size=spec.shap_sample_size,
                    rng=rng,
                )
        if not result.importances:
            raise ValueError(
                f"none of the importance methods {list(spec.methods)} applies to this family"
            )
    except Exception as exc:  # any family failure is reported, not raised here
        result.importances = {}
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu_start
    return result
