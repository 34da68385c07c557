"""Declarative parameter checks: scikit-learn's ``_parameter_constraints``, our errors.

An estimator lists its constraints in ``_parameter_constraints`` (``Interval``,
``StrOptions``, ``HasMethods``, ``"boolean"``, ``"verbose"``, ``None``, a type, ... of
:mod:`sklearn.utils._param_validation`, or one of the constraints below) and calls
``self._validate_params()`` at the start of ``fit``. With :class:`ValidatedParamsMixin`
a violation raises :class:`~intelligent_training.exceptions.ParameterError`, which is
both our ``ConfigError`` and scikit-learn's ``InvalidParameterError``, with
scikit-learn's message: it names the parameter, the estimator, what is valid and the
value given, e.g. ``The 'top_n' parameter of TargetRanker must be an int in the range
[1, inf) or None. Got 0 instead.``

The constraints the four stages share (``families``, ``cv``, ``n_jobs``,
``random_state``, ``verbose``, ``memory``, ``horizons``, ``default_horizon``) are
defined once, in :data:`STAGE_CONSTRAINTS`; a stage takes those it has with
:func:`stage_constraints` and adds its own::

    _parameter_constraints = stage_constraints(
        "families", "cv", "n_jobs",
        top_n=[POSITIVE_INT, None],
    )

A new parameter gets one more keyword there (``tests/utils/test_param_validation.py`` fails
for a stage parameter without a constraint).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    make_constraint,
    validate_parameter_constraints,
)

from intelligent_training.exceptions import ParameterError

__all__ = [
    "NON_NEGATIVE_INT",
    "POSITIVE_INT",
    "STAGE_CONSTRAINTS",
    "HorizonLike",
    "MappingOf",
    "PositiveSizes",
    "Predicate",
    "StrictInterval",
    "Subset",
    "ValidatedParamsMixin",
    "stage_constraints",
]


class StrictInterval(Interval):
    """scikit-learn's ``Interval`` without booleans (``True`` is not the int 1 here).

    Examples
    --------
    >>> from numbers import Integral
    >>> positive = StrictInterval(Integral, 1, None, closed="left")
    >>> positive.is_satisfied_by(3), positive.is_satisfied_by(True), str(positive)
    (True, False, 'an int in the range [1, inf)')
    """

    def is_satisfied_by(self, val: Any) -> bool:
        if isinstance(val, bool | np.bool_):
            return False
        return bool(super().is_satisfied_by(val))


#: An int >= 1 (not a bool).
POSITIVE_INT = StrictInterval(Integral, 1, None, closed="left")
#: An int >= 0 (not a bool).
NON_NEGATIVE_INT = StrictInterval(Integral, 0, None, closed="left")


class _Described(Options):
    """Base of the predicate constraints below.

    A predicate, not a set of options: it derives from ``Options`` only because
    scikit-learn's ``make_constraint`` takes its own constraint classes.
    """

    def __init__(self) -> None:
        super().__init__(object, set())

    def is_satisfied_by(self, val: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _is_int(val: Any) -> bool:
    return isinstance(val, numbers.Integral) and not isinstance(val, bool | np.bool_)


class PositiveSizes(_Described):
    """A constraint: a sequence of positive ints (layer widths); an int is one layer.

    Parameters
    ----------
    allow_empty : bool, default=True
        Whether an empty sequence (no hidden layer) is allowed.

    Examples
    --------
    >>> PositiveSizes().is_satisfied_by((64, 32)), PositiveSizes().is_satisfied_by([0])
    (True, False)
    """

    def __init__(self, *, allow_empty: bool = True) -> None:
        super().__init__()
        self.allow_empty = allow_empty

    def is_satisfied_by(self, val: Any) -> bool:
        if _is_int(val):
            return int(val) >= 1
        if isinstance(val, str | bytes) or not hasattr(val, "__iter__"):
            return False
        items = list(val)
        if not items and not self.allow_empty:
            return False
        return all(_is_int(v) and int(v) >= 1 for v in items)

    def __str__(self) -> str:
        return "a list of positive layer sizes" + ("" if self.allow_empty else " (not empty)")


class Subset(_Described):
    """A constraint: one of ``options``, or a non-empty list/tuple of distinct ones.

    Parameters
    ----------
    options : iterable of str

    Examples
    --------
    >>> methods = Subset(["native", "shap"])
    >>> [methods.is_satisfied_by(v) for v in ("shap", ("native", "shap"), (), ["gain"])]
    [True, True, False, False]
    >>> str(methods)
    "one of {'native', 'shap'} or a non-empty list of distinct ones"
    """

    def __init__(self, options: Iterable[str]) -> None:
        super().__init__()
        self.choices = tuple(options)

    def is_satisfied_by(self, val: Any) -> bool:
        if isinstance(val, str):
            return val in self.choices
        if not isinstance(val, list | tuple):
            return False
        return (
            bool(val)
            and all(isinstance(v, str) and v in self.choices for v in val)
            and len(set(val)) == len(val)
        )

    def __str__(self) -> str:
        listed = ", ".join(repr(c) for c in self.choices)
        return f"one of {{{listed}}} or a non-empty list of distinct ones"


class MappingOf(_Described):
    """A constraint: a mapping with string keys whose values meet ``values``.

    Parameters
    ----------
    values : list of constraints
        A value is valid when it meets one of them (as a parameter's list).
    keys : iterable of str or None, default=None
        The allowed keys (``None``: any string).
    description : str
        What the message calls it (e.g. ``"a dict {target: horizon}"``).

    Examples
    --------
    >>> limits = MappingOf([POSITIVE_INT, None], keys=("ranking",), description="a dict")
    >>> limits.is_satisfied_by({"ranking": 5}), limits.is_satisfied_by({"rank": 5})
    (True, False)
    """

    def __init__(
        self, values: list[Any], *, keys: Iterable[str] | None = None, description: str
    ) -> None:
        super().__init__()
        self.values = [make_constraint(c) for c in values]
        self.keys = None if keys is None else frozenset(keys)
        self.description = description

    def is_satisfied_by(self, val: Any) -> bool:
        if not isinstance(val, Mapping):
            return False
        for key, value in val.items():
            if not isinstance(key, str) or (self.keys is not None and key not in self.keys):
                return False
            if not any(c.is_satisfied_by(value) for c in self.values):
                return False
        return True

    def __str__(self) -> str:
        return self.description


class HorizonLike(_Described):
    """A constraint: a label horizon, bars (an int >= 0, ``"3b"``) or a duration.

    Strings are parsed as the target contract parses them
    (:func:`~intelligent_training.data.resolve_horizons`), so an unreadable horizon is
    a parameter error at the start of ``fit``.

    Examples
    --------
    >>> [HorizonLike().is_satisfied_by(v) for v in (3, "15min", "3b", -1, "soon", True)]
    [True, True, True, False, False, False]
    """

    def is_satisfied_by(self, val: Any) -> bool:
        from intelligent_training.data._horizon import _as_horizon
        from intelligent_training.exceptions import ConfigError

        try:
            _as_horizon(val, "horizon")
        except (ConfigError, TypeError, ValueError):
            return False
        return True

    def __str__(self) -> str:
        return "a horizon (bars as an int >= 0 or '3b', or a duration such as '15min')"


class Predicate(_Described):
    """A constraint given by a test and the words that describe it.

    Parameters
    ----------
    test : callable
        ``test(value) -> bool``.
    description : str
        What the message calls a valid value.

    Examples
    --------
    >>> names = Predicate(lambda v: isinstance(v, list), "a list of names")
    >>> names.is_satisfied_by(["a"]), str(names)
    (True, 'a list of names')
    """

    def __init__(self, test: Callable[[Any], bool], description: str) -> None:
        super().__init__()
        self.test = test
        self.description = description

    def is_satisfied_by(self, val: Any) -> bool:
        return bool(self.test(val))

    def __str__(self) -> str:
        return self.description


def _is_families(val: Any) -> bool:
    if isinstance(val, str):
        return True
    if isinstance(val, list | tuple):
        return all(isinstance(v, str) for v in val)
    if isinstance(val, Mapping):
        return all(
            isinstance(k, str) and (v is None or isinstance(v, Mapping)) for k, v in val.items()
        )
    return False


def _is_memory(val: Any) -> bool:
    return isinstance(val, str | os.PathLike) or callable(getattr(val, "cache", None))


def _is_splitter(val: Any) -> bool:
    return not isinstance(val, str | bytes) and callable(getattr(val, "split", None))


#: The constraints of the parameters the stages share: one definition for all four.
STAGE_CONSTRAINTS: dict[str, list[Any]] = {
    "families": [
        Predicate(
            _is_families,
            "a family name, a list of family names or a dict {family: {parameter: value}}",
        ),
        None,
    ],
    "cv": [
        StrictInterval(Integral, 2, None, closed="left"),
        Predicate(_is_splitter, "a splitter with a split() method (e.g. PurgedTimeSeriesSplit)"),
        None,
    ],
    "n_jobs": [POSITIVE_INT, StrictInterval(Integral, None, -1, closed="right"), None],
    "random_state": [
        StrictInterval(Integral, 0, 2**32 - 1, closed="both"),
        np.random.RandomState,
        None,
    ],
    "verbose": ["verbose", None],
    "memory": [
        Predicate(
            _is_memory,
            "a cache directory (str or path), an object with a cache() method "
            "(joblib.Memory, DiskCacheMemory)",
        ),
        None,
    ],
    "horizons": [
        MappingOf(
            [HorizonLike()],
            description=(
                "a dict {target: horizon} (bars as an int >= 0 or '3b', or a duration "
                "such as '15min')"
            ),
        ),
        None,
    ],
    "default_horizon": [HorizonLike(), None],
    "sample_weight": [StrOptions({"uniqueness"}), None],
}


def stage_constraints(*shared: str, **own: list[Any]) -> dict[str, list[Any]]:
    """The shared constraints named in ``shared`` plus a stage's ``own``.

    Parameters
    ----------
    *shared : str
        Keys of :data:`STAGE_CONSTRAINTS`.
    **own : list
        ``parameter=[constraint, ...]``.

    Examples
    --------
    >>> sorted(stage_constraints("cv", "n_jobs", top_n=[POSITIVE_INT, None]))
    ['cv', 'n_jobs', 'top_n']
    """
    unknown = sorted(set(shared) - set(STAGE_CONSTRAINTS))
    if unknown:
        raise KeyError(f"no shared constraint for {unknown}; known: {sorted(STAGE_CONSTRAINTS)}")
    return {**{name: STAGE_CONSTRAINTS[name] for name in shared}, **own}


class ValidatedParamsMixin:
    """``_validate_params()`` that raises :class:`ParameterError`.

    Put it before ``BaseEstimator`` in the bases; call ``self._validate_params()`` at
    the start of ``fit``.
    """

    _parameter_constraints: dict[str, list[Any]] = {}

    def _validate_params(self) -> None:
        try:
            validate_parameter_constraints(
                self._parameter_constraints,
                self.get_params(deep=False),  # type: ignore[attr-defined]
                caller_name=type(self).__name__,
            )
        except InvalidParameterError as exc:
            raise ParameterError(str(exc)) from None
