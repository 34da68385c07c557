"""The family registry: names -> specs -> configured, unfitted estimators.

Every model family is registered here by name, including the torch families, without
importing any optional dependency: a spec names its builder by dotted path
(``"package.module:function"``) and the builder is imported only when an estimator is
built. A builder has the signature::

    build_<name>(task: str, params: dict, *, random_state, n_jobs, cpu_only) -> estimator

Default hyperparameters come from the packaged YAML files (see ``_defaults``); user
overrides are merged over them. Unknown parameter names are errors
(:func:`validate_family_params`), raised by :func:`resolve_families` and
:func:`make_estimator` before anything is fit.

Precedence, highest first: the user's family parameters, then the stage's
``random_state`` / ``n_jobs`` (arguments of :func:`make_estimator`), then the packaged
defaults. A ``random_state`` or ``n_jobs`` key in the family parameters therefore wins
over the stage's value (see :func:`split_runtime_params`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from intelligent_training.exceptions import FamilyError, MissingDependencyError
from intelligent_training.families._defaults import default_family_names, default_params
from intelligent_training.families._specs import KINDS, REGISTRY, TASKS, FamilySpec
from intelligent_training.families._validation import (
    RUNTIME_PARAMS,
    _estimator_param_names,
    validate_family_params,
)

__all__ = [
    "KINDS",
    "TASKS",
    "FamilySpec",
    "available_families",
    "family_params",
    "get_family",
    "make_estimator",
    "register_family",
    "resolve_families",
    "split_runtime_params",
    "unregister_family",
]

_KNOWN_TASKS = (*TASKS, "multi")
_REGISTRY = REGISTRY


def available_families(*, installed_only: bool = False) -> list[str]:
    """Names of the registered model families, sorted.

    Parameters
    ----------
    installed_only : bool, default=False
        Only list families whose optional dependency is installed.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from intelligent_training.families import available_families
    >>> "lightgbm" in available_families()
    True
    """
    return sorted(
        name for name, spec in _REGISTRY.items() if not installed_only or spec.is_available()
    )


def register_family(spec: FamilySpec, *, replace: bool = False) -> FamilySpec:
    """Add a model family to the registry (every stage can then use it by name).

    The spec declares what the engine needs to know of the family (its capability
    hooks, see :class:`FamilySpec`); no engine module changes. Its default parameters
    are those of its estimators (the packaged YAML files know only the built-in
    families).

    Parameters
    ----------
    spec : FamilySpec
        With ``builder`` and ``estimators`` as dotted paths.
    replace : bool, default=False
        Replace a family of the same name (else that is an error).

    Returns
    -------
    FamilySpec
        ``spec``.

    Raises
    ------
    FamilyError
        A family of that name exists (and not ``replace``), or the spec is malformed.
    """
    if not isinstance(spec, FamilySpec):
        raise FamilyError(f"register_family takes a FamilySpec, got {type(spec).__name__}.")
    if spec.name in _REGISTRY and not replace:
        raise FamilyError(
            f"A model family named {spec.name!r} is already registered; pass replace=True "
            "or choose another name."
        )
    if not spec.builder or ":" not in spec.builder:
        raise FamilyError(
            f"Family {spec.name!r}: builder must be a dotted path 'module:function', "
            f"got {spec.builder!r}."
        )
    unknown = sorted(set(spec.tasks) - set(_KNOWN_TASKS))
    if unknown:
        raise FamilyError(f"Family {spec.name!r}: unknown tasks {unknown}; use {list(TASKS)}.")
    _REGISTRY[spec.name] = spec
    _estimator_param_names.cache_clear()
    return spec


def unregister_family(name: str) -> None:
    """Remove a family added by :func:`register_family`.

    Raises
    ------
    FamilyError
        ``name`` is not registered.
    """
    get_family(name)
    del _REGISTRY[name]
    _estimator_param_names.cache_clear()


def _unknown_family(name: object) -> FamilyError:
    import difflib

    close = difflib.get_close_matches(str(name), available_families(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return FamilyError(
        f"Unknown model family {name!r}{hint}. "
        f"Available families: {', '.join(available_families())}."
    )


def get_family(name: str) -> FamilySpec:
    """Return the :class:`FamilySpec` registered under ``name``.

    Raises
    ------
    FamilyError
        When ``name`` is not registered; the message lists the registered names.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise _unknown_family(name)
    return _REGISTRY[name]


