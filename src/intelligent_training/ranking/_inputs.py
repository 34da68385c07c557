"""Input checks of :class:`~intelligent_training.TargetRanker` and its feature matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation import EvalData, check_same_rows
from intelligent_training.exceptions import DataError

__all__ = ["features", "validate_inputs"]


def validate_inputs(X: Any, Y: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check ``X`` and ``Y`` of :meth:`TargetRanker.fit`; ``Y`` gets string column names."""
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"TargetRanker.fit: X must be a pandas DataFrame of features, got {type(X).__name__}."
        )
    if isinstance(Y, pd.Series):
        Y = Y.to_frame(name=Y.name if Y.name is not None else "target")
    if not isinstance(Y, pd.DataFrame):
        raise DataError(
            f"TargetRanker.fit: Y must be a DataFrame of candidate targets, got {type(Y).__name__}."
        )
    if Y.shape[1] == 0:
        raise DataError("TargetRanker.fit: Y has no target columns; pass at least one target.")
    check_same_rows(X, Y, owner="TargetRanker.fit")
    if X.shape[1] == 0:
        raise DataError("TargetRanker.fit: X has no feature columns.")
    for frame, what in ((X, "feature"), (Y, "target")):
        if frame.columns.has_duplicates:
            dups = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
            raise DataError(
                f"TargetRanker.fit: duplicate {what} names {dups[:5]}; make the column names unique."
            )
    bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]
    if bad:
        raise DataError(
            f"TargetRanker.fit: non-numeric feature columns {bad[:5]}; drop or encode them."
        )
    overlap = sorted(set(map(str, X.columns)) & set(map(str, Y.columns)))
    if overlap:
        raise DataError(f"TargetRanker.fit: columns {overlap[:5]} are both features and targets.")
    if all(isinstance(c, str) for c in Y.columns):
        return X, Y  # set_axis would copy every target column
    return X, Y.set_axis([str(c) for c in Y.columns], axis=1)


def features(X: pd.DataFrame) -> EvalData:
    """The one float32 copy of the features; inf is an error (NaN is a missing value)."""
    data = EvalData.from_features(X, {})
    for j in range(data.X.shape[1]):  # column by column: no n x p temporary
        if np.isinf(data.X[:, j]).any():
            raise DataError(
                f"TargetRanker.fit: feature {str(data.columns[j])!r} contains inf; clean it first."
            )
    return data
