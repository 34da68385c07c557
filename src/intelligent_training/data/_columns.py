"""Which columns are targets, which are features, and the split of a panel into X and Y."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError, DataWarning

__all__ = [
    "DEFAULT_TARGET_PATTERNS",
    "is_target",
    "non_numeric_columns",
    "split_features_targets",
    "target_columns",
]

#: A column is a target iff its name matches one of these regular expressions.
DEFAULT_TARGET_PATTERNS: tuple[str, ...] = ("^fwd_ret_", "^fwd_", "^y_", "^target_", "^tgt_")


def _compile(patterns: str | Iterable[str] | None) -> list[re.Pattern[str]]:
    if patterns is None:
        patterns = DEFAULT_TARGET_PATTERNS
    elif isinstance(patterns, str):
        patterns = [patterns]
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise DataError(
                f"target pattern {pattern!r} is not a valid regular expression ({exc}); "
                "fix target_patterns."
            ) from None
    return compiled


def is_target(name: object, patterns: str | Iterable[str] | None = None) -> bool:
    """Whether a column name is a target name.

    Parameters
    ----------
    name : str
        Column name.
    patterns : str or iterable of str, optional
        Regular expressions (``re.search``); default :data:`DEFAULT_TARGET_PATTERNS`.

    Examples
    --------
    >>> is_target("fwd_ret_15m"), is_target("rsi_14")
    (True, False)
    """
    return any(p.search(str(name)) for p in _compile(patterns))


def target_columns(
    columns: Iterable[object], patterns: str | Iterable[str] | None = None
) -> list[str]:
    """The target names among ``columns``, in their order."""
    compiled = _compile(patterns)
    return [str(c) for c in columns if any(p.search(str(c)) for p in compiled)]


def _is_numeric(dtype: Any) -> bool:
    return pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    )


def non_numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns whose dtype is neither numeric nor boolean."""
    return [str(c) for c, dtype in frame.dtypes.items() if not _is_numeric(dtype)]


def _check_finite(frame: pd.DataFrame, kind: str) -> None:
    """Raise a DataError naming the column (and symbol) of the first +/-inf value."""
    for column in frame.columns:
        values = frame[column].to_numpy()
        bad = np.isinf(values)
        if bad.any():
            where = ""
            if isinstance(frame.index, pd.MultiIndex) and "symbol" in frame.index.names:
                symbols = frame.index.get_level_values("symbol")[bad]
                where = f" for symbol(s) {sorted(set(map(str, symbols)))[:5]}"
            raise DataError(
                f"{kind} column {column!r} has {int(bad.sum())} infinite value(s){where}; "
                "replace inf with NaN or a finite value before training."
            )


def split_features_targets(
    panel: pd.DataFrame, target_patterns: str | Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a panel into features ``X`` and candidate targets ``Y``.

    A column is a target iff its name matches a target pattern; everything else is a
    feature. Policy for other columns: non-numeric *feature* columns are dropped with a
    :class:`DataWarning` naming them; a non-numeric *target* is a :class:`DataError`.
    Features are returned as ``float32`` (NaN kept; ``inf`` is an error), targets as
    ``float64`` (booleans become 0.0/1.0). The input is not modified.

    Parameters
    ----------
    panel : pandas.DataFrame
        The panel (any index; normally ``("timestamp", "symbol")``).
    target_patterns : str or sequence of str, optional
        Regular expressions for target names; default :data:`DEFAULT_TARGET_PATTERNS`.

    Returns
    -------
    X : pandas.DataFrame
        Feature columns, float32, same index as ``panel``.
    Y : pandas.DataFrame
        Target columns, float64, same index as ``panel``.

    Raises
    ------
    DataError
        No target column, no feature column, a non-numeric target, or inf values.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({"rsi": [1.0, 2.0], "fwd_ret_5m": [0.1, -0.2]})
    >>> X, Y = split_features_targets(panel)
    >>> list(X.columns), list(Y.columns), str(X["rsi"].dtype)
    (['rsi'], ['fwd_ret_5m'], 'float32')
    """
    if not isinstance(panel, pd.DataFrame):
        raise DataError(
            f"split_features_targets expects a pandas DataFrame panel, got {type(panel).__name__}."
        )
    if panel.columns.has_duplicates:
        dupes = sorted(set(map(str, panel.columns[panel.columns.duplicated()])))
        raise DataError(f"panel has duplicate column names {dupes}; make column names unique.")
    patterns = DEFAULT_TARGET_PATTERNS if target_patterns is None else target_patterns
    targets = target_columns(panel.columns, patterns)
    if not targets:
        shown = [str(c) for c in panel.columns[:10]]
        raise DataError(
            f"no target columns in the panel (columns: {shown}"
            f"{', ...' if panel.shape[1] > 10 else ''}); target names must match one of "
            f"{list(patterns) if not isinstance(patterns, str) else [patterns]}. Rename the "
            "label columns (e.g. 'fwd_ret_15m') or pass target_patterns."
        )
    target_set = set(targets)
    features = [str(c) for c in panel.columns if str(c) not in target_set]
    Y = panel[targets]
    bad_targets = non_numeric_columns(Y)
    if bad_targets:
        raise DataError(
            f"target column(s) {bad_targets} are not numeric "
            f"(dtypes: {[str(Y[c].dtype) for c in bad_targets]}); encode labels as numbers "
            "(e.g. 0/1) or rename the column so it no longer matches a target pattern."
        )
    X = panel[features]
    dropped = non_numeric_columns(X)
    if dropped:
        warnings.warn(
            f"dropping non-numeric feature column(s) {dropped}; encode them as numbers to "
            "use them as features.",
            DataWarning,
            stacklevel=2,
        )
        X = X.drop(columns=dropped)
    if X.shape[1] == 0:
        raise DataError(
            f"the panel has no numeric feature columns (targets: {targets}); add feature "
            "columns whose names do not match a target pattern."
        )
    X = X.astype(np.float32)  # a copy: the caller's panel is never modified
    Y = Y.astype(np.float64)
    _check_finite(X, "feature")
    _check_finite(Y, "target")
    return X, Y
