"""Horizons parsed from target names (``fwd_ret_15m`` -> 15 minutes, ``y_up_3b`` -> 3 bars)."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from intelligent_training.exceptions import ConfigError, DataWarning

__all__ = ["Horizon", "parse_horizon", "resolve_horizons"]

logger = logging.getLogger(__name__)

#: A horizon: a duration, or a whole number of bars of the timestamp grid.
Horizon = pd.Timedelta | int

_UNITS: dict[str, str | None] = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "m": "min",
    "min": "min",
    "mins": "min",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "d": "D",
    "day": "D",
    "days": "D",
    "w": "W",
    "b": None,  # bars
    "bar": None,
    "bars": None,
}
# A number glued to a unit, delimited by anything that is not a letter, digit or dot
# (so ``f00``, ``0.8`` and ``v2x`` never match; ``_60m_`` does).
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9.])(\d+)("
    + "|".join(sorted(_UNITS, key=len, reverse=True))
    + r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def parse_horizon(name: str) -> Horizon | None:
    """Parse the horizon of a target from its name.

    The first token made of a number and a unit counts: ``5m``/``15min`` (minutes),
    ``2h`` (hours), ``1d`` (days), ``1w`` (weeks), ``30s`` (seconds), ``3b`` (bars).

    Parameters
    ----------
    name : str
        A target name such as ``"fwd_ret_15m"`` or ``"y_will_peak_60m_0.8"``.

    Returns
    -------
    pandas.Timedelta, int or None
        A duration, a number of bars (``int``), or ``None`` when the name has no horizon.

    Examples
    --------
    >>> parse_horizon("y_will_peak_60m_0.8")
    Timedelta('0 days 01:00:00')
    >>> parse_horizon("fwd_ret_3b")
    3
    >>> parse_horizon("target_direction") is None
    True
    """
    match = _TOKEN.search(str(name))
    if match is None:
        return None
    amount, unit = int(match.group(1)), _UNITS[match.group(2).lower()]
    if unit is None:
        return amount
    return pd.Timedelta(amount, unit=unit)  # type: ignore[arg-type]


def _as_horizon(value: object, where: str) -> Horizon:
    """Normalise a user-given horizon (int bars, Timedelta, ``"15min"``, ``"3b"``)."""
    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{where}: a horizon must be bars (int) or a duration, got {value!r}.")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ConfigError(f"{where}: a horizon cannot be negative, got {value!r}.")
        return int(value)
    if isinstance(value, pd.Timedelta):
        result = value
    elif isinstance(value, (np.timedelta64,)) or hasattr(value, "total_seconds"):
        result = pd.Timedelta(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        parsed = parse_horizon(value.strip()) if _TOKEN.fullmatch(value.strip()) else None
        if parsed is not None:
            return parsed
        try:
            result = pd.Timedelta(value)
        except ValueError:
            raise ConfigError(
                f"{where}: cannot read horizon {value!r}; use bars (e.g. 3 or '3b') or a "
                "duration such as '15min', '2h', '1d'."
            ) from None
    else:
        raise ConfigError(f"{where}: a horizon must be bars (int) or a duration, got {value!r}.")
    if result < pd.Timedelta(0):
        raise ConfigError(f"{where}: a horizon cannot be negative, got {value!r}.")
    return result


def resolve_horizons(
    targets: Iterable[str],
    *,
    overrides: Mapping[str, object] | None = None,
    default: object = None,
) -> dict[str, Horizon]:
    """Horizon of every target: parsed from its name, ``overrides`` winning.

    Parameters
    ----------
    targets : iterable of str
        Target names.
    overrides : mapping, optional
        Target -> horizon (bars as ``int`` or ``"3b"``, or a duration such as
        ``"15min"`` / ``pandas.Timedelta``); these win over the names.
    default : int, str or pandas.Timedelta, optional
        Used for names without a horizon token, with a :class:`DataWarning`;
        ``None`` means 0 bars.

    Returns
    -------
    dict of str to pandas.Timedelta or int

    Raises
    ------
    ConfigError
        When an override or the default cannot be read as a horizon.
    """
    names = [str(t) for t in targets]
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        logger.debug("horizon overrides for absent targets ignored: %s", unknown)
    fallback: Horizon = 0 if default is None else _as_horizon(default, "default horizon")
    result: dict[str, Horizon] = {}
    missing: list[str] = []
    for name in names:
        if name in overrides:
            result[name] = _as_horizon(overrides[name], f"horizon override for {name!r}")
            continue
        parsed = parse_horizon(name)
        if parsed is None:
            missing.append(name)
            parsed = fallback
        result[name] = parsed
    if missing:
        warnings.warn(
            f"No horizon in the name of target(s) {missing}; using the default horizon "
            f"{fallback!r}. Name targets like 'fwd_ret_15m' or set a horizon override per "
            "target in the config.",
            DataWarning,
            stacklevel=2,
        )
    return result


def grid_step(timestamps: np.ndarray) -> pd.Timedelta | None:
    """The bar length of a timestamp grid: the median gap between distinct timestamps.

    Parameters
    ----------
    timestamps : ndarray
        The timestamp of every row (datetime64, any order, repeats allowed).

    Returns
    -------
    Timedelta or None
        ``None`` when the grid has fewer than two distinct datetimes (or is not datetime).
    """
    values = np.asarray(timestamps)
    if not np.issubdtype(values.dtype, np.datetime64):
        return None
    distinct = np.sort(pd.unique(values.ravel()))
    if len(distinct) < 2:
        return None
    return pd.Timedelta(np.median(np.diff(distinct)))


def horizon_in_bars(horizon: Horizon | str | None, step: pd.Timedelta | None) -> int:
    """A label horizon as a number of bars of a grid whose bar length is ``step``.

    An ``int`` is already a number of bars. A duration is divided by ``step`` (see
    :func:`grid_step`) and rounded up, so a 15-minute label on a 5-minute grid spans 3
    bars. ``None``, an unparseable value or an unknown/non-positive step gives 0.

    Parameters
    ----------
    horizon : int, Timedelta, str or None
        The horizon (``3``, ``pd.Timedelta("15min")``, ``"15min"``).
    step : Timedelta or None
        The grid's bar length, e.g. ``grid_step(timestamps)``.

    Returns
    -------
    int

    Examples
    --------
    >>> import pandas as pd
    >>> step = pd.Timedelta("5min")
    >>> horizon_in_bars(pd.Timedelta("15min"), step), horizon_in_bars("16min", step)
    (3, 4)
    >>> horizon_in_bars(2, None)
    2
    """
    if isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool):
        return int(horizon)
    if horizon is None or step is None or step <= pd.Timedelta(0):
        return 0
    try:
        delta = pd.Timedelta(horizon)
    except (TypeError, ValueError):
        return 0
    return int(np.ceil(delta / step))
