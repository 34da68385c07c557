"""Checks that a DataFrame is a well-formed panel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from intelligent_training.data._columns import is_target
from intelligent_training.exceptions import DataError

__all__ = ["PANEL_INDEX_NAMES", "validate_panel"]

#: Index level names of a panel.
PANEL_INDEX_NAMES: tuple[str, str] = ("timestamp", "symbol")


def validate_panel(
    panel: pd.DataFrame,
    *,
    require_sorted: bool = True,
    target_patterns: str | Sequence[str] | None = None,
) -> None:
    """Raise :class:`DataError` unless ``panel`` is a well-formed panel.

    Checks: a DataFrame with a ``("timestamp", "symbol")`` MultiIndex, tz-naive datetime
    (or integer bar) timestamps without NaT, no duplicate ``(timestamp, symbol)`` pairs,
    sorted by timestamp then symbol (when ``require_sorted``), feature columns ``float32``
    and target columns ``float64`` (what :func:`load_panel` and
    :func:`split_features_targets` return), and no ``inf``. NaN values are allowed.

    Parameters
    ----------
    panel : pandas.DataFrame
        The panel to check.
    require_sorted : bool, default True
        Whether unsorted rows are an error.
    target_patterns : str or sequence of str, optional
        Regular expressions that name the target columns; default
        :data:`~intelligent_training.data.DEFAULT_TARGET_PATTERNS`.

    Raises
    ------
    DataError
        Naming the problem and, where it applies, the column, symbol and timestamp.
    """
    if not isinstance(panel, pd.DataFrame):
        raise DataError(f"a panel must be a pandas DataFrame, got {type(panel).__name__}.")
    index = panel.index
    if not isinstance(index, pd.MultiIndex) or tuple(index.names) != PANEL_INDEX_NAMES:
        raise DataError(
            f"a panel must be indexed by a MultiIndex with levels {list(PANEL_INDEX_NAMES)}, "
            f"got index names {list(index.names)}; use "
            "df.set_index(['timestamp', 'symbol']).sort_index()."
        )
    ts = index.get_level_values("timestamp")
    if not (
        pd.api.types.is_datetime64_any_dtype(ts.dtype) or pd.api.types.is_integer_dtype(ts.dtype)
    ):
        raise DataError(
            f"panel level 'timestamp' must hold datetimes (or integer bar numbers), got dtype "
            f"{ts.dtype}; convert it with pandas.to_datetime."
        )
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise DataError(
            f"panel level 'timestamp' is tz-aware ({ts.dtype}); a panel's timestamps are "
            "tz-naive UTC: convert them with tz_convert('UTC').tz_localize(None) "
            "(load_panel does this)."
        )
    if ts.hasnans:
        raise DataError(
            f"panel level 'timestamp' has {int(np.sum(ts.isna()))} missing value(s) (NaT); "
            "drop or fill those rows."
        )
    duplicated = index.duplicated()
    if duplicated.any():
        first = index[int(np.argmax(duplicated))]
        raise DataError(
            f"panel has {int(duplicated.sum())} duplicate (timestamp, symbol) row(s), e.g. "
            f"symbol {first[1]!r} at {first[0]}; keep one row per symbol and timestamp."
        )
    if require_sorted and not index.is_monotonic_increasing:
        raise DataError(
            "panel rows are not sorted by timestamp then symbol; call panel.sort_index()."
        )
    for column in panel.columns:
        series = panel[column]
        target = is_target(column, target_patterns)
        expected = np.float64 if target else np.float32
        if series.dtype != expected:
            kind = "target" if target else "feature"
            raise DataError(
                f"{kind} column {column!r} has dtype {series.dtype}; a panel's {kind}s are "
                f"{np.dtype(expected).name} (load_panel and split_features_targets convert "
                "them)."
            )
        bad = np.isinf(series.to_numpy())
        if bad.any():
            symbols = sorted(set(map(str, index.get_level_values("symbol")[bad])))
            raise DataError(
                f"column {column!r} has {int(bad.sum())} infinite value(s) for symbol(s) "
                f"{symbols[:5]}; replace inf with NaN or a finite value."
            )
