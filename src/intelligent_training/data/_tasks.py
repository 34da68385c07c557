"""Task inference for a target column: binary, multiclass or regression."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["infer_task"]

Task = Literal["binary", "multiclass", "regression"]


def infer_task(y: object, *, max_classes: int = 10) -> Task:
    """Infer the learning task of a target from its values (NaNs ignored).

    - ``"binary"``: exactly two distinct values (or a constant 0/1 or boolean column);
    - ``"multiclass"``: 3 to ``max_classes`` distinct values, all integers (or labels
      that are not numbers);
    - ``"regression"``: anything else (including an all-NaN or constant non-0/1
      column; the ranker's eligibility checks reject those).

    Parameters
    ----------
    y : array-like or pandas.Series
        Target values.
    max_classes : int, default 10
        Most distinct integer values still read as classes.

    Returns
    -------
    {"binary", "multiclass", "regression"}

    Examples
    --------
    >>> infer_task([0.0, 1.0, 1.0, float("nan")])
    'binary'
    >>> infer_task([0, 1, 2, 2, 1])
    'multiclass'
    >>> infer_task([0.1, -0.3, 2.5])
    'regression'
    """
    # A Series of the values alone: dropping NaNs from the caller's Series would make its
    # index (a RangeIndex) cache a materialised copy of itself (8 bytes a row) for as
    # long as the caller keeps it.
    values = pd.Series(y.array if isinstance(y, pd.Series) else y, copy=False).dropna()
    if values.empty:
        return "regression"
    is_numeric = pd.api.types.is_numeric_dtype(values.dtype)
    if pd.api.types.is_bool_dtype(values.dtype):
        return "binary"
    uniques = pd.unique(values.to_numpy())
    n_unique = len(uniques)
    if n_unique == 2:
        return "binary"
    if not is_numeric:
        return "multiclass" if n_unique >= 1 else "regression"
    numbers = np.asarray(uniques, dtype=np.float64)
    if n_unique == 1:
        return "binary" if numbers[0] in (0.0, 1.0) else "regression"
    if (
        n_unique <= max_classes
        and np.all(np.isfinite(numbers))
        and np.all(numbers == np.round(numbers))
    ):
        return "multiclass"
    return "regression"
