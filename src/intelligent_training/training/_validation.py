"""Input checks of :class:`~intelligent_training.ModelTrainer` (features and targets)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    column_or_1d,
    validate_data,
)

from intelligent_training.exceptions import DataError

__all__ = ["check_target_values", "validate_features", "validate_targets"]


def validate_features(estimator: Any, X: Any, *, reset: bool) -> Any:
    """Check ``X``; return what the families get (the DataFrame, or a float array)."""
    try:
        if isinstance(X, pd.DataFrame):
            return _validate_frame(estimator, X, reset=reset)
        return validate_data(
            estimator, X, reset=reset, dtype="numeric", ensure_all_finite="allow-nan"
        )
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(
            f"ModelTrainer: the features X are invalid: {exc} Clean X (numeric "
            "columns, no inf) and try again."
        ) from exc


def _validate_frame(estimator: Any, X: pd.DataFrame, *, reset: bool) -> pd.DataFrame:
    """Check a feature DataFrame column by column (no copy of the whole frame)."""
    _check_feature_names(estimator, X, reset=reset)
    _check_n_features(estimator, X, reset=reset)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(
            f"ModelTrainer: X has shape {X.shape}; it needs at least one row (n_samples=0 "
            "given) and one feature column."
        )
    non_numeric = [
        str(c)
        for c, dtype in zip(X.columns, X.dtypes)
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]
    if non_numeric:
        raise DataError(
            f"ModelTrainer: feature column(s) {non_numeric[:5]} are not numeric; convert or "
            "drop them (targets belong in Y, not X)."
        )
    # NaN is a missing value every family handles (trees natively, the others by
    # imputation); infinity is not a value any of them can learn from.
    bad = [
        str(c)
        for c in X.columns
        if np.isinf(X[c].to_numpy(dtype=np.float64, na_value=np.nan)).any()
    ]
    if bad:
        raise DataError(
            f"ModelTrainer: Input X contains infinity in feature column(s) {bad[:5]}"
            f"{' and more' if len(bad) > 5 else ''}; replace it by NaN or a finite value."
        )
    return X


def validate_targets(Y: Any, n_rows: int) -> tuple[pd.DataFrame, bool, list[bool]]:
    """Return (Y as a DataFrame, fitted-on-a-frame flag, per-target 'was named')."""
    if Y is None:
        raise DataError(
            "ModelTrainer requires y to be passed, but the target y is None. Pass a "
            "Series (one target) or a DataFrame (several targets)."
        )
    if isinstance(Y, pd.DataFrame):
        if Y.shape[1] == 0:
            raise DataError("ModelTrainer: Y has no columns; pass at least one target.")
        frame = Y.set_axis([str(c) for c in Y.columns], axis=1)
        if frame.columns.duplicated().any():
            dup = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise DataError(f"ModelTrainer: Y has duplicate target columns {dup}.")
        named, is_frame = [True] * frame.shape[1], True
    elif isinstance(Y, pd.Series):
        name = "y" if Y.name is None else str(Y.name)
        frame = Y.to_frame(name=name)
        named, is_frame = [Y.name is not None], False
    else:
        arr = np.asarray(Y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = column_or_1d(arr, warn=True)
        if arr.ndim == 1:
            frame = pd.DataFrame({"y": arr})
            named, is_frame = [False], False
        elif arr.ndim == 2:
            frame = pd.DataFrame(arr, columns=[f"y{j}" for j in range(arr.shape[1])])
            named, is_frame = [False] * arr.shape[1], True
        else:
            raise DataError(
                f"ModelTrainer: y must be 1-D or 2-D, got shape {arr.shape}; pass a Series "
                "or a DataFrame."
            )
    if len(frame) != n_rows:
        raise DataError(
            f"ModelTrainer: Found input variables with inconsistent numbers of samples: "
            f"X has {n_rows} rows, y has {len(frame)}. Pass X and y with the same rows."
        )
    return frame, is_frame, named


def check_target_values(frame: pd.DataFrame) -> None:
    """Every target has a known value somewhere and no infinite label."""
    for name in frame.columns:
        column = frame[name]
        numeric = pd.api.types.is_numeric_dtype(column.dtype)
        if numeric and not pd.api.types.is_bool_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(values).any():
                raise DataError(
                    "Input y contains infinity or a value too large for dtype('float64') "
                    f"(target {name!r}). Replace infinite labels by NaN or drop those rows."
                )
        if not column.notna().any():
            raise DataError(
                f"Input y contains NaN in every row (target {name!r}); it cannot be trained. "
                "Drop this target or check how it was computed."
            )
