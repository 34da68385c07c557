"""Declarative parameter checks: scikit-learn's ``_parameter_constraints``, our errors.

An estimator lists its constraints in ``_parameter_constraints`` (``Interval``,
``StrOptions``, ``"boolean"``, ``None``, ... of :mod:`sklearn.utils._param_validation`,
or a :class:`PositiveSizes`) and calls ``self._validate_params()`` at the start of
``fit``. With :class:`ValidatedParamsMixin` a violation raises
:class:`~intelligent_training.exceptions.ParameterError`, which is both our
``ConfigError`` and scikit-learn's ``InvalidParameterError``, with scikit-learn's
message (it names the parameter, the estimator, the allowed values and the value given).
"""

from __future__ import annotations

import numbers
from typing import Any

from sklearn.utils._param_validation import (
    InvalidParameterError,
    Options,
    validate_parameter_constraints,
)

from intelligent_training.exceptions import ParameterError

__all__ = ["PositiveSizes", "ValidatedParamsMixin"]


class PositiveSizes(Options):
    """A constraint: a sequence of positive ints (layer widths); an int is one layer.

    A predicate, not a set of options: it derives from ``Options`` only because
    scikit-learn's ``make_constraint`` takes its own constraint classes.

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
        super().__init__(object, set())
        self.allow_empty = allow_empty

    def is_satisfied_by(self, val: Any) -> bool:
        if isinstance(val, numbers.Integral) and not isinstance(val, bool):
            return int(val) >= 1
        if isinstance(val, str | bytes) or not hasattr(val, "__iter__"):
            return False
        items = list(val)
        if not items and not self.allow_empty:
            return False
        return all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= 1
            for v in items
        )

    def __str__(self) -> str:
        return "a list of positive layer sizes" + ("" if self.allow_empty else " (not empty)")


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