def _check_task(spec: FamilySpec, task: str) -> None:
    if task not in _KNOWN_TASKS:
        raise FamilyError(
            f"Unknown task {task!r} for family {spec.name!r}; use one of {', '.join(spec.tasks)}."
        )
    if task not in spec.tasks:
        raise FamilyError(
            f"Family {spec.name!r} does not support task {task!r}; it supports "
            f"{', '.join(spec.tasks)}."
        )


def family_params(
    name: str,
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    n_rows: int | None = None,
) -> dict[str, Any]:
    """Merged parameters :func:`make_estimator` would use for ``name`` and ``task``.

    Packaged YAML defaults (common, then per task), then ``params`` on top.

    Parameters
    ----------
    name : str
        Registered family name.
    task : {"regression", "binary", "multiclass"}
    params : mapping, optional
        Overrides.
    n_rows : int, optional
        Rows the model will be fit on: ``"auto"`` leaf sizes are resolved for it (what
        the estimator does at fit time; needed by code that trains through a library's
        native API). ``None`` leaves ``"auto"`` as is.

    Returns
    -------
    dict

    Examples
    --------
    >>> from intelligent_training.families import family_params
    >>> family_params("lightgbm", "regression")["min_child_samples"]
    'auto'
    >>> family_params("lightgbm", "regression", n_rows=300)["min_child_samples"]
    30
    """
    spec = get_family(name)
    _check_task(spec, task)
    if params is not None and not isinstance(params, Mapping):
        raise FamilyError(
            f"Parameters of family {name!r} must be a mapping of name -> value, "
            f"got {type(params).__name__}."
        )
    merged = default_params(name, task)
    merged.update(dict(params or {}))
    if n_rows is not None:
        merged.update(_resolve_auto_for(spec, task, merged, int(n_rows)))
    return merged


def _resolve_auto_for(
    spec: FamilySpec, task: str, params: dict[str, Any], n_rows: int
) -> dict[str, Any]:
    """The ``"auto"`` values the family's estimator would use when fit on ``n_rows``."""
    from intelligent_training.families._row_scaling import resolve_auto

    for cls in spec.estimator_classes(task):
        caps = getattr(cls, "_auto_caps", None)
        if not caps:
            continue
        probe = cls()
        own = probe.get_params(deep=False)
        probe.set_params(**{k: v for k, v in params.items() if k in own})
        return resolve_auto(params, caps, probe._rows_per_tree(n_rows))
    return {}


def split_runtime_params(
    params: Mapping[str, Any], *, random_state: Any = None, n_jobs: int | None = None
) -> tuple[dict[str, Any], Any, int | None]:
    """Apply the precedence rule to a stage's ``random_state`` / ``n_jobs``.

    A ``random_state`` or ``n_jobs`` key in the family parameters wins over the value
    the stage passes; it is removed from the parameters so that no builder receives it
    twice.

    Returns
    -------
    params : dict
        The parameters without ``random_state`` / ``n_jobs``.
    random_state, n_jobs
        The values to use.

    Examples
    --------
    >>> split_runtime_params({"n_jobs": 2, "max_depth": 3}, random_state=0, n_jobs=8)
    ({'max_depth': 3}, 0, 2)
    """
    rest = {k: v for k, v in params.items() if k not in RUNTIME_PARAMS}
    random_state = params.get("random_state", random_state)
    n_jobs = params.get("n_jobs", n_jobs)
    return rest, random_state, n_jobs


def _load_builder(spec: FamilySpec) -> Callable[..., Any]:
    module_name, _, attr = spec.builder.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if spec.requires is not None and not spec.is_available():
            raise MissingDependencyError(
                f"Model family {spec.name!r} needs the optional dependency "
                f"{spec.requires!r}. Install it with: {spec.install_hint}"
            ) from exc
        raise FamilyError(
            f"Model family {spec.name!r} could not be loaded from {module_name!r}: {exc}"
        ) from exc
    builder = getattr(module, attr, None)
    if builder is None:
        raise FamilyError(
            f"Model family {spec.name!r}: {module_name!r} has no builder {attr!r}; "
            "the installation looks incomplete."
        )
    return builder  # type: ignore[no-any-return]


