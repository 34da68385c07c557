"""Input handling shared by the torch families: array conversion, NaN handling, scaling.

The networks see standardised inputs: each feature is imputed with its training
median (NaN and +-inf count as missing), centred and scaled by its training
standard deviation, and clipped to ``[-clip, clip]``. Optionally one 0/1 missing
indicator column is appended per feature that had missing values in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError


def as_float_matrix(X: object, *, what: str = "X") -> np.ndarray:
    """Return ``X`` as a 2-D float32 array (a copy; the caller's data is never touched).

    NaN and +-inf are kept (they are imputed later). Sparse, complex, non-numeric,
    1-D and empty inputs raise :class:`DataError` with scikit-learn's wording.
    """
    from sklearn.utils import check_array

    if isinstance(X, pd.DataFrame):
        bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise DataError(
                f"{what} has non-numeric columns {bad[:5]}; the torch families need numeric "
                "features. Drop or encode these columns first."
            )
    try:
        arr = check_array(
            X,
            accept_sparse=False,
            dtype=np.float32,
            ensure_all_finite=False,
            copy=True,
            input_name=what,
        )
    except ValueError as exc:  # TypeErrors (e.g. a dict in X) propagate unchanged
        raise DataError(f"{what} is not usable by the torch families: {exc}") from exc
    return np.asarray(arr, dtype=np.float32)


def feature_names(X: object) -> np.ndarray | None:
    """Column names of a DataFrame with string column names, else ``None``."""
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
        return np.asarray(X.columns, dtype=object)
    return None


@dataclass
class Standardizer:
    """Median imputation, optional missing indicators, standardisation and clipping.

    Parameters
    ----------
    missing_indicators : bool
        Append one 0/1 column per feature that had missing values in training.
    clip : float
        Standardised values are clipped to ``[-clip, clip]``.
    """

    missing_indicators: bool = True
    clip: float = 10.0

    def fit(self, X: np.ndarray) -> Standardizer:
        """Learn medians, means and scales from the training matrix ``X``."""
        X = np.where(np.isfinite(X), X, np.nan)
        missing = np.isnan(X)
        all_missing = missing.all(axis=0)
        with np.errstate(all="ignore"):
            median = np.nanmedian(np.where(all_missing, 0.0, X), axis=0)
        median = np.where(np.isfinite(median), median, 0.0).astype(np.float32)
        filled = np.where(missing, median, X)
        mean = filled.mean(axis=0, dtype=np.float64)
        std = filled.std(axis=0, dtype=np.float64)
        std = np.where(std > 1e-12, std, 1.0)
        self.median_ = median
        self.mean_ = mean.astype(np.float32)
        self.scale_ = std.astype(np.float32)
        self.indicator_columns_ = (
            np.flatnonzero(missing.any(axis=0))
            if self.missing_indicators
            else np.empty(0, dtype=np.intp)
        )
        return self

    @property
    def n_output_features(self) -> int:
        """Number of columns produced by :meth:`transform`."""
        return int(self.median_.shape[0] + self.indicator_columns_.shape[0])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Impute, standardise, clip and append missing indicators (float32)."""
        if X.shape[1] != self.median_.shape[0]:
            raise DataError(
                f"X has {X.shape[1]} features but the model was fitted with "
                f"{self.median_.shape[0]}; pass the same columns as in fit."
            )
        missing = ~np.isfinite(X)
        out = np.where(missing, self.median_, X)
        out = (out - self.mean_) / self.scale_
        np.clip(out, -self.clip, self.clip, out=out)
        out = out.astype(np.float32, copy=False)
        if self.indicator_columns_.size:
            ind = missing[:, self.indicator_columns_].astype(np.float32)
            out = np.concatenate([out, ind], axis=1)
        return out
