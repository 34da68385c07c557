"""Permutation scoring of tree boosters that re-walks only what a shuffle can change.

Permutation importance scores ``n_features * n_repeats`` copies of the test rows, each
with one feature shuffled. For an additive tree ensemble most of that work is
redundant: shuffling feature ``j`` can only change the leaf of a (row, tree) pair whose
path in that tree splits on ``j``. So the ensemble is walked once on the test rows,
recording every pair's leaf value and the features on its path; a shuffled copy then
re-walks only the pairs whose path holds ``j`` and adds the leaf differences to the
base margins. The scores are the booster's own (same trees, same thresholds, same
missing-value rules, same link), only computed with a fraction of the tree visits.

The trees come from the family's native model (``NativeModel.forest()``: flat arrays
built from the booster's own dump, see ``families/_tree_walk.py``) and the walk is
compiled with numba (a dependency of shap). Every conversion is
checked against the booster's own scores of the test rows (the constant the booster
adds to every margin is read off them through the inverse link); a model this module
does not reproduce (categorical or zero-as-missing splits, linear trees, other links,
numba missing) gives ``None`` and the caller scores the copies with the booster.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

__all__ = ["TreePermuter"]

logger = logging.getLogger(__name__)

_MAX_MASK_FEATURES = 64  # path masks are one uint64 per (row, tree)


def _kernels() -> tuple[Any, Any] | None:
    try:
        import numba
    except ImportError:  # pragma: no cover - numba comes with shap
        return None

    @numba.njit(cache=True, nogil=True)
    def walk_base(X, feat, thr, left, right, nan_left, value, roots, tree_class, k):  # type: ignore[no-untyped-def]
        n, n_trees = X.shape[0], roots.shape[0]
        margin = np.zeros((n, k))
        leaf = np.empty((n_trees, n))  # tree-major: the walks below read rows in order
        mask = np.zeros((n_trees, n), dtype=np.uint64)
        for t in range(n_trees):
            c = tree_class[t]
            for i in range(n):
                node = roots[t]
                bits = np.uint64(0)
                while feat[node] >= 0:
                    f = feat[node]
                    bits |= np.uint64(1) << np.uint64(f % 64)
                    x = np.float64(X[i, f])
                    if x != x:
                        go_left = nan_left[node] == 1
                    else:
                        go_left = x <= thr[node]
                    node = left[node] if go_left else right[node]
                leaf[t, i] = value[node]
                mask[t, i] = bits
                margin[i, c] += value[node]
        return margin, leaf, mask

    @numba.njit(cache=True, nogil=True)
    def walk_shuffled(
        X,
        j,
        source,
        trees,
        feat,
        thr,
        left,
        right,
        nan_left,
        value,
        roots,
        tree_class,
        base,
        leaf,
        mask,
    ):  # type: ignore[no-untyped-def]
        out = base.copy()
        bit = np.uint64(1) << np.uint64(j % 64)
        for ti in range(trees.shape[0]):
            t = trees[ti]
            c = tree_class[t]
            for i in range(X.shape[0]):
                if mask[t, i] & bit == 0:
                    continue
                node = roots[t]
                while feat[node] >= 0:
                    f = feat[node]
                    x = np.float64(X[source[i], j] if f == j else X[i, f])
                    if x != x:
                        go_left = nan_left[node] == 1
                    else:
                        go_left = x <= thr[node]
                    node = left[node] if go_left else right[node]
                out[i, c] += value[node] - leaf[t, i]
        return out

    return walk_base, walk_shuffled


_KERNELS: tuple[Any, Any] | None | bool = False


def _get_kernels() -> tuple[Any, Any] | None:
    global _KERNELS
    if _KERNELS is False:
        _KERNELS = _kernels()
    return _KERNELS  # type: ignore[return-value]


def _offset(margin: np.ndarray, scores: np.ndarray, task: str) -> np.ndarray:
    """The constant per output that the booster adds to the trees' margins."""
    if task == "regression":
        return (scores - margin).mean(axis=0)  # type: ignore[no-any-return]
    inner = (scores > 1e-9) & (scores < 1.0 - 1e-9)
    rows = inner.all(axis=1)
    if not rows.any():
        return np.zeros(margin.shape[1])
    p = scores[rows]
    raw = np.log(p / (1.0 - p)) if task == "binary" else np.log(p)  # softmax: up to a constant
    return (raw - margin[rows]).mean(axis=0)  # type: ignore[no-any-return]


def _link(margin: np.ndarray, task: str) -> np.ndarray:
    """Scores of a margin: identity (regression), sigmoid (binary), softmax."""
    if task == "binary":
        return 1.0 / (1.0 + np.exp(-margin))  # type: ignore[no-any-return]
    if task == "multiclass":
        shifted = np.exp(margin - margin.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]
    return margin


class TreePermuter:
    """Scores of shuffled copies of one set of test rows through a tree booster.

    Build it with :meth:`build` (``None`` when the booster cannot be reproduced).
    """

    def __init__(
        self,
        forest: Any,
        X: np.ndarray,
        base: np.ndarray,
        leaf: np.ndarray,
        mask: np.ndarray,
        task: str,
    ) -> None:
        self.forest = forest
        self.X = X
        self.base = base
        self.leaf = leaf
        self.mask = mask
        self.task = task
        self._trees: dict[int, np.ndarray] = {}

    @classmethod
    def build(cls, model: Any, X: np.ndarray, native_scores: np.ndarray) -> TreePermuter | None:
        """Walk ``model``'s trees on ``X`` once; check against the booster's own scores."""
        if X.shape[1] > _MAX_MASK_FEATURES:
            return None
        kernels = _get_kernels()
        forest = model.forest() if kernels is not None else None
        if forest is None or kernels is None:
            return None
        X = np.ascontiguousarray(X, dtype=np.float32)
        f = forest
        margin, leaf, mask = kernels[0](
            X,
            f.feat,
            f.thr,
            f.left,
            f.right,
            f.nan_left,
            f.value,
            f.roots,
            f.tree_class,
            f.n_outputs,
        )
        if native_scores.shape != margin.shape:
            return None
        # The boosters add a constant (base score, boost_from_average) to every margin.
        margin = margin + _offset(margin, native_scores, model.task)
        scores = _link(margin, model.task)
        scale = 1e-6 * (1.0 + np.abs(native_scores).max())
        if not np.allclose(scores, native_scores, rtol=1e-5, atol=scale):
            logger.debug("tree walk does not reproduce the %s scores; not used", type(model))
            return None  # e.g. another link (a custom objective): score with the booster
        return cls(forest, X, margin, leaf, mask, model.task)

    def _trees_using(self, j: int) -> np.ndarray:
        if j not in self._trees:
            f = self.forest
            hit = f.feat == j
            owner = np.searchsorted(f.roots, np.flatnonzero(hit), side="right") - 1
            self._trees[j] = np.unique(owner).astype(np.int64)
        return self._trees[j]

    def scores(self, j: int, source: np.ndarray) -> np.ndarray:
        """Score matrix of the test rows with feature ``j`` taken from rows ``source``."""
        kernels = _get_kernels()
        assert kernels is not None
        f = self.forest
        margin = kernels[1](
            self.X,
            int(j),
            np.asarray(source, dtype=np.int64),
            self._trees_using(j),
            f.feat,
            f.thr,
            f.left,
            f.right,
            f.nan_left,
            f.value,
            f.roots,
            f.tree_class,
            self.base,
            self.leaf,
            self.mask,
        )
        return _link(margin, self.task)
