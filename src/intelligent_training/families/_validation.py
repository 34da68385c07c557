"""Parameter names of a model family: unknown names are errors, before any work starts.

A family's valid parameters are those of the estimator classes it builds (their
``get_params()``; the classes import no optional dependency), plus ``random_state``
and ``n_jobs`` (which every family takes through :func:`make_estimator`), plus, for the
boosting libraries, their native parameters: LightGBM's own parameter and alias table,
and for XGBoost the names XGBoost itself reports as used.
"""

from __future__ import annotations

import difflib
import functools
import re
import warnings
from collections.abc import Mapping
from typing import Any

from intelligent_training.exceptions import FamilyError

#: Parameters every family accepts in its overrides (they go to ``make_estimator``).
RUNTIME_PARAMS = frozenset({"random_state", "n_jobs"})
_LIST_AT_MOST = 40


@functools.lru_cache(maxsize=64)
def _estimator_param_names(name: str, task: str | None) -> frozenset[str]:
    from intelligent_training.families._registry import get_family

    names: set[str] = set()
    for cls in get_family(name).estimator_classes(task):
        names.update(cls().get_params(deep=False))
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def _lightgbm_native_names() -> frozenset[str]:
    try:
        from lightgbm.basic import _ConfigAliases

        table = _ConfigAliases._get_all_param_aliases()
    except Exception:  # pragma: no cover - an older/newer LightGBM without the table
        return frozenset()
    return frozenset({key for key in table} | {a for aliases in table.values() for a in aliases})


_XGB_UNUSED = re.compile(r"Parameters:\s*\{(?P<names>[^}]*)\}\s*(?:are|is) not used")


def _xgboost_unused(extra: frozenset[str], task: str | None) -> frozenset[str]:
    """Those of ``extra`` (names outside the wrapper's signature) XGBoost does not use."""
    import numpy as np
    import xgboost as xgb

    objective = {"binary": "binary:logistic", "multiclass": "multi:softprob"}.get(
        task or "regression", "reg:squarederror"
    )
    params: dict[str, Any] = {"objective": objective, "verbosity": 1, "nthread": 1}
    if task == "multiclass":
        params["num_class"] = 3
    params.update(dict.fromkeys(extra, 1))
    labels = np.array([0.0, 1.0, 2.0, 0.0] if task == "multiclass" else [0.0, 1.0, 0.0, 1.0])
    dmatrix = xgb.DMatrix(np.zeros((4, 1)), label=labels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            xgb.train(params, dmatrix, num_boost_round=1)
        except xgb.core.XGBoostError:
            return frozenset()  # a value XGBoost rejects: it knows the name
    unused: set[str] = set()
    for warning in caught:
        match = _XGB_UNUSED.search(str(warning.message))
        if match:
            unused.update(n.strip().strip('"') for n in match.group("names").split(","))
    return frozenset(unused & extra)


def _unknown_names(name: str, keys: set[str], task: str | None) -> list[str]:
    known = _estimator_param_names(name, task) | RUNTIME_PARAMS
    unknown = keys - known
    if unknown and name == "lightgbm":
        unknown -= _lightgbm_native_names()
    if unknown and name == "xgboost":
        unknown = set(_xgboost_unused(frozenset(unknown), task))
    return sorted(unknown)


def _message(name: str, unknown: list[str], task: str | None) -> str:
    valid = sorted(_estimator_param_names(name, task) | RUNTIME_PARAMS)
    if name == "lightgbm":
        valid = sorted(set(valid) | _lightgbm_native_names())
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=3, cutoff=0.7)
        if close:
            hints.append(f"{key!r} (did you mean {' or '.join(repr(c) for c in close)}?)")
        else:
            hints.append(repr(key))
    noun = "parameter" if len(unknown) == 1 else "parameters"
    where = f"model family {name!r}" + (f" ({task})" if task else "")
    if len(valid) <= _LIST_AT_MOST:
        listing = f"valid parameters: {', '.join(valid)}"
    else:
        listing = "see the family's estimator documentation for its parameters"
    return f"Unknown {noun} {', '.join(hints)} for {where}; {listing}."


def validate_family_params(
    name: str, params: Mapping[str, Any] | None, task: str | None = None
) -> None:
    """Check that every key of ``params`` is a parameter of family ``name``.

    Parameters
    ----------
    name : str
        Registered family name.
    params : mapping or None
        Parameter overrides (``None`` or empty: nothing to check).
    task : {"regression", "binary", "multiclass"} or None
        Check against the estimator built for this task; ``None`` accepts a
        parameter of any of the family's estimators.

    Raises
    ------
    FamilyError
        An unknown family, ``params`` not a mapping, or unknown parameter names; the
        message names each unknown parameter, the family, and close matches.

    Examples
    --------
    >>> from intelligent_training.families import validate_family_params
    >>> validate_family_params("linear", {"alpha": 2.0})
    >>> validate_family_params("linear", {"alpah": 2.0})
    Traceback (most recent call last):
    ...
    intelligent_training.exceptions.FamilyError: Unknown parameter 'alpah' (did you mean 'alpha'?) for model family 'linear'; valid parameters: alpha, max_iter, n_jobs, random_state.
    """
    from intelligent_training.families._registry import get_family

    spec = get_family(name)
    if params is None:
        return
    if not isinstance(params, Mapping):
        raise FamilyError(
            f"Parameters of family {name!r} must be a mapping of name -> value, "
            f"got {type(params).__name__}."
        )
    keys = {str(k) for k in params}
    if not keys:
        return
    task = None if task == "multi" else task
    if task is not None and task not in spec.tasks:
        task = None
    try:
        unknown = _unknown_names(name, keys, task)
    except ImportError as exc:  # pragma: no cover - estimator modules import no extra
        from intelligent_training.exceptions import MissingDependencyError

        raise MissingDependencyError(
            f"The parameters of model family {name!r} cannot be checked: {exc}. "
            f"Install it with: {spec.install_hint}"
        ) from exc
    if unknown:
        raise FamilyError(_message(name, unknown, task))
    if name == "meta_learning":
        _validate_stacked(params)


def _validate_stacked(params: Mapping[str, Any]) -> None:
    """The nested ``base_params`` / ``final_params`` of ``meta_learning``."""
    base_params = params.get("base_params") or {}
    if isinstance(base_params, Mapping):
        for family, overrides in base_params.items():
            if isinstance(family, str) and isinstance(overrides, Mapping | type(None)):
                _nested(family, overrides, "base_params")
    final_family = params.get("final_family")
    final_params = params.get("final_params")
    if isinstance(final_family, str) and isinstance(final_params, Mapping):
        _nested(final_family, final_params, "final_params")


def _nested(family: str, overrides: Mapping[str, Any] | None, where: str) -> None:
    try:
        validate_family_params(family, overrides)
    except FamilyError as exc:
        raise FamilyError(f"meta_learning {where}: {exc}") from None
