"""Which candidate targets can be ranked at all."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_eligibility"]


def check_eligibility(
    y: pd.Series, task: str, *, min_rows: int, min_class_rows: int
) -> tuple[bool, str]:
    """Decide whether a target can be ranked, and why not.

    Parameters
    ----------
    y : pandas.Series
        The target column (NaN = missing label).
    task : {"regression", "binary", "multiclass"}
    min_rows : int
        Fewest non-missing labels.
    min_class_rows : int
        Fewest rows of the rarest class of a classification target.

    Returns
    -------
    eligible : bool
    reason : str
        Empty when eligible, else what excluded it and what would fix it.
    """
    if not pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype):
        return False, f"non-numeric target (dtype {y.dtype}); encode it as numbers"
    values = y.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values)
    n = int(finite.sum())
    if n < min_rows:
        return False, f"too few rows: {n} non-missing labels < min_rows={min_rows}"
    observed = values[finite]
    uniques, counts = np.unique(observed, return_counts=True)
    if len(uniques) < 2:
        return False, f"constant target (every label is {uniques[0]:g})"
    if task in ("binary", "multiclass"):
        rarest = int(counts.min())
        if rarest < min_class_rows:
            label = uniques[int(counts.argmin())]
            return False, (
                f"one class: class {label:g} has only {rarest} rows "
                f"(< min_class_rows={min_class_rows})"
            )
    return True, ""
