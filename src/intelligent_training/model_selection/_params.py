"""Parameters shared by the splitters: validation of offsets and counts, sklearn protocol.

One copy for every splitter, so that ``horizon="15min"`` or ``embargo="3b"`` means the same
thing everywhere; messages name the splitter (``owner``) that was given the bad value.
"""

from __future__ import annotations

import datetime as dt
import inspect
import numbers
import re
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import SplitError

__all__ = ["Offset", "SplitterParams", "as_count", "as_offset"]

Offset = int | np.timedelta64
_BARS = re.compile(r"^\s*(\d+)\s*(?:b|bar|bars)\s*$", re.IGNORECASE)


def as_offset(value: Any, name: str, owner: str) -> Offset:
    """Validate ``horizon``/``embargo``: an ``int`` of bars or a ``timedelta64``.

    Parameters
    ----------
    value : int, str, timedelta or Timedelta
        ``3``, ``"3b"`` (bars) or ``"15min"``, ``pd.Timedelta("1h")`` (durations).
    name : str
        Parameter name, for the message.
    owner : str
        Splitter class name, for the message.

    Returns
    -------
    int or numpy.timedelta64
        Bars, or the duration.
    """
    # np.timedelta64 subclasses np.signedinteger: rule it out before counting bars.
    is_delta = isinstance(value, dt.timedelta | np.timedelta64)
    if (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool | np.bool_)
        and not is_delta
    ):
        if value < 0:
            raise SplitError(f"{owner}: {name}={value!r} is negative; use >= 0.")
        return int(value)
    if isinstance(value, str) and (match := _BARS.match(value)):
        return int(match.group(1))
    if isinstance(value, str) or is_delta:
        try:
            delta = pd.Timedelta(value)
            valid = not pd.isna(delta)
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise SplitError(
                f"{owner}: {name}={value!r} is not a duration; use an int number "
                "of bars, '3b', or a duration such as '15min' or pd.Timedelta('1h')."
            )
        if delta < pd.Timedelta(0):
            raise SplitError(f"{owner}: {name}={value!r} is negative; use >= 0.")
        return delta.to_timedelta64()
    raise SplitError(
        f"{owner}: {name}={value!r} has type {type(value).__name__}; use an int "
        "number of bars, '3b', or a duration such as '15min' or pd.Timedelta('1h')."
    )


def as_count(
    value: Any, name: str, owner: str, *, allow_none: bool, minimum: int = 1
) -> int | None:
    """Validate an integer parameter ``>= minimum`` (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool | np.bool_)
        or value < minimum
    ):
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        expected = f"{kind} or None" if allow_none else kind
        raise SplitError(f"{owner}: {name}={value!r} is invalid; use {expected}.")
    return int(value)


class SplitterParams:
    """``get_params``/``set_params`` from the ``__init__`` signature (for ``clone``).

    ``__init__`` only stores its arguments; values are validated when ``split`` runs, so
    ``set_params`` cannot bypass validation.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(name for name in signature.parameters if name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this splitter (for ``clone`` and grid searches).

        Parameters
        ----------
        deep : bool, default=True
            Ignored (there are no sub-objects); kept for scikit-learn compatibility.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set parameters; they are validated when ``split`` runs.

        Returns
        -------
        self
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise SplitError(
                    f"{type(self).__name__} has no parameter {name!r}; valid ones: "
                    f"{', '.join(valid)}."
                )
            setattr(self, name, value)
        return self
