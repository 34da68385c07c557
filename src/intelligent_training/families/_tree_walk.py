"""A tree ensemble as flat arrays (:class:`Forest`), built from a booster's own dump.

A family's native model gives its trees this way (``NativeModel.forest``); the engine's
permutation scorer walks them (``evaluation._tree_walk``) without naming a library.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Forest", "Unsupported", "build_forest"]


@dataclass(frozen=True)
class Forest:
    """Flat arrays of a tree ensemble: a node goes left when ``x <= thr`` (or NaN and
    ``nan_left``); leaves have ``feat == -1`` and ``value``."""

    feat: np.ndarray  # int32 (n_nodes,)
    thr: np.ndarray  # float64
    left: np.ndarray  # int32
    right: np.ndarray  # int32
    nan_left: np.ndarray  # uint8
    value: np.ndarray  # float64
    roots: np.ndarray  # int32 (n_trees,)
    tree_class: np.ndarray  # int32 (n_trees,)
    n_outputs: int


class Unsupported(Exception):
    """A model the flat arrays do not reproduce (categorical splits, linear trees...)."""


def build_forest(
    trees: list[list[tuple[int, float, int, int, int, float]]], classes: list[int], k: int
) -> Forest:
    feat: list[int] = []
    thr: list[float] = []
    left: list[int] = []
    right: list[int] = []
    nan_left: list[int] = []
    value: list[float] = []
    roots: list[int] = []
    for nodes in trees:
        offset = len(feat)
        roots.append(offset)
        for f, t, lo, hi, nl, v in nodes:
            feat.append(f)
            thr.append(t)
            left.append(lo + offset if f >= 0 else -1)
            right.append(hi + offset if f >= 0 else -1)
            nan_left.append(nl)
            value.append(v)
    return Forest(
        feat=np.asarray(feat, dtype=np.int32),
        thr=np.asarray(thr, dtype=np.float64),
        left=np.asarray(left, dtype=np.int32),
        right=np.asarray(right, dtype=np.int32),
        nan_left=np.asarray(nan_left, dtype=np.uint8),
        value=np.asarray(value, dtype=np.float64),
        roots=np.asarray(roots, dtype=np.int32),
        tree_class=np.asarray(classes, dtype=np.int32),
        n_outputs=k,
    )
