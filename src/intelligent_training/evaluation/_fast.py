"""Bin once, fit many: native LightGBM / XGBoost training shared across targets and stages.

The feature matrix of a cross-validation fold is the same for every target; only the
label (and, through the per-target purge and missing labels, a few rows) changes.
Binning the features (LightGBM's ``Dataset`` construction, XGBoost's quantile sketch)
is the expensive, label-independent part, so it is done **once per fold** from the
fold's *base* rows (see :class:`~intelligent_training.evaluation.TargetSet`: the
unpurged training rows before the test block) and reused by every target:

- LightGBM: one constructed ``lgb.Dataset`` per fold; each cell trains on
  ``Dataset.subset(rows)`` with its own label. A subset copies already-binned rows.
- XGBoost: one ``xgb.QuantileDMatrix`` per fold (sketch and binning once); each cell
  sets its label and gives the base rows it must not use (purged for its horizon, or
  unlabelled) weight 0. A matrix serves one thread at a time; a concurrent thread gets
  a copy built with ``ref=`` (the cuts are reused, not recomputed).

The bins hold **positions** into the shared feature matrix, never a copy of it: LightGBM
reads a fold's raw rows as views of the matrix or a block at a time
(:mod:`._lgb_rows`), XGBoost from a copy freed as soon as it is binned.

Hyperparameters are :func:`~intelligent_training.families.family_params` mapped onto the
native APIs (:mod:`._native_params`; the trained booster is seen through
:class:`._native_model.NativeModel`), so a model here is the model ``make_estimator`` would fit on the same rows,
up to the bin boundaries (which come from the base rows) and, for XGBoost, row
subsampling that also draws zero-weight rows. **Parameter precedence** (the rule of
every stage): packaged defaults < the stage's ``random_state`` / thread budget < the
user's family parameters, so ``{"xgboost": {"random_state": 0, "n_jobs": 2}}`` wins.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from intelligent_training.evaluation._lgb_rows import binned_dataset, row_blocks, valid_rows
from intelligent_training.evaluation._native_model import NativeModel
from intelligent_training.evaluation._native_params import (
    bin_params,
    lightgbm_native_params,
    native_params,
    xgboost_native_params,
)

__all__ = [
    "FAST_FAMILIES",
    "FoldBins",
    "NativeModel",
    "bin_params",
    "lightgbm_native_params",
    "native_params",
    "xgboost_native_params",
    "xgboost_train",
]

FAST_FAMILIES = ("lightgbm", "xgboost")


def xgboost_train(params: Mapping[str, Any], dtrain: Any, num_boost_round: int) -> Any:
    """``xgb.train(params, dtrain, num_boost_round)`` without callbacks or evaluation sets.

    The same booster, round for round: ``xgb.train`` creates the booster on
    ``[dtrain]``, calls ``Booster.update`` once per round and ``reset`` at the end; its
    per-round Python work (feature-name checks of the matrix, an empty evaluation, the
    callback container) is about a sixth of a small model's training time, so after the
    first round (which assigns the matrix's feature information as ``update`` does) the
    rounds call XGBoost's ``XGBoosterUpdateOneIter`` directly.
    """
    import ctypes

    import xgboost as xgb

    booster = xgb.Booster(dict(params), [dtrain])
    if num_boost_round > 0:
        booster.update(dtrain, iteration=0)
    try:
        from xgboost.core import _LIB, _check_call
    except ImportError:  # a future layout: keep to the public API
        for i in range(1, num_boost_round):
            booster.update(dtrain, iteration=i)
        return booster.reset()
    update, handle, data = _LIB.XGBoosterUpdateOneIter, booster.handle, dtrain.handle
    for i in range(1, num_boost_round):
        _check_call(update(handle, ctypes.c_int(i), data))
    return booster.reset()


def _lightgbm_valid_scores(booster: Any, n_rows: int) -> np.ndarray | None:
    """The scores LightGBM kept for the booster's first validation set, ``(n, k)``.

    ``None`` (the caller predicts instead) when this LightGBM does not expose them.
    """
    import ctypes

    try:
        from lightgbm.basic import _LIB, _safe_call

        handle = booster._handle
        k = int(booster.num_model_per_iteration())
    except (ImportError, AttributeError):  # pragma: no cover - another LightGBM layout
        return None
    out = np.empty(n_rows * k, dtype=np.float64)
    length = ctypes.c_int64(0)
    _safe_call(
        _LIB.LGBM_BoosterGetPredict(
            handle,
            ctypes.c_int(1),
            ctypes.byref(length),
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )
    )
    if length.value != out.size:  # pragma: no cover - defensive
        return None
    return out.reshape(k, n_rows).T  # class-major in LightGBM


def _predicted_by_block(
    booster: Any, X: Any, rows: np.ndarray, native: Mapping[str, Any]
) -> np.ndarray:
    """``booster.predict(X[rows])`` as ``(n, k)`` scores, a block of rows at a time."""
    threads = int(native.get("num_threads", 1))
    parts = []
    for _, block in row_blocks(X, rows):
        raw = np.asarray(booster.predict(block, num_threads=threads), dtype=np.float64)
        parts.append(raw.reshape(len(block), -1))
    return np.concatenate(parts)


#: LightGBM bins a fold from a row sample it holds as doubles plus row indices
#: (``bin_construct_sample_cnt`` rows x features x 12 bytes, 0.3x of a 2M x 50 float32
#: matrix, several times the bins it yields), then fills the bins (a byte per row and
#: feature); a subset copies bins, a validation set fills its own. Constructions whose
#: sample or bins are larger than this run one at a time in the process, so concurrent
#: cells don't stack them (training rounds still run side by side); each construction
#: is deterministic, so the bins are the same either way.
_SERIAL_BYTES = 32 * 2**20
_CONSTRUCT = threading.Lock()
#: A test block with more binned bytes than this is predicted a block of rows at a time
#: after training (the training bins let go first), not binned as a validation set kept
#: beside the training bins: slower than scores kept while training on small blocks,
#: about as fast on large ones.
_LARGE_TEST_BYTES = 16 * 2**20


def _one_at_a_time(n_bytes: int) -> Any:
    """The process-wide construction lock for ``n_bytes`` above the limit, else a no-op."""
    return _CONSTRUCT if n_bytes > _SERIAL_BYTES else contextlib.nullcontext()


class _CellBudget:
    """Large LightGBM cells side by side only while their footprints fit a budget.

    A cell whose footprint is at most ``_SERIAL_BYTES`` never waits. A larger one waits
    until it fits beside the large cells running, or runs alone; the budget is the
    features' own size, so a process's cells hold at most about one more copy of the
    features on top of them. Which cells share the cores changes, never what a cell
    computes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._used = 0

    @contextlib.contextmanager
    def admit(self, n_bytes: int, *, budget: int) -> Any:
        """Hold ``n_bytes`` of the budget for the ``with`` block (waiting for room)."""
        if n_bytes <= _SERIAL_BYTES:
            yield
            return
        with self._cond:
            self._cond.wait_for(lambda: self._used == 0 or self._used + n_bytes <= budget)
            self._used += n_bytes
        try:
            yield
        finally:
            with self._cond:
                self._used -= n_bytes
                self._cond.notify_all()


_LARGE_CELLS = _CellBudget()


def _feature_bytes(X: Any) -> int:
    """The size of the features themselves (of a ``ShadowedMatrix``: the matrix it reads)."""
    base = getattr(X, "X", X)
    return int(getattr(base, "nbytes", 4 * X.shape[0] * X.shape[1]))


def _sample_rows(n_rows: int, params: Mapping[str, Any]) -> int:
    """How many of ``n_rows`` rows LightGBM samples to find the bins."""
    count = params.get("bin_construct_sample_cnt", params.get("subsample_for_bin", 200_000))
    return min(n_rows, int(count))


def _sample_bytes(n_rows: int, n_features: int, params: Mapping[str, Any]) -> int:
    """The size of LightGBM's binning sample for ``n_rows`` x ``n_features`` (a double
    and a row index per value)."""
    return _sample_rows(n_rows, params) * n_features * 12


class FoldBins:
    """The binned base rows of one fold, built lazily and once.

    Parameters
    ----------
    family : {"lightgbm", "xgboost"}
    base_rows : ndarray of int
        Positions (into the shared feature matrix) of the fold's base rows; every
        cell's training rows are a subset of them.
    params : dict
        Native parameters that decide the bins (:func:`bin_params`).

    Notes
    -----
    Thread-safe: concurrent cells of the same fold wait for one construction. Picklable
    for distributed runs: only the positions and parameters travel; the bins are
    rebuilt on arrival from the matrix the worker receives.
    """

    def __init__(self, family: str, base_rows: np.ndarray, params: Mapping[str, Any]) -> None:
        self.family = family
        self.base_rows = np.asarray(base_rows)
        self.params = dict(params)
        self._lock = threading.Lock()
        self._base: Any = None
        self._free: list[Any] = []  # XGBoost matrices not in use by any thread
        self._base_taken = False
        #: LightGBM cells planned on these bins that have not taken their rows yet
        #: (None: not counted, e.g. on a Dask worker; the base is then kept)
        self._pending: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"family": self.family, "base_rows": self.base_rows, "params": self.params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["family"], state["base_rows"], state["params"])  # type: ignore[misc]

    def expect_cell(self) -> None:
        """Count one more cell that will train on these bins (see :meth:`_took_rows`)."""
        with self._lock:
            self._pending = 1 if self._pending is None else self._pending + 1

    def _took_rows(self) -> None:
        """A counted LightGBM cell has its own subset: after the last one, the base Dataset
        is freed (a cell that still comes, e.g. a retry, rebuilds the same bins)."""
        with self._lock:
            if self._pending is None:
                return
            self._pending -= 1
            if self._pending <= 0:
                self._base, self._pending = None, None

    def remapped(self, rows: np.ndarray) -> FoldBins:
        """The same bins over a matrix holding only ``rows`` (sorted) of the original."""
        return FoldBins(self.family, np.searchsorted(rows, self.base_rows), self.params)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions of ``rows`` (a subset of the base rows) within the base."""
        return np.searchsorted(self.base_rows, rows).astype(np.int32)

    def base(self, X: np.ndarray) -> Any:
        """The constructed LightGBM ``Dataset`` / XGBoost ``QuantileDMatrix``."""
        with self._lock:
            if self._base is None:
                self._base = self._build(X)
            return self._base

    def _build(self, X: np.ndarray, ref: Any = None) -> Any:
        n = len(self.base_rows)
        if self.family == "lightgbm":
            held = max(_sample_bytes(n, X.shape[1], self.params), n * X.shape[1])
            with _one_at_a_time(held):
                return binned_dataset(
                    X, self.base_rows, self.params, label=np.zeros(n, dtype=np.float32)
                )
        import xgboost as xgb

        return xgb.QuantileDMatrix(
            X[self.base_rows],  # freed once binned
            label=np.zeros(n, dtype=np.float32),
            ref=ref,
            max_bin=int(self.params.get("max_bin", 256)),
            nthread=int(self.params.get("nthread", 1)),
        )

    def train(
        self,
        X: np.ndarray,
        rows: np.ndarray,
        y: np.ndarray,
        native: Mapping[str, Any],
        num_boost_round: int,
    ) -> Any:
        """Train a booster on ``rows`` (positions into ``X``, a subset of the base rows).

        Returns
        -------
        lightgbm.Booster or xgboost.Booster
        """
        return self.train_scored(X, rows, y, native, num_boost_round)[0]

    def train_scored(
        self,
        X: np.ndarray,
        rows: np.ndarray,
        y: np.ndarray,
        native: Mapping[str, Any],
        num_boost_round: int,
        test_rows: np.ndarray | None = None,
        weight: np.ndarray | None = None,
    ) -> tuple[Any, np.ndarray | None]:
        """:meth:`train`, and the score matrix of ``test_rows`` where it comes cheaper.

        ``weight``: sample weights of ``rows`` (None: unweighted).

        LightGBM keeps the scores of a validation set up to date round by round, on the
        set's bins (each new tree adds its leaf values), as it does for its training
        rows: for the fold's test rows that gives the values ``booster.predict`` would,
        at a fraction of its cost, without changing a single tree (no metric, no early
        stopping: the rounds are run here, as ``lgb.train`` runs them).

        Returns
        -------
        booster : lightgbm.Booster or xgboost.Booster
        scores : ndarray of shape (len(test_rows), n_outputs) or None
            ``None`` when ``test_rows`` is None or empty, or for XGBoost (whose
            prediction is already cheap).
        """
        positions = self.positions(rows)
        if self.family == "lightgbm":
            with _LARGE_CELLS.admit(self._footprint(X), budget=_feature_bytes(X)):
                return self._train_lightgbm(
                    X, positions, y, native, num_boost_round, test_rows, weight
                )
        # Base rows outside ``rows`` (purged for this horizon, or unlabelled) get weight
        # 0, so the fold's binned matrix is reused as is: no re-binning.
        n_base = len(self.base_rows)
        label = np.zeros(n_base, dtype=np.float32)
        label[positions] = y
        row_weight = np.zeros(n_base, dtype=np.float32)
        row_weight[positions] = 1.0 if weight is None else weight
        dtrain = self._acquire(X)
        try:
            dtrain.set_label(label)
            dtrain.set_weight(row_weight)
            return xgboost_train(dict(native), dtrain, num_boost_round), None
        finally:
            self._release(dtrain)

    def _footprint(self, X: Any) -> int:
        """About the most a LightGBM cell of this fold holds at once: the binning sample
        (as doubles) and the base bins, or the base bins and the cell's subset of them."""
        n, p = len(self.base_rows), X.shape[1]
        return _sample_rows(n, self.params) * p * 8 + 2 * n * p

    def _train_lightgbm(
        self,
        X: np.ndarray,
        positions: np.ndarray,
        y: np.ndarray,
        native: Mapping[str, Any],
        num_boost_round: int,
        test_rows: np.ndarray | None,
        weight: np.ndarray | None = None,
    ) -> tuple[Any, np.ndarray | None]:
        import lightgbm as lgb

        base = self.base(X)
        with _one_at_a_time(len(positions) * X.shape[1]):
            sub = base.subset([], params=dict(self.params))
            # the rows as they are (ascending int32, what LightGBM reads): ``subset(rows)``
            # would first make them a sorted Python list, about 36 bytes a row
            sub.used_indices = positions
            sub.construct()
        del base
        # Once constructed, the subset only needs its own bins. LightGBM would keep its
        # rows and the base (as ``reference``) for the Dataset's life; the reference
        # alone would hold the fold's base bins until this cell ends, whatever
        # :meth:`_took_rows` frees.
        sub.used_indices = None
        sub.reference = None
        self._took_rows()
        sub.set_label(y)
        if weight is not None:
            sub.set_weight(np.asarray(weight, dtype=np.float32))
        n_test = 0 if test_rows is None else len(test_rows)
        large_test = n_test * X.shape[1] > _LARGE_TEST_BYTES
        if not n_test or large_test:
            # keep_training_booster: the booster is used as is, skipping lgb.train's
            # model-to-string round trip (same trees, same predictions). Before a large
            # test block is scored, the round trip is worth its cost: it lets the
            # training bins go.
            booster = lgb.train(
                dict(native),
                sub,
                num_boost_round=num_boost_round,
                keep_training_booster=not large_test,
            )
            del sub
            if not n_test:
                return booster, None
            # A large test block: predicted a block of rows at a time, not binned as a
            # validation set held beside the training bins for the whole fit.
            return booster, _predicted_by_block(booster, X, test_rows, native)
        # lgb.train's rounds without its callbacks and evaluation: same booster.
        params = {**native, "num_iterations": int(num_boost_round)}
        valid = lgb.Dataset(
            valid_rows(X, test_rows), reference=sub, params=dict(self.params)
        ).construct()
        booster = lgb.Booster(params=params, train_set=sub)
        booster.add_valid(valid, "test")
        for _ in range(int(num_boost_round)):
            booster.update()
        return booster, _lightgbm_valid_scores(booster, len(test_rows))

    def _acquire(self, X: np.ndarray) -> Any:
        """A binned XGBoost matrix of this fold that no other thread is using."""
        base = self.base(X)
        with self._lock:
            if self._free:
                return self._free.pop()
            if not self._base_taken:
                self._base_taken = True
                return base
        return self._build(X, ref=base)  # a copy that reuses the base's quantile cuts

    def _release(self, matrix: Any) -> None:
        with self._lock:
            self._free.append(matrix)
