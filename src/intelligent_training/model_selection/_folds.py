"""The one fold rule: a splitter given a label horizon, split on every row, unlabelled rows out.

Every stage (ranking, selection, training) and every family that holds data out on its
own (the stacking folds of ``meta_learning``) builds its folds here, so a target is
purged by the same horizon wherever it is evaluated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from intelligent_training.exceptions import SplitError

__all__ = ["purged_folds", "with_horizon"]


def with_horizon(cv: Any, horizon: Any) -> Any:
    """``cv`` cloned with ``horizon`` when it has a ``horizon`` parameter, else ``cv``.

    The caller's splitter is never modified.

    Parameters
    ----------
    cv : splitter
        A cross-validation splitter (``split`` method).
    horizon : int, str, Timedelta or None
        The label horizon; ``None`` keeps the splitter as it is.

    Returns
    -------
    splitter
    """
    if horizon is None or not hasattr(cv, "get_params"):
        return cv
    if "horizon" not in cv.get_params(deep=False):
        return cv
    return clone(cv).set_params(horizon=horizon)


def _labelled_only(rows: np.ndarray, labelled: np.ndarray | None) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.intp)
    if labelled is None:
        return rows
    keep = labelled[rows]
    return rows if keep.all() else rows[keep]  # no copy when every row is labelled


def purged_folds(
    cv: Any,
    X: Any,
    *,
    horizon: Any = None,
    groups: Any = None,
    labelled: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) row positions of every fold, by the one fold rule.

    1. ``cv`` is cloned with the label ``horizon`` when it has a ``horizon``
       parameter (:func:`with_horizon`);
    2. it splits **every** row of ``X`` (timestamps from ``groups``, else from ``X``),
       so targets with different missing labels share the same test blocks;
    3. rows whose label is unknown (``labelled`` False) are removed from both sides.

    Parameters
    ----------
    cv : splitter
        E.g. :class:`~intelligent_training.model_selection.PurgedTimeSeriesSplit`.
    X : DataFrame or array-like of shape (n_samples, ...)
        The rows (only their number and timestamps are used).
    horizon : int, str, Timedelta or None, default=None
        The label horizon; ``None`` uses the splitter as given.
    groups : array-like of shape (n_samples,), optional
        Timestamps (or bar numbers) of the rows.
    labelled : ndarray of bool of shape (n_samples,), optional
        Rows with a known label; ``None`` keeps every row.

    Returns
    -------
    list of (ndarray, ndarray)
        Ascending positional indices (``intp``); folds whose training or test side is
        empty after step 3 are kept (the caller decides whether a fold is usable).

    Raises
    ------
    SplitError
        When the splitter yields no fold.

    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training.model_selection import PurgedTimeSeriesSplit
    >>> folds = purged_folds(PurgedTimeSeriesSplit(2), np.zeros((6, 1)), horizon=1)
    >>> [(train.tolist(), test.tolist()) for train, test in folds]
    [([0], [2, 3]), ([0, 1, 2], [4, 5])]
    """
    splitter = with_horizon(cv, horizon)
    folds = [
        (_labelled_only(train, labelled), _labelled_only(test, labelled))
        for train, test in splitter.split(X, None, groups)
    ]
    if not folds:
        raise SplitError(f"the splitter {splitter!r} produced no folds; check its parameters.")
    return folds
