"""Time-ordered, purged inner splits used by stacking (``meta_learning``).

They follow the one fold rule of every stage
(:func:`~intelligent_training.model_selection.purged_folds`): a purged walk-forward
splitter given the label horizon, split on every row's timestamp.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def inner_time_splits(
    X: Any, *, n_splits: int, horizon: Any = 0, embargo: Any = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Walk-forward purged splits of the rows of ``X`` (train strictly before test).

    Timestamps come from the panel's ``timestamp`` index level (or a ``DatetimeIndex``);
    for plain arrays, consecutive rows are consecutive bars
    (see :class:`~intelligent_training.model_selection.PurgedTimeSeriesSplit`).

    Parameters
    ----------
    X : DataFrame or array-like
        Rows in time order.
    n_splits : int
        Number of (train, test) folds; the first block of time is never a test block.
    horizon, embargo : int, str or Timedelta
        Label horizon and embargo, as in ``PurgedTimeSeriesSplit``.

    Returns
    -------
    list of (train, test) positional index arrays

    Raises
    ------
    SplitError
        When a fold would be empty (too few timestamps for ``n_splits`` / ``horizon``).
    """
    from intelligent_training.model_selection import PurgedTimeSeriesSplit, purged_folds

    cv = PurgedTimeSeriesSplit(n_splits=n_splits, embargo=embargo)
    return purged_folds(cv, X, horizon=horizon)
