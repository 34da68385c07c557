"""Leaf-size parameters that scale with the row count: the ``"auto"`` value.

The packaged defaults of the tree families ask for large leaves (``min_child_samples``
100 for LightGBM, ``min_child_weight`` 50 for XGBoost, ``min_samples_leaf`` 50 for the
forests and NGBoost's base trees): market targets are mostly noise, and large leaves
stop a tree from fitting it. On a small training set the same numbers forbid almost
every split, so the packaged value is ``"auto"``, resolved when the model is fit:

    value = min(cap, max(1, n_rows // 10))

where ``cap`` is the large-panel number above and ``n_rows`` the rows one tree is grown
on (the bootstrap sample of a forest, the minibatch of NGBoost). A leaf is never asked
to hold more than a tenth of those rows; from ``10 * cap`` rows on the value is the cap,
so large panels are fit exactly as with the fixed number. An explicit number is used
as given. The value used is stored in the fitted estimator's ``auto_params_``; the
estimator's parameters are never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

AUTO = "auto"
#: A leaf may be asked to hold at most ``1 / ROWS_PER_LEAF_UNIT`` of the rows.
ROWS_PER_LEAF_UNIT = 10


def scaled_leaf_size(cap: float, n_rows: int) -> int | float:
    """The ``"auto"`` value of a leaf-size parameter whose large-panel value is ``cap``.

    Parameters
    ----------
    cap : int or float
        The value used on large training sets.
    n_rows : int
        Rows one tree is grown on.

    Returns
    -------
    int or float
        ``min(cap, max(1, n_rows // 10))``, of the type of ``cap``.

    Examples
    --------
    >>> scaled_leaf_size(100, 200), scaled_leaf_size(100, 50_000)
    (20, 100)
    """
    value = min(cap, max(1, int(n_rows) // ROWS_PER_LEAF_UNIT))
    return type(cap)(value)


def n_rows_of(X: Any) -> int:
    """Number of rows of an array-like (``shape[0]``, else ``len``)."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    if hasattr(X, "__len__"):
        return len(X)
    return int(np.asarray(X).shape[0])


def resolve_auto(
    params: Mapping[str, Any], caps: Mapping[str, float], n_rows: int
) -> dict[str, Any]:
    """The ``"auto"`` entries of ``params`` among ``caps``, resolved for ``n_rows``.

    Returns only the resolved entries (an empty dict when nothing is ``"auto"``).
    """
    return {
        name: scaled_leaf_size(cap, n_rows)
        for name, cap in caps.items()
        if isinstance(params.get(name), str) and params.get(name) == AUTO
    }


class AutoLeafMixin:
    """Resolve ``"auto"`` leaf sizes at fit time into the fitted ``auto_params_``.

    A class lists its parameters and their large-panel caps in ``_auto_caps`` and,
    when a tree sees fewer rows than ``fit`` gets, overrides ``_rows_per_tree``.
    """

    _auto_caps: dict[str, float] = {}

    def _rows_per_tree(self, n_rows: int) -> int:
        return n_rows

    def _resolve_auto(self, X: Any) -> dict[str, Any]:
        params = {name: getattr(self, name, None) for name in self._auto_caps}
        self.auto_params_ = resolve_auto(params, self._auto_caps, self._rows_per_tree(n_rows_of(X)))
        return self.auto_params_

    def _auto_values(self) -> dict[str, Any]:
        """The resolved values of the last fit; the caps before any fit."""
        resolved = self.__dict__.get("auto_params_")
        if resolved is not None:
            return dict(resolved)
        params = {name: getattr(self, name, None) for name in self._auto_caps}
        return resolve_auto(params, self._auto_caps, 10**12)

    def _with_auto_resolved(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` (a library's own parameter dict) with each ``"auto"`` replaced by
        :meth:`_auto_values` (the copy passed to the library, not the estimator's own)."""
        for name in self._auto_caps:
            if params.get(name) == AUTO:
                params[name] = self._auto_values().get(name)
        return params