def make_estimator(
    name: str,
    task: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: int | None = None,
    n_jobs: int | None = None,
    cpu_only: bool = False,
    label_horizon: int | None = None,
) -> Any:
    """Build an unfitted sklearn-style estimator of family ``name`` for ``task``.

    Parameters
    ----------
    name : str
        Registered family name (see :func:`available_families`).
    task : {"regression", "binary", "multiclass"}
        The learning task; classifiers are built for ``binary``/``multiclass``.
        ``multi_task`` also takes ``"multi"`` (a DataFrame ``Y`` of mixed columns).
    params : mapping, optional
        Overrides merged over the packaged defaults. Every key must be a parameter of
        the family's estimator (else :class:`FamilyError`).
    random_state : int, optional
        Seed for every source of randomness of the estimator.
    n_jobs : int, optional
        Threads the estimator may use (``None`` means 1, ``-1`` all cores, as in
        scikit-learn).

    Notes
    -----
    Precedence, highest first: ``params`` (the user's family parameters), then the
    ``random_state`` / ``n_jobs`` / ``label_horizon`` arguments (the stage's values),
    then the packaged defaults. So ``params={"random_state": 0}`` with
    ``random_state=5`` seeds the estimator with 0.
    cpu_only : bool, default=False
        Force CPU for families that would use a GPU.
    label_horizon : int, optional
        The target's label horizon in bars. Families that hold data out internally
        (early-stopping slice, stacking folds; see ``FamilySpec.horizon_param``) purge
        that many bars; an explicit value in ``params`` wins.

    Returns
    -------
    estimator
        Unfitted; ``clone``/``get_params``/``set_params`` work.

    Raises
    ------
    FamilyError
        Unknown family, unsupported task or unknown parameter.
    MissingDependencyError
        The family's optional dependency is not installed; names the extra.

    Examples
    --------
    >>> from intelligent_training.families import make_estimator
    >>> est = make_estimator("lightgbm", "regression", {"n_estimators": 50}, random_state=0)
    >>> est.get_params()["n_estimators"]
    50
    """
    spec = get_family(name)
    _check_task(spec, task)
    if not spec.is_available():
        raise MissingDependencyError(
            f"Model family {name!r} needs the optional dependency {spec.requires!r}, "
            f"which is not installed. Install it with: {spec.install_hint}"
        )
    validate_family_params(name, params, task)
    merged = family_params(name, task, params)
    if label_horizon is not None and spec.horizon_param is not None:
        if not (params and spec.horizon_param in params):
            merged[spec.horizon_param] = int(label_horizon)
    merged, random_state, n_jobs = split_runtime_params(
        merged, random_state=random_state, n_jobs=n_jobs
    )
    builder = _load_builder(spec)
    try:
        return builder(task, merged, random_state=random_state, n_jobs=n_jobs, cpu_only=cpu_only)
    except TypeError as exc:
        raise FamilyError(
            f"Model family {name!r} ({task}) rejected its parameters {sorted(merged)}: {exc}. "
            "Check the parameter names in the family overrides."
        ) from exc


def resolve_families(
    families: str | Mapping[str, Mapping[str, Any] | None] | list[str] | tuple[str, ...] | None,
) -> dict[str, dict[str, Any]]:
    """Normalise a ``families=`` argument into ``{name: overrides}``.

    Parameters
    ----------
    families : None, str, list of str or dict
        ``None`` gives the configured default families (``default_families`` in
        ``families/defaults.yaml``); a name or a list of names gives no overrides;
        a dict maps names to parameter overrides (``None`` means none).

    Returns
    -------
    dict
        Family name -> overrides dict (a fresh copy), in the given order.

    Raises
    ------
    FamilyError
        Unknown names (the message lists the registered ones), unknown parameter
        names (:func:`validate_family_params`), wrong types or an empty selection.

    Examples
    --------
    >>> from intelligent_training.families import resolve_families
    >>> resolve_families({"lightgbm": {"n_estimators": 200}, "linear": None})
    {'lightgbm': {'n_estimators': 200}, 'linear': {}}
    """
    if families is None:
        names: list[str] = default_family_names()
        resolved: dict[str, dict[str, Any]] = {name: {} for name in names}
    elif isinstance(families, str):
        resolved = {families: {}}
    elif isinstance(families, Mapping):
        resolved = {}
        for name, overrides in families.items():
            if overrides is not None and not isinstance(overrides, Mapping):
                raise FamilyError(
                    f"Overrides of family {name!r} must be a mapping of parameter -> value "
                    f"(e.g. {{'n_estimators': 200}}), got {type(overrides).__name__}."
                )
            resolved[name] = dict(overrides or {})
    elif isinstance(families, list | tuple):
        resolved = {}
        for name in families:
            resolved.setdefault(name, {})
    else:
        raise FamilyError(
            "families must be None, a family name, a list of names or a dict "
            f"{{name: {{param: value}}}}; got {type(families).__name__}."
        )
    for name, overrides in resolved.items():
        get_family(name)
        validate_family_params(name, overrides)
    if not resolved:
        raise FamilyError(
            f"No model family selected. Available families: {', '.join(available_families())}."
        )
    return resolved
