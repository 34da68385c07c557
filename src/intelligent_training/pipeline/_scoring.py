"""Scoring new rows with a fitted pipeline: which rows, with what history, which columns.

**History.** A sequence model (registry kind ``sequence``: ``cnn1d``, ``lstm``,
``transformer``) predicts a row from the window of its last ``lookback`` rows of the
same symbol. New data must therefore hold, before each row to score, the
``lookback - 1`` earlier rows of its symbol: ``history = max(lookback) - 1`` over the
pipeline's sequence models (0 without one). Those rows give their features only.
Which rows are scored:

- ``start=None``: every row except the first ``history`` rows of each symbol;
- ``start=t``: the rows at or after ``t``; every symbol with such rows needs at least
  ``history`` rows before ``t``.

Too little history is a :class:`~intelligent_training.exceptions.DataError` naming the
rows needed and the symbols short of them. This is the rule cross-validation follows
for a test fold (:mod:`intelligent_training.evaluation._model`: the preceding
``lookback - 1`` rows of each symbol are context), so a model predicts a row from the
same window in both.

**Columns.** Every trained ``(target, family)`` and ``(target, "ensemble")``: the
trainer's ``predict_all`` and ``predict`` on the same rows (regression: the prediction;
binary: the probability of the positive class; multiclass: the label). The trainers get
the rows as cross-validation gave them to the fold models: a row-major float32 block
(every feature is float32 in training), so a fold's model predicts its test rows here
bit for bit as it did out of fold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError

__all__ = ["ENSEMBLE", "history_rows", "score_rows", "scored_positions", "sequence_lookbacks"]

#: The family name of the ensemble column of every target.
ENSEMBLE = "ensemble"


def sequence_lookbacks(trainers: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """``(target, family) -> lookback`` of every sequence model of the trainers."""
    from intelligent_training.exceptions import FamilyError
    from intelligent_training.families import get_family

    out: dict[tuple[str, str], int] = {}
    for trainer in trainers.values():
        for (target, family), model in (getattr(trainer, "models_", None) or {}).items():
            try:
                kind = get_family(family).kind
            except FamilyError:  # a user's trainer with its own model names
                continue
            if kind == "sequence":
                out[(str(target), str(family))] = int(getattr(model, "lookback", 1))
    return out


def history_rows(trainers: Mapping[str, Any]) -> int:
    """Rows of history each symbol needs before its first scored row (see module doc)."""
    lookbacks = sequence_lookbacks(trainers)
    return max(lookbacks.values(), default=1) - 1


def _timestamps(X: pd.DataFrame) -> pd.Index | None:
    index = X.index
    if isinstance(index, pd.MultiIndex) and "timestamp" in index.names:
        return index.get_level_values("timestamp")
    if isinstance(index, pd.DatetimeIndex):
        return index
    return None


def _as_start(start: Any, times: pd.Index) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise DataError(f"start={start!r} is not a timestamp (e.g. '2024-03-01 09:30')") from None
    if stamp.tzinfo is not None and getattr(times, "tz", None) is None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)  # panel timestamps are naive UTC
    return stamp


def _symbol_names(X: pd.DataFrame, codes: np.ndarray, picked: np.ndarray) -> list[str]:
    index = X.index
    if isinstance(index, pd.MultiIndex) and "symbol" in index.names:
        uniques = pd.factorize(index.get_level_values("symbol"))[1]
        return [str(uniques[c]) for c in picked]
    return ["(all rows)" for _ in picked]


def _short(items: list[str], n: int = 5) -> str:
    return ", ".join(items[:n]) + (", ..." if len(items) > n else "")


def scored_positions(
    X: pd.DataFrame,
    history: int,
    start: Any = None,
    *,
    lookbacks: Mapping[tuple[str, str], int] | None = None,
    where: str = "X",
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the rows to score and of every row their windows read.

    Returns
    -------
    scored : ndarray of int
        Sorted positions of the rows predicted.
    needed : ndarray of int
        Sorted positions of the scored rows and their ``history`` predecessors.
    """
    from intelligent_training.families.torch._windows import context_rows, sequence_keys

    n = len(X)
    times = _timestamps(X)
    if start is not None and times is None:
        raise DataError(
            f"start= needs the rows' timestamps: give {where} a (timestamp, symbol) index"
        )
    if history == 0 and start is None:
        everything = np.arange(n)
        return everything, everything
    keys = sequence_keys(X, n)  # raises on duplicate (timestamp, symbol) rows
    symbols, time_key = keys
    order = np.lexsort((time_key, symbols))
    sorted_symbols = symbols[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_symbols[1:] != sorted_symbols[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n) - group_start  # rank of the row within its symbol
    n_symbols = int(symbols.max()) + 1 if n else 0
    what = ""
    if lookbacks:
        (target, family), lookback = max(lookbacks.items(), key=lambda item: item[1])
        what = f" ({family} for {target!r} has lookback {lookback}: the row and {lookback - 1} before it)"
    if start is None:
        scored_mask = position >= history
        counts = np.bincount(symbols, minlength=n_symbols)
        short = np.flatnonzero(counts <= history)
        if short.size:
            names = _symbol_names(X, symbols, short)
            listed = [f"{s!r} ({counts[c]} rows)" for s, c in zip(names, short, strict=True)]
            raise DataError(
                f"too little history in {where}: the sequence models need {history} earlier "
                f"rows of each symbol before a row they predict{what}, so each symbol needs "
                f"at least {history + 1} rows; {_short(listed)} "
                f"{'has' if len(listed) == 1 else 'have'} fewer. Include {history} more rows "
                "per symbol before the first one to score (the first "
                f"{history} rows of each symbol are history only)."
            )
    else:
        assert times is not None  # checked above
        stamp = _as_start(start, times)
        scored_mask = np.asarray(times >= stamp)
        if not scored_mask.any():
            raise DataError(
                f"no row of {where} is at or after start={stamp} (its last timestamp is "
                f"{times.max()})"
            )
        before = np.bincount(symbols[~scored_mask], minlength=n_symbols)
        scoring = np.bincount(symbols[scored_mask], minlength=n_symbols) > 0
        short = np.flatnonzero(scoring & (before < history))
        if short.size:
            names = _symbol_names(X, symbols, short)
            listed = [f"{s!r} ({before[c]})" for s, c in zip(names, short, strict=True)]
            raise DataError(
                f"too little history in {where}: the sequence models need {history} rows of "
                f"each symbol before start={stamp}{what}; rows before it: {_short(listed)}. "
                f"Include at least {history} rows per symbol before start."
            )
    scored = np.flatnonzero(scored_mask)
    if history == 0:
        return scored, scored
    context = context_rows(keys, scored, history + 1)
    return scored, np.union1d(scored, context)


def _ensemble(trainer: Any, X: pd.DataFrame, targets: list[str]) -> dict[str, np.ndarray]:
    """A trainer's ensemble of each of its targets, in the convention of a DataFrame fit.

    A trainer fitted on one binary target predicts labels; its ensemble column is the
    probability of the positive class instead (``predict_proba``), as for a trainer
    fitted on several targets, so a binary target's column does not depend on the
    strategy and sits beside its families' probabilities.
    """
    tasks = getattr(trainer, "tasks_", None) or {}
    if (
        len(targets) == 1
        and tasks.get(targets[0]) == "binary"
        and hasattr(trainer, "predict_proba")
    ):
        return {targets[0]: np.asarray(trainer.predict_proba(X))[:, -1]}
    return _columns_of(trainer.predict(X), targets)


def _columns_of(pred: Any, targets: list[str]) -> dict[str, np.ndarray]:
    """A trainer's ``predict`` output as target -> array."""
    if isinstance(pred, pd.DataFrame):
        return {t: np.asarray(pred[t]) for t in targets}
    arr = np.asarray(pred)
    if arr.ndim == 1:
        return {targets[0]: arr}
    return {t: arr[:, i] for i, t in enumerate(targets)}


def score_rows(
    pipe: Any, X: pd.DataFrame, rows: np.ndarray, needed: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ensemble (one column per target) and every family's prediction of ``rows``.

    The trainers see the ``needed`` rows (the scored rows and their history), so a
    sequence model's window of a scored row holds its real predecessors.

    Returns
    -------
    ensemble : DataFrame
        One column per selected target, indexed by the scored rows.
    every : DataFrame
        Columns ``(target, family)``: each family, then ``(target, "ensemble")``.
    """
    X_in = X if len(needed) == len(X) else X.iloc[needed]
    at = np.searchsorted(needed, rows)
    index = X.index[rows]
    ensemble: dict[str, np.ndarray] = {}
    families: dict[str, dict[str, np.ndarray]] = {}
    for key, trainer in pipe.trainers_.items():
        targets, feats = pipe.training_groups_[key]
        # The rows as the training engine hands them to a model: one row-major float32
        # block (a column-major copy can round a float32 dot product differently).
        values = np.ascontiguousarray(X_in[feats].to_numpy(dtype=np.float32))
        X_t = pd.DataFrame(values, index=X_in.index, columns=feats, copy=False)
        for target, values in _ensemble(trainer, X_t, list(targets)).items():
            ensemble[target] = values[at]
        if callable(getattr(trainer, "predict_all", None)):
            every = trainer.predict_all(X_t)
            for target, family in every.columns:
                families.setdefault(str(target), {})[str(family)] = np.asarray(
                    every[(target, family)]
                )[at]
    order = [t for t in pipe.selected_targets_ if t in ensemble]
    ens = pd.DataFrame({t: ensemble[t] for t in order}, index=index, columns=order)
    data: dict[tuple[str, str], np.ndarray] = {}
    for target in order:
        for family, values in families.get(target, {}).items():
            data[(target, family)] = values
        data[(target, ENSEMBLE)] = ensemble[target]
    every = pd.DataFrame(data, index=index)
    every.columns = pd.MultiIndex.from_tuples(list(data), names=["target", "family"])
    return ens, every
