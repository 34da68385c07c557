"""LightGBM's fast native trainer: bin a fold once, train every target's booster on it.

The family's :class:`~intelligent_training.families._specs.NativeTrainer` hook
(``FamilySpec.native_trainer``). The feature matrix of a cross-validation fold is the
same for every target; only the label (and, through the per-target purge and missing
labels, a few rows) changes. Binning the features (LightGBM's ``Dataset``
construction) is the expensive, label-independent part, so it is done once per fold
from the fold's *base* rows and reused by every target: each cell trains on a subset of
the base Dataset (a subset copies already-binned rows) with its own label.

**Rows without a copy.** LightGBM bins a ``Dataset`` in two steps: bin boundaries from a
sample of rows (``bin_construct_sample_cnt``, drawn by ``data_random_seed``), then every
row pushed through them. :func:`binned_dataset` gives it the rows of a fold in one of
two ways, which yield the same bins and the same binned rows:

- **row views**: on a C-ordered matrix a fold's rows are a few runs of consecutive
  positions, each a C-contiguous view; LightGBM bins a list of row blocks exactly as
  their concatenation (``LGBM_DatasetCreateFromMats``);
- **pushed**: any other matrix (a DataFrame's column-major block, or the selector's
  ``[X | shadows]`` that is never stored) goes through the steps of
  ``LGBM_DatasetCreateFromMats`` one by one, a block of rows at a time
  (:func:`~intelligent_training.families._lightgbm_capi.pushed_dataset`).

Validation sets use their reference's bins (no sample): views, or a ``lightgbm.Sequence``
of row blocks (:func:`valid_rows`). Every private LightGBM call is in
:mod:`._lightgbm_capi`, behind a version check with a public fallback.

Hyperparameters are the family's resolved parameters mapped onto ``lgb.train``
(:func:`lightgbm_native_params`), so a model here is the one ``make_estimator`` would
fit on the same rows, up to the bin boundaries (which come from the base rows).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from intelligent_training.families._lightgbm_capi import (
    constructed_subset,
    kept_valid_scores,
    pushed_dataset,
)
from intelligent_training.families._lightgbm_layout import with_histogram_layout
from intelligent_training.families._specs import NativeModel, NativeTrainer, check_resolved
from intelligent_training.families._tree_walk import Forest, Unsupported, build_forest

__all__ = [
    "TRAINER",
    "LightGBMModel",
    "LightGBMTrainer",
    "binned_dataset",
    "lightgbm_forest",
    "lightgbm_native_params",
    "row_blocks",
    "row_views",
    "valid_rows",
]

#: More runs than this and LightGBM's per-block overhead outweighs the views.
_MAX_BLOCKS = 4096
#: Rows per block handed to LightGBM by the pushed and sequence paths (bytes of float32).
BLOCK_BYTES = 16 * 2**20
_VALID_BATCH_ROWS = 65_536

# scikit-learn-wrapper-only keys that the native LightGBM API does not take.
_LGB_SKLEARN_ONLY = ("importance_type", "class_weight", "n_estimators", "objective")
_LGB_SEED_KEYS = ("random_state", "seed", "random_seed")
_LGB_THREAD_KEYS = ("n_jobs", "num_threads", "num_thread", "nthread", "nthreads")
#: Leaf-size parameters: they never decide the bins (a fold's bins serve every target,
#: whatever its row count and so its resolved ``"auto"`` leaf size).
_LEAF_KEYS = (
    "min_child_samples",
    "min_data_in_leaf",
    "min_child_weight",
    "min_sum_hessian_in_leaf",
)


def lightgbm_native_params(
    params: Mapping[str, Any],
    task: str,
    n_classes: int,
    *,
    random_state: int | None,
    n_threads: int,
) -> tuple[dict[str, Any], int]:
    """Map ``LGBMRegressor``/``LGBMClassifier`` parameters to ``lgb.train`` ones.

    LightGBM's native API accepts the scikit-learn names as aliases
    (``min_child_samples``, ``subsample``, ``reg_lambda``, ...), so only the
    wrapper-only keys are removed and the objective is made explicit. A seed or thread
    count among ``params`` (any of LightGBM's aliases) wins over ``random_state`` /
    ``n_threads``.

    Returns
    -------
    native : dict
        Parameters for ``lgb.Dataset``/``lgb.train``.
    num_boost_round : int
        ``n_estimators`` (100, the wrapper's default, when absent).
    """
    check_resolved(params)
    native = {k: v for k, v in params.items() if k not in _LGB_SKLEARN_ONLY}
    num_boost_round = int(params.get("n_estimators", 100))
    if task == "regression":
        native["objective"] = params.get("objective") or "regression"
    elif task == "binary":
        native["objective"] = "binary"
    else:
        native["objective"] = "multiclass"
        native["num_class"] = int(n_classes)
    native.setdefault("verbose", -1)
    if random_state is not None and not any(k in params for k in _LGB_SEED_KEYS):
        native["seed"] = int(random_state)
    if not any(k in params for k in _LGB_THREAD_KEYS):
        native["num_threads"] = int(n_threads)
    native["feature_pre_filter"] = False
    return with_histogram_layout(native), num_boost_round


def bin_params(native: Mapping[str, Any]) -> dict[str, Any]:
    """The native parameters that decide a fold's bins (cells with equal ones share bins)."""
    drop = ("objective", "num_class", *_LEAF_KEYS)
    return {k: v for k, v in native.items() if k not in drop}


def row_views(X: Any, rows: np.ndarray) -> list[np.ndarray] | None:
    """``X[rows]`` as C-contiguous views of ``X`` (one per run of rows), or None."""
    rows = np.asarray(rows)
    if not (
        isinstance(X, np.ndarray) and X.ndim == 2 and X.flags["C_CONTIGUOUS"] and len(rows) > 1
    ):
        return None
    step = np.diff(rows)
    breaks = np.flatnonzero(step != 1) + 1
    if len(breaks) >= _MAX_BLOCKS or rows[0] < 0 or (step <= 0).any():
        return None
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(rows)]])
    return [X[rows[a] : rows[b - 1] + 1] for a, b in zip(starts, ends)]


