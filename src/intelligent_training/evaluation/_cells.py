"""The unit of work of every stage: a cell, what it measures, what it returns.

A **cell** is one (stage, target, family, fold | final) fit: train rows, test rows,
parameters, seed, threads, label horizon, and a picklable :class:`Measure` that says what
to compute on the test rows. Cells of all stages run through one executor
(:func:`~intelligent_training.evaluation.run_cells`) on one :class:`EvalData`.

**Seeding rule** (one for every stage): every model of every cell is seeded with the
stage's ``random_state``; the cell's own randomness (permutation shuffles, explainer
draws) comes from :func:`cell_rng`, a seed derived from ``random_state`` and the
cell's identity (target, family, fold). The rows explained (the ``explain_rows``
sample) depend on the seed, target and fold only: every family explains the same rows.
Neither depends on the order in which cells run, on ``n_jobs``, on the backend or on
cache hits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import ConfigError

__all__ = [
    "Cell",
    "CellResult",
    "EvalData",
    "Measure",
    "cell_rng",
    "resolve_seed",
]


@dataclass(frozen=True)
class Measure:
    """What a cell computes on its test rows (picklable; part of the cache key).

    Attributes
    ----------
    scores : bool
        The test rows' score matrix (prediction, P(class 1), class probabilities).
    loss : bool
        The mean test loss (squared error or log-loss).
    native, shap, permutation : bool
        Importances (see :mod:`intelligent_training.evaluation._importance`).
    n_repeats : int
        Shuffles per feature (permutation importance).
    explain_rows : int or None
        Row budget of SHAP and permutation per cell: a stratified-in-time sample of
        the test rows, the same for every family of a (target, fold)
        (:func:`~intelligent_training.evaluation._importance.explain_sample`); ``None``
        explains every test row.
    by_group : bool
        Importances per symbol group (``EvalData.groups``) instead of pooled.
    keep_model : bool
        Return the fitted estimator (final fits).
    """

    scores: bool = True
    loss: bool = False
    native: bool = False
    shap: bool = False
    permutation: bool = False
    n_repeats: int = 3
    explain_rows: int | None = 2000
    by_group: bool = False
    keep_model: bool = False

    @property
    def methods(self) -> tuple[str, ...]:
        """The importance methods asked for, in a fixed order."""
        names = ("native", "shap", "permutation")
        return tuple(m for m in names if getattr(self, m))


@dataclass(frozen=True, eq=False)
class Cell:
    """One fit of one family for one target on given rows (see the module docstring).

    Attributes
    ----------
    stage : str
        ``"rank"``, ``"select"`` or ``"train"`` (for messages; not part of the cache key).
    target : str
        The target (the first one of a joint multi-task cell).
    family : str
    fold : int or None
        Fold number, ``None`` for a final fit.
    train, test : ndarray of int
        Row positions into ``EvalData.X`` (``test`` is empty for a final fit).
    params : mapping
        The user's family parameters (they win over the defaults and over the stage's
        seed and threads).
    seed : int or None
        The stage's ``random_state``.
    label_horizon : int
        The label horizon in bars: purges the family's own holdouts.
    measure : Measure
    threads : int
        Threads the model may use.
    joint : tuple of str
        Targets of one shared ``multi_task`` model (empty otherwise).
    fill_columns : tuple of int
        Columns imputed with their mean over the training rows (cascade columns of
        families that cannot take NaN).
    cpu_only : bool
        Keep torch families on the CPU.
    bins : FoldBins or None
        Shared bins of the fast path (a family's native trainer), set by the planner.
    """

    stage: str
    target: str
    family: str
    fold: int | None
    train: np.ndarray
    test: np.ndarray
    params: Mapping[str, Any]
    seed: int | None
    label_horizon: int
    measure: Measure
    threads: int = 1
    joint: tuple[str, ...] = ()
    fill_columns: tuple[int, ...] = ()
    cpu_only: bool = False
    bins: Any = None

    @property
    def name(self) -> str:
        """A readable identity: ``stage target/family fold k`` (or ``final``)."""
        where = "final fit" if self.fold is None else f"fold {self.fold}"
        return f"{self.stage} {self.target}/{self.family} {where}"


@dataclass
class CellResult:
    """What a cell produced, or why it failed (``error``; never raised)."""

    scores: np.ndarray | None = None
    importances: dict[str, np.ndarray] = field(default_factory=dict)
    test_loss: float = float("nan")
    model: Any = None
    fill_values: dict[int, float] = field(default_factory=dict)
    error: str | None = None
    n_train: int = 0
    n_test: int = 0
    fit_seconds: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    cached: bool = False
    pid: int | None = None  # process that computed it (a Dask worker's, on a cluster)

    @property
    def ok(self) -> bool:
        """Whether the cell succeeded."""
        return self.error is None


@dataclass(eq=False)
class EvalData:
    """The rows every cell of a run reads: one float32 feature matrix and the targets.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float32
        The features (a view of the caller's frame where possible, never copied per cell).
        Anything that reads like one (``X[rows]`` gives an ndarray, ``.shape``, and
        ``.column(j, rows)``) also works: the selector's ``[X | shadows]`` is one.
    columns : list
        Column labels (the caller's, for a DataFrame; ``x0, x1, ...`` for an array).
    index : Index or None
        The panel index (families that need a DataFrame, e.g. sequence windows, get it).
    targets : dict of str to TargetSpec
    groups : ndarray of int or None
        Symbol code of every row (importances per symbol).
    n_groups : int
    """

    X: np.ndarray
    columns: list[Any]
    index: pd.Index | None
    targets: dict[str, Any]
    groups: np.ndarray | None = None
    n_groups: int = 1
    _fingerprint: str | None = field(default=None, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_features(
        cls,
        X: Any,
        targets: Mapping[str, Any],
        *,
        columns: list[Any] | None = None,
        groups: np.ndarray | None = None,
        n_groups: int = 1,
    ) -> EvalData:
        """Wrap features: a DataFrame keeps its index; values become float32 (no copy
        when they already are)."""
        if isinstance(X, pd.DataFrame):
            values = X.to_numpy(dtype=np.float32, copy=False)
            index: pd.Index | None = X.index
            names = list(X.columns)  # the caller's labels: refitted frames match its own
        else:
            values = np.asarray(X, dtype=np.float32)
            index = None
            names = [f"x{i}" for i in range(values.shape[1])]
        return cls(
            X=values,
            columns=list(columns) if columns is not None else names,
            index=index,
            targets=dict(targets),
            groups=groups,
            n_groups=n_groups,
        )

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    def fingerprint(self) -> str:
        """Content hash of the features (computed once)."""
        if self._fingerprint is None:
            from intelligent_training.cache import fingerprint

            # a matrix that is not an ndarray (the selector's ShadowedMatrix) hashes itself
            X = self.X if isinstance(self.X, np.ndarray) else self.X.fingerprint()
            self._fingerprint = fingerprint(X, self.columns, self.index)
        return self._fingerprint

    def frame(self, rows: np.ndarray, values: np.ndarray | None = None) -> pd.DataFrame:
        """Rows as a DataFrame with the panel index (for families that need one)."""
        index = self.index[rows] if self.index is not None else None
        return pd.DataFrame(
            self.X[rows] if values is None else values, index=index, columns=self.columns
        )

    def group_codes(self, rows: np.ndarray) -> np.ndarray:
        """Group code of ``rows`` (all 0 when importances are pooled)."""
        if self.groups is None:
            return np.zeros(len(rows), dtype=np.intp)
        return self.groups[rows]

    def memo(self, key: str, build: Any) -> Any:
        """``build()``, computed once per data and ``key`` (what a family's hook derives
        from the rows, e.g. per-symbol window keys)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def take(self, rows: np.ndarray) -> EvalData:
        """The data restricted to ``rows`` (sorted), e.g. for one remote task."""
        if len(rows) == self.n_rows:
            return self
        targets = {name: _take_spec(spec, rows) for name, spec in self.targets.items()}
        return EvalData(
            X=self.X[rows],
            columns=self.columns,
            index=self.index[rows] if self.index is not None else None,
            targets=targets,
            groups=self.groups[rows] if self.groups is not None else None,
            n_groups=self.n_groups,
            _fingerprint=self._fingerprint,
        )


def _take_spec(spec: Any, rows: np.ndarray) -> Any:
    from dataclasses import replace

    weights = None if spec.weights is None else spec.weights[rows]
    return replace(spec, labels=spec.labels[rows], folds=(), weights=weights)


def resolve_seed(random_state: Any, owner: str) -> int | None:
    """The stage's seed: ``None``, an int, or one draw from a ``RandomState``.

    Raises
    ------
    ConfigError
        For anything else.
    """
    if random_state is None:
        return None
    if isinstance(random_state, Integral) and not isinstance(random_state, bool | np.bool_):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    raise ConfigError(
        f"{owner}: random_state must be None, an int or a RandomState, got {random_state!r}."
    )


def cell_rng(seed: int | None, target: str, family: str, fold: int | None) -> np.random.RandomState:
    """The cell's own random stream, derived from the seed and the cell's identity."""
    if seed is None:
        return np.random.RandomState()
    text = f"{seed}|{target}|{family}|{fold}".encode()
    derived = int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "little")
    return np.random.RandomState(derived % (2**31 - 1))
