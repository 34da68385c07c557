"""The target contract: one resolver from (name, labels, horizons, cv) to a frozen spec.

Every stage calls :func:`resolve_targets`; none parses a horizon, encodes classes or
builds folds on its own. A :class:`TargetSpec` holds everything a stage needs about one
target: its task, classes, encoded labels, horizon (as resolved and in bars) and its
purged folds (:func:`~intelligent_training.model_selection.purged_folds`: the splitter
cloned with the target's horizon, split on every row of ``X``, unlabelled rows removed).

Rules, decided here once:

- **horizon**: the per-target override, else the token in the name, else
  ``default_horizon`` (with a :class:`~intelligent_training.exceptions.DataWarning`),
  see :func:`~intelligent_training.data.resolve_horizons`; a target without a name
  (an array or an unnamed Series) has horizon 0. In bars: :func:`~intelligent_training.data.horizon_in_bars`
  on the grid step of the timestamps.
- **cv**: ``None`` or an int is a :class:`~intelligent_training.model_selection.PurgedTimeSeriesSplit`
  (the stage's default number of splits, or that int); a splitter with a ``horizon``
  parameter is cloned with each target's horizon; another splitter is used as given.
- **task / classes**: :func:`~intelligent_training.data.infer_task`, unless the stage
  fixes it (``ModelTrainer(task=...)``, see :func:`encode_target`); class labels are
  encoded as codes ``0 .. k-1`` in sorted order (``classes`` keeps the caller's dtype).
- **rows**: :func:`check_same_rows`: where ``X`` and the targets both carry a pandas
  index, they must be the same index in the same order (never aligned by position, never
  silently reordered); arrays must have as many rows (each stage's sklearn-style check).
- **fold bases**: folds of different targets that share their test rows share one
  *base*, the union of their unpurged (horizon 0) training rows; fast tree families bin
  a fold's features once from its base (features only, all before the test block) and
  reuse the bins for every target.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from intelligent_training.evaluation._labels import encode_target
from intelligent_training.exceptions import ConfigError, DataError

__all__ = [
    "SAMPLE_WEIGHTS",
    "Fold",
    "TargetSet",
    "TargetSpec",
    "check_same_rows",
    "encode_target",
    "resolve_cv",
    "resolve_targets",
]


#: The ``sample_weight`` options of every stage (None: unweighted fits).
SAMPLE_WEIGHTS = ("uniqueness",)


# ------------------------------------------------------------------------------ rows
def check_same_rows(X: Any, Y: Any, *, owner: str) -> None:
    """Refuse targets that are not on the rows of ``X`` (the rule of every stage).

    Where both carry a pandas index (``X`` a DataFrame, ``Y`` a Series or DataFrame)
    the indexes must be equal, in the same order: targets in another row order, or with
    timestamps shifted by a minute, would otherwise be fitted by position to the wrong
    rows. Arrays have no index: there the stage's own length check applies.

    Raises
    ------
    DataError
        Naming the first row that differs and what to pass instead.
    """
    x_index = X.index if isinstance(X, pd.DataFrame) else None
    y_index = Y.index if isinstance(Y, pd.Series | pd.DataFrame) else None
    if x_index is None or y_index is None:
        return  # arrays: the stage's own length check (sklearn's message) applies
    if len(x_index) != len(y_index):
        raise DataError(
            f"{owner}: X has {len(x_index)} rows but the target(s) {len(y_index)}; pass X and "
            "y with the same index (the same panel rows, in order), e.g. both from "
            "split_features_targets."
        )
    if x_index.equals(y_index):
        return
    try:
        differ = np.flatnonzero(np.asarray(x_index != y_index))
        row = int(differ[0]) if len(differ) else 0
        where = f"row {row}: X has {x_index[row]!r}, y has {y_index[row]!r}"
    except (TypeError, ValueError):  # indexes of different kinds
        where = f"X is indexed by {list(x_index.names)}, y by {list(y_index.names)}"
    raise DataError(
        f"{owner}: y is not on the same index as X (first difference at {where}); "
        "targets are never aligned by position: pass y with X's index, in the same order "
        "(e.g. both from split_features_targets, or y.reindex(X.index))."
    )


# ------------------------------------------------------------------------------ cv
def resolve_cv(cv: Any, *, default_n_splits: int, owner: str) -> Any:
    """Turn a stage's ``cv`` argument into a splitter (the caller's is never modified).

    Parameters
    ----------
    cv : None, int or splitter
        ``None``: ``PurgedTimeSeriesSplit(default_n_splits)``; an int (>= 2): that many
        splits; an object with ``split``: cloned (when it has ``get_params``).
    default_n_splits : int
    owner : str
        The stage's name, for error messages.

    Returns
    -------
    splitter

    Raises
    ------
    ConfigError
        For anything else.
    """
    from intelligent_training.model_selection import PurgedTimeSeriesSplit

    if cv is None:
        return PurgedTimeSeriesSplit(n_splits=default_n_splits)
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool | np.bool_):
        if cv < 2:
            raise ConfigError(f"{owner}: cv must be at least 2 splits, got {cv!r}.")
        return PurgedTimeSeriesSplit(n_splits=int(cv))
    if isinstance(cv, str | bool) or not hasattr(cv, "split"):
        raise ConfigError(
            f"{owner}: cv must be None, an int (number of splits) or a splitter with a "
            f"split() method (e.g. PurgedTimeSeriesSplit), got {cv!r}."
        )
    return clone(cv) if hasattr(cv, "get_params") else cv


# ------------------------------------------------------------------------------ specs
@dataclass(frozen=True, eq=False)
class Fold:
    """One fold of one target: row positions into ``X`` (labelled rows only).

    ``group`` names the fold's test block: folds of different targets with the same
    test rows share a group, and with it a fold base (see :class:`TargetSet`).
    """

    index: int
    train: np.ndarray
    test: np.ndarray
    group: int


@dataclass(frozen=True, eq=False)
class TargetSpec:
    """Everything a stage knows about one target (frozen; built by :func:`resolve_targets`).

    Attributes
    ----------
    name : str
    task : {"regression", "binary", "multiclass"}
    classes : ndarray or None
        Sorted class labels (the caller's dtype) of a classification target.
    labels : ndarray of float64
        Regression values or class codes; NaN = unlabelled.
    horizon : Timedelta or int
        As resolved (override, name token or default).
    horizon_bars : int
        The horizon in bars of the timestamp grid.
    folds : tuple of Fold
        The purged folds (empty until requested).
    splitter : object or None
        The splitter that built the folds (cloned with the horizon).
    weights : ndarray of float64 or None
        Sample weight of every row in a model fit (NaN = unlabelled), or None for
        unweighted fits: with ``sample_weight="uniqueness"`` the average uniqueness of
        the row's label span over its symbol
        (:func:`~intelligent_training.stats.average_uniqueness`), scaled to mean 1;
        None too where every row is equally unique (one-bar labels).
    """

    name: str
    task: str
    classes: np.ndarray | None
    labels: np.ndarray
    horizon: Any
    horizon_bars: int
    folds: tuple[Fold, ...] = ()
    splitter: Any = None
    weights: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return 0 if self.classes is None else len(self.classes)

    @property
    def n_scores(self) -> int:
        """Width of a score matrix: classes for multiclass, else 1."""
        return self.n_classes if self.task == "multiclass" else 1

    @property
    def labelled(self) -> np.ndarray:
        """Mask of the rows with a known label."""
        return np.isfinite(self.labels)

    def fit_weights(self, rows: np.ndarray) -> np.ndarray | None:
        """Sample weights of ``rows`` as a model is fit on them, or None (unweighted)."""
        return None if self.weights is None else self.weights[rows]

    def fit_labels(self, rows: np.ndarray) -> np.ndarray:
        """Labels of ``rows`` as a model is fit on them (class labels, not codes)."""
        values = self.labels[rows]
        if self.classes is None:
            return values
        return self.classes[values.astype(np.intp)]  # type: ignore[no-any-return]


def _digest(rows: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(rows).data, digest_size=8).hexdigest()


@dataclass(frozen=True, eq=False)
class TargetSet:
    """The resolved targets of one stage fit, and the fold bases they share.

    Attributes
    ----------
    specs : dict of str to TargetSpec
        In the given order.
    bases : dict of int to ndarray
        Fold group -> rows a fast family bins the fold's features from.
    timestamps : ndarray
        Timestamp (or bar number) of every row of ``X``.
    cv : splitter
        The base splitter (before the per-target horizon).
    """

    specs: dict[str, TargetSpec]
    bases: dict[int, np.ndarray]
    timestamps: np.ndarray
    cv: Any
    _X: Any = field(default=None, repr=False)

    def __getitem__(self, name: str) -> TargetSpec:
        return self.specs[name]

    def with_folds(self, names: Iterable[str]) -> TargetSet:
        """A copy where the targets ``names`` have their purged folds (see module doc)."""
        from intelligent_training.model_selection import purged_folds

        names = [n for n in names if n in self.specs]
        horizons: dict[Any, Any] = {}
        for n in names:
            horizons.setdefault(_horizon_key(self.specs[n].horizon), self.specs[n].horizon)
        raw: dict[Any, list[tuple[np.ndarray, np.ndarray]]] = {
            key: _compact(purged_folds(self.cv, self._X, horizon=h, groups=self.timestamps))
            for key, h in horizons.items()
        }
        has_horizon = hasattr(self.cv, "get_params") and "horizon" in self.cv.get_params()
        unpurged = (
            _compact(purged_folds(self.cv, self._X, horizon=0, groups=self.timestamps))
            if has_horizon and horizons
            else []
        )
        groups: dict[tuple[int, str], int] = {}
        bases: dict[int, np.ndarray] = {}
        for folds in [unpurged, *raw.values()]:
            for k, (train, test) in enumerate(folds):
                gid = groups.setdefault((k, _digest(test)), len(groups))
                bases[gid] = _union(bases.get(gid), train)
        specs = dict(self.specs)
        for n in names:
            spec = specs[n]
            folds = raw[_horizon_key(spec.horizon)]
            labelled = spec.labelled
            built = []
            for k, (train, test) in enumerate(folds):
                gid = groups[(k, _digest(test))]
                built.append(Fold(k, _keep(train, labelled), _keep(test, labelled), gid))
            splitter = _splitter_with(self.cv, spec.horizon)
            specs[n] = replace(spec, folds=tuple(built), splitter=splitter)
        return replace(self, specs=specs, bases=bases)

    def joint_folds(self, names: Sequence[str]) -> tuple[Any, int, tuple[Fold, ...]]:
        """Folds of one model shared by several targets (the ``multi_task`` family).

        The fold rule with the **longest** horizon among ``names`` (every target's label
        is purged enough) and the rows where **any** of them is labelled (a multi-task
        model masks a missing label per head).

        Returns
        -------
        horizon, horizon_bars, folds
        """
        from intelligent_training.model_selection import purged_folds

        specs = [self.specs[n] for n in names]
        longest = max(specs, key=lambda s: s.horizon_bars)
        labelled = np.logical_or.reduce([s.labelled for s in specs])
        raw = purged_folds(
            self.cv, self._X, horizon=longest.horizon, groups=self.timestamps, labelled=labelled
        )
        folds = tuple(Fold(k, train, test, -1) for k, (train, test) in enumerate(raw))
        return longest.horizon, longest.horizon_bars, folds

    def fold_table(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per (target, fold): the horizon, sizes, time spans and row digests.

        Two stages purged a target identically exactly when their rows agree.
        """
        rows = []
        ts = self.timestamps
        for name in names if names is not None else list(self.specs):
            spec = self.specs[name]
            for fold in spec.folds:
                rows.append(
                    {
                        "target": name,
                        "fold": fold.index,
                        "horizon": spec.horizon,
                        "horizon_bars": spec.horizon_bars,
                        "n_train": len(fold.train),
                        "n_test": len(fold.test),
                        "train_start": ts[fold.train].min() if len(fold.train) else None,
                        "train_end": ts[fold.train].max() if len(fold.train) else None,
                        "test_start": ts[fold.test].min() if len(fold.test) else None,
                        "test_end": ts[fold.test].max() if len(fold.test) else None,
                        "train_digest": _digest(fold.train),
                        "test_digest": _digest(fold.test),
                    }
                )
        columns = [
            "target",
            "fold",
            "horizon",
            "horizon_bars",
            "n_train",
            "n_test",
            "train_start",
            "train_end",
            "test_start",
            "test_end",
            "train_digest",
            "test_digest",
        ]
        return pd.DataFrame(rows, columns=columns)


def _keep(rows: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    keep = labelled[rows]
    return rows if keep.all() else rows[keep]


def _compact(folds: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds' row positions as int32 where they fit (half the memory of ``intp``: a
    stage holds one pair per fold and horizon, a few times the rows in all)."""
    last = max((int(part[-1]) for fold in folds for part in fold if len(part)), default=0)
    if last >= np.iinfo(np.int32).max:
        return folds
    return [(train.astype(np.int32), test.astype(np.int32)) for train, test in folds]


def _union(base: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    if base is None:
        return rows
    if len(rows) == 0 or (len(base) and np.isin(rows, base, assume_unique=True).all()):
        return base
    return np.union1d(base, rows)


def _horizon_key(horizon: Any) -> Any:
    return horizon if isinstance(horizon, numbers.Integral) else str(pd.Timedelta(horizon))


def _splitter_with(cv: Any, horizon: Any) -> Any:
    from intelligent_training.model_selection import with_horizon

    return with_horizon(cv, horizon)


# ------------------------------------------------------------------------------ resolver
def resolve_horizons_in_bars(
    names: Sequence[str],
    timestamps: np.ndarray,
    *,
    horizons: Mapping[str, Any] | None,
    default_horizon: Any,
    unnamed: Iterable[str] = (),
    owner: str,
    X: Any = None,
) -> dict[str, tuple[Any, int]]:
    """Target -> (horizon as resolved, horizon in bars); see the module docstring.

    Raises
    ------
    ConfigError
        ``horizons`` is not a mapping, or an override / the default is not a horizon.
    DataError
        A duration horizon while the rows have no timestamps (an array ``X``).
    """
    from intelligent_training.data import grid_step, horizon_in_bars, resolve_horizons
    from intelligent_training.model_selection._timestamps import missing_timestamps_hint

    if horizons is not None and not isinstance(horizons, Mapping):
        raise ConfigError(
            f"{owner}: horizons must be a dict {{target: horizon}} or None, got "
            f"{type(horizons).__name__}."
        )
    overrides = {name: 0 for name in unnamed}
    overrides.update({str(k): v for k, v in dict(horizons or {}).items()})
    resolved = resolve_horizons(list(names), overrides=overrides, default=default_horizon)
    step = grid_step(timestamps)
    is_time = np.issubdtype(np.asarray(timestamps).dtype, np.datetime64)
    out: dict[str, tuple[Any, int]] = {}
    for name in names:
        horizon = resolved[name]
        if not is_time and not isinstance(horizon, numbers.Integral):
            raise DataError(
                f"{owner}: target {name!r} has the horizon {horizon} (a duration) but the rows "
                f"have no timestamps ({missing_timestamps_hint(X)}), or give the horizon in "
                f"bars (horizons={{{name!r}: 3}})."
            )
        out[name] = (horizon, horizon_in_bars(horizon, step))
    return out


def _row_grid(index: Any, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bar number on the grid of distinct timestamps, symbol code) of every row.

    The symbol is the ``symbol`` level of a panel index; rows without one are one series.
    """
    time_codes, _ = pd.factorize(np.asarray(timestamps), sort=True)
    if isinstance(index, pd.MultiIndex) and "symbol" in index.names:
        symbol_codes, _ = pd.factorize(index.get_level_values("symbol"))
    else:
        symbol_codes = np.zeros(len(time_codes), dtype=np.int64)
    return time_codes, symbol_codes


def label_weights(
    grid: tuple[np.ndarray, np.ndarray], labelled: np.ndarray, horizon_bars: int
) -> np.ndarray:
    """The one place sample weights come from: the average uniqueness of each row's
    ``horizon_bars`` label span over its symbol, mean 1 over the labelled rows
    (:func:`~intelligent_training.stats.average_uniqueness`)."""
    from intelligent_training.stats import average_uniqueness

    time_codes, symbol_codes = grid
    return average_uniqueness(time_codes, symbol_codes, labelled, horizon_bars)


def resolve_targets(
    Y: pd.DataFrame,
    X: Any,
    *,
    timestamps: np.ndarray,
    cv: Any,
    horizons: Mapping[str, Any] | None = None,
    default_horizon: Any = None,
    unnamed: Iterable[str] = (),
    with_folds: bool | Iterable[str] = True,
    owner: str,
    task: str = "auto",
    sample_weight: str | None = None,
    index: pd.Index | None = None,
) -> TargetSet:
    """Resolve every column of ``Y`` into a :class:`TargetSpec` (the target contract).

    Parameters
    ----------
    Y : DataFrame
        Targets on the rows of ``X`` (NaN = unlabelled), string column names.
    X : DataFrame or array-like
        The feature rows (their number and timestamps are used).
    timestamps : ndarray
        Timestamp (or bar number) of every row.
    cv : splitter
        The stage's base splitter (see :func:`resolve_cv`).
    horizons, default_horizon
        Per-target overrides and the fallback horizon (see the module docstring).
    unnamed : iterable of str
        Targets that had no name (arrays): horizon 0, no warning.
    with_folds : bool or iterable of str, default=True
        Which targets get their folds now (``True``: all; see :meth:`TargetSet.with_folds`).
    owner : str
        The stage's name, for error messages.
    task : {"auto", "regression", "classification"}, default="auto"
        How every target's task is decided (see :func:`encode_target`).
    sample_weight : {None, "uniqueness"}, default=None
        ``"uniqueness"``: every spec gets the rows' label uniqueness as its ``weights``
        (see :func:`label_weights`); validated by the stage.
    index : pandas.Index, optional
        The rows' panel index, where ``X`` has none (its ``symbol`` level counts the
        label overlap per symbol).

    Returns
    -------
    TargetSet
    """
    names = [str(c) for c in Y.columns]
    resolved = resolve_horizons_in_bars(
        names,
        timestamps,
        horizons=horizons,
        default_horizon=default_horizon,
        unnamed=unnamed,
        owner=owner,
        X=X,
    )
    specs = {}
    grid = None
    if sample_weight is not None:
        grid = _row_grid(getattr(X, "index", None) if index is None else index, timestamps)
    for name, column in zip(names, Y.columns):
        encoded = encode_target(Y[column], name=name, owner=owner, task=task)
        horizon, bars = resolved[name]
        weights = None
        if grid is not None:
            weights = label_weights(grid, np.isfinite(encoded.labels), bars)
            known = weights[np.isfinite(weights)]
            if not len(known) or known.min() == known.max():
                weights = None  # all rows equally unique (one-bar labels): fit unweighted
        specs[name] = TargetSpec(
            name=name,
            task=encoded.task,
            classes=encoded.classes,
            labels=encoded.labels,
            horizon=horizon,
            horizon_bars=bars,
            weights=weights,
        )
    target_set = TargetSet(specs=specs, bases={}, timestamps=timestamps, cv=cv, _X=X)
    if with_folds is False:
        return target_set
    chosen = names if with_folds is True else list(with_folds)  # type: ignore[arg-type]
    return target_set.with_folds(chosen)
