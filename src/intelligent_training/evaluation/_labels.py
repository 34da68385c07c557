"""Task and labels of one target column: the label rule of the target contract.

:func:`encode_target` decides a target's task (inferred, or fixed by the stage) and
encodes its labels: regression values as float64, class labels as the codes
``0 .. k-1`` of the sorted classes. :func:`~intelligent_training.evaluation.resolve_targets`
calls it for every target; no stage encodes labels on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError

__all__ = ["MAX_ABS_TARGET", "EncodedTarget", "encode_target"]

#: The largest magnitude a regression label may have. The model families hold labels in
#: float32 (largest value 3.4e38) and square them (losses, variances, sums of squares over
#: many rows): a label of 1e15 squares to 1e30, summed over 1e8 rows to 1e38; beyond it
#: a family fails, or silently predicts from overflowed values.
MAX_ABS_TARGET = 1e15


@dataclass(frozen=True)
class EncodedTarget:
    """Task, classes and encoded labels of one target column."""

    task: str
    classes: np.ndarray | None
    labels: np.ndarray  # float64: values, or class codes; NaN = unlabelled


def encode_target(y: pd.Series, *, name: str, owner: str, task: str = "auto") -> EncodedTarget:
    """Infer the task of ``y`` (or take the given one) and encode its labels.

    Regression labels are float64 values; classification labels are the codes
    ``0 .. k-1`` of the sorted classes (as float64, NaN where unlabelled). Under
    ``task="auto"`` a classification column with a single class is read as regression
    (the stages reject constant targets on their own terms).

    Parameters
    ----------
    y : Series
    name, owner : str
        The target's and the stage's names, for error messages.
    task : {"auto", "regression", "classification"}, default="auto"
        ``"auto"``: :func:`~intelligent_training.data.infer_task`. ``"regression"``:
        the values as numbers (0/1 labels too). ``"classification"``: the values as
        class labels (binary or multiclass, any number of classes); continuous values
        or a single class are an error.

    Raises
    ------
    DataError
        A non-numeric column that is not a class label column, infinite labels, a
        regression label beyond :data:`MAX_ABS_TARGET` in magnitude, or a target that
        does not fit ``task``.
    """
    from intelligent_training.data import infer_task

    numeric = pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype)
    if task == "classification":
        task = _classification_task(y, name=name, owner=owner)
    elif task == "regression":
        if not numeric:  # numbers stored as objects are numbers; anything else is not
            try:
                y = pd.to_numeric(y)
            except (TypeError, ValueError):
                raise DataError(
                    f"{owner}: task='regression' but target {name!r} is not numeric "
                    f"(Unknown label type: {y.dtype}); encode it as numbers, or use "
                    "task='classification'."
                ) from None
            numeric = True
    else:
        task = infer_task(y)
    known = y.notna().to_numpy()
    if task in ("binary", "multiclass"):
        observed = y[known].to_numpy()
        classes = np.unique(observed)
        if len(classes) >= 2:
            codes = np.full(len(y), np.nan)
            codes[known] = np.searchsorted(classes, observed)
            return EncodedTarget(task, classes, codes)
        task = "regression"
    if not numeric:
        raise DataError(
            f"{owner}: target {name!r} is not numeric and not a class label column; "
            "encode it as numbers."
        )
    if y.dtype == np.float64:
        # NaN already marks a missing label: the column's own values, not a copy (a stage
        # holds every target's labels), read-only: no stage may write into them
        values = y.to_numpy().view()
        values.flags.writeable = False
    else:
        values = y.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise DataError(
            f"{owner}: target {name!r} contains infinity; replace infinite labels by NaN "
            "or drop those rows."
        )
    if known.any():
        peak = max(abs(float(np.nanmax(values))), abs(float(np.nanmin(values))))
        if peak > MAX_ABS_TARGET:
            raise DataError(
                f"{owner}: target {name!r} has values up to {peak:.3g} in magnitude, beyond "
                f"the bound of {MAX_ABS_TARGET:.0e} (the model families hold labels in "
                "float32 and square them); rescale it (e.g. divide it by its standard "
                "deviation) or drop those rows."
            )
    return EncodedTarget("regression", None, values)


def _classification_task(y: pd.Series, *, name: str, owner: str) -> str:
    """``"binary"`` or ``"multiclass"`` for a target given as classification."""
    known = y.dropna()
    if pd.api.types.is_numeric_dtype(known.dtype) and not pd.api.types.is_bool_dtype(known.dtype):
        values = known.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all() or (values != np.round(values)).any():
            raise DataError(
                f"{owner}: task='classification' but target {name!r} has continuous values "
                "(Unknown label type: continuous); pass class labels, or use "
                "task='regression' (or 'auto' to infer it)."
            )
    classes = pd.unique(known.to_numpy())
    if len(classes) < 2:
        raise DataError(
            f"{owner}: task='classification' but target {name!r} has a single class "
            f"{classes.tolist()}; a classifier needs at least two classes."
        )
    return "binary" if len(classes) == 2 else "multiclass"