def _column(X: Any, j: int, rows: np.ndarray) -> np.ndarray:
    """Column ``j`` of ``X`` at ``rows``."""
    if isinstance(X, np.ndarray):
        return X[:, j][rows]
    return X.column(j, rows)  # type: ignore[no-any-return]


def binned_dataset(
    X: Any, rows: np.ndarray, params: Mapping[str, Any], *, label: np.ndarray
) -> Any:
    """A constructed ``lightgbm.Dataset`` of ``X[rows]`` (see the module docstring).

    Parameters
    ----------
    X : ndarray or matrix-like
        Float32 features; a matrix-like gives ``X[rows]`` and ``X.column(j, rows)``.
    rows : ndarray of int
        The rows, in order.
    params : mapping
        LightGBM parameters (all of them: a ``seed`` decides the sample).
    label : ndarray
        The Dataset's label.
    """
    import lightgbm as lgb

    views = row_views(X, rows)
    if views is not None:
        ds = lgb.Dataset(views, label=label, params=dict(params), free_raw_data=True)
        return ds.construct()
    return pushed_dataset(
        X, np.asarray(rows), dict(params), label, row_blocks=row_blocks, column=_column
    )


def row_blocks(X: Any, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``X[rows]`` a block at a time: ``(start, block)`` with ``block`` the C-ordered
    float32 rows ``rows[start:start + k]``, about ``BLOCK_BYTES`` each."""
    step = max(1, BLOCK_BYTES // (4 * max(1, X.shape[1])))
    for start in range(0, len(rows), step):
        yield start, np.ascontiguousarray(X[rows[start : start + step]], dtype=np.float32)


def valid_rows(X: Any, rows: np.ndarray) -> Any:
    """The rows of a LightGBM validation set (binned with its reference's bins).

    Views of ``X`` where :func:`row_views` gives them; a small set as the copy
    ``X[rows]``; a large one as a ``lightgbm.Sequence`` that hands LightGBM the rows a
    block at a time (``LGBM_DatasetPushRows``): the same binned rows without a copy of
    all of them.
    """
    views = row_views(X, rows)
    if views is not None:
        return views
    if len(rows) <= _VALID_BATCH_ROWS:
        return X[rows]
    return _row_sequence()(X, rows)


def _row_sequence() -> type:
    import lightgbm as lgb

    global _ROW_SEQUENCE
    if _ROW_SEQUENCE is None:

        class RowSequence(lgb.Sequence):  # type: ignore[misc]
            batch_size = _VALID_BATCH_ROWS

            def __init__(self, X: Any, rows: np.ndarray) -> None:
                self.X, self.rows = X, np.asarray(rows)

            def __getitem__(self, idx: Any) -> np.ndarray:
                return np.ascontiguousarray(self.X[self.rows[idx]])

            def __len__(self) -> int:
                return len(self.rows)

        _ROW_SEQUENCE = RowSequence
    return _ROW_SEQUENCE


_ROW_SEQUENCE: type | None = None


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


def _footprint(n_base: int, n_features: int, params: Mapping[str, Any]) -> int:
    """About the most a LightGBM cell of a fold holds at once: the binning sample (as
    doubles) and the base bins, or the base bins and the cell's subset of them."""
    return _sample_rows(n_base, params) * n_features * 8 + 2 * n_base * n_features


def lightgbm_forest(booster: Any) -> Forest:
    """The trees of a LightGBM booster as flat arrays (from ``dump_model``)."""
    dump = booster.dump_model()
    k = int(dump.get("num_tree_per_iteration", 1))
    trees, classes = [], []
    for i, info in enumerate(dump["tree_info"]):
        nodes: list[tuple[int, float, int, int, int, float]] = []

        def add(node: dict[str, Any], nodes: list[Any] = nodes) -> int:
            at = len(nodes)
            nodes.append(None)
            if "split_feature" not in node:
                nodes[at] = (-1, 0.0, -1, -1, 0, float(node["leaf_value"]))
                return at
            if node.get("decision_type") != "<=" or node.get("missing_type") == "Zero":
                raise Unsupported(f"LightGBM split {node.get('decision_type')!r}")
            threshold = float(node["threshold"])
            if node.get("missing_type") == "NaN":
                nan_goes_left = int(bool(node["default_left"]))
            else:  # "None": LightGBM reads NaN as 0.0
                nan_goes_left = int(0.0 <= threshold)
            lo = add(node["left_child"])
            hi = add(node["right_child"])
            nodes[at] = (int(node["split_feature"]), threshold, lo, hi, nan_goes_left, 0.0)
            return at

        add(info["tree_structure"])
        trees.append(nodes)
        classes.append(i % k)
    return build_forest(trees, classes, k)


class LightGBMModel(NativeModel):
    """A trained ``lightgbm.Booster`` through the engine's interface."""

    def __init__(
        self, booster: Any, task: str, n_classes: int, n_features: int, n_threads: int
    ) -> None:
        self.booster = booster
        self.task = task
        self.n_classes = n_classes
        self.n_features = n_features
        self.n_threads = n_threads
        self.test_scores: np.ndarray | None = None

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Score matrix ``(n, k)``: prediction, P(class 1), or class probabilities."""
        raw = np.asarray(self.booster.predict(X, num_threads=self.n_threads), dtype=np.float64)
        return raw.reshape(len(raw), -1)

    def native_importance(self) -> np.ndarray:
        """Total gain per feature."""
        return np.asarray(self.booster.feature_importance(importance_type="gain"), float)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP values ``(n, n_features, n_outputs)`` (``pred_contrib``)."""
        p = self.n_features
        raw = np.asarray(self.booster.predict(X, pred_contrib=True, num_threads=self.n_threads))
        k = raw.shape[1] // (p + 1)
        values = raw.reshape(len(X), k, p + 1)[:, :, :p]
        return values.transpose(0, 2, 1)  # type: ignore[no-any-return]

    def forest(self) -> Any:
        """The trees as flat arrays (None for splits the walk does not reproduce)."""
        try:
            return lightgbm_forest(self.booster)
        except (Unsupported, KeyError, ValueError, TypeError):
            return None


class LightGBMTrainer(NativeTrainer):
    """The LightGBM family's fast native trainer (see the module docstring)."""

    unsupported = ("class_weight",)  # wrapper features the native path does not reproduce

    def native_params(
        self,
        params: Mapping[str, Any],
        task: str,
        n_classes: int,
        *,
        random_state: int | None,
        n_threads: int,
    ) -> tuple[dict[str, Any], int]:
        return lightgbm_native_params(
            params, task, n_classes, random_state=random_state, n_threads=n_threads
        )

    def bin_params(self, native: Mapping[str, Any]) -> dict[str, Any]:
        return bin_params(native)

    def build(
        self, X: Any, base_rows: np.ndarray, params: Mapping[str, Any], ref: Any = None
    ) -> Any:
        n = len(base_rows)
        held = max(_sample_bytes(n, X.shape[1], params), n * X.shape[1])
        with _one_at_a_time(held):
            return binned_dataset(X, base_rows, params, label=np.zeros(n, dtype=np.float32))

    def train(
        self,
        bins: Any,
        X: Any,
        positions: np.ndarray,
        y: np.ndarray,
        native: Mapping[str, Any],
        num_boost_round: int,
        test_rows: np.ndarray | None = None,
        *,
        task: str,
        n_classes: int,
        weight: np.ndarray | None = None,
    ) -> LightGBMModel:
        """Train on a subset of the fold's base Dataset; keep the test rows' scores.

        LightGBM keeps the scores of a validation set up to date round by round, on the
        set's bins (each new tree adds its leaf values), as it does for its training
        rows: for the fold's test rows that gives the values ``booster.predict`` would,
        at a fraction of its cost, without changing a single tree (no metric, no early
        stopping: the rounds are run here, as ``lgb.train`` runs them). ``weight``: the
        sample weights of ``positions`` (None: unweighted).
        """
        footprint = _footprint(len(bins.base_rows), X.shape[1], bins.params)
        with _LARGE_CELLS.admit(footprint, budget=_feature_bytes(X)):
            booster, scores = self._train(
                bins, X, positions, y, native, num_boost_round, test_rows, weight
            )
        threads = int(native.get("num_threads", 1))
        model = LightGBMModel(booster, task, n_classes, X.shape[1], threads)
        model.test_scores = scores
        return model

    def _train(
        self,
        bins: Any,
        X: Any,
        positions: np.ndarray,
        y: np.ndarray,
        native: Mapping[str, Any],
        num_boost_round: int,
        test_rows: np.ndarray | None,
        weight: np.ndarray | None = None,
    ) -> tuple[Any, np.ndarray | None]:
        import lightgbm as lgb

        base = bins.base(X)
        with _one_at_a_time(len(positions) * X.shape[1]):
            sub = constructed_subset(base, positions, bins.params)
        del base
        bins.took_rows()
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
            valid_rows(X, test_rows), reference=sub, params=dict(bins.params)
        ).construct()
        booster = lgb.Booster(params=params, train_set=sub)
        booster.add_valid(valid, "test")
        for _ in range(int(num_boost_round)):
            booster.update()
        return booster, kept_valid_scores(booster, len(test_rows))


TRAINER = LightGBMTrainer()
