"""Numbers and labels as ``report.json`` stores them (rounded, JSON-safe)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_flag", "as_number", "as_stamp", "as_text", "horizon_label"]


def as_number(value: Any, digits: int = 6) -> float | int | None:
    """A JSON number rounded to ``digits`` significant digits (None for NaN/inf/None)."""
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if x == 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text and text.lower() != "nan" else None


def as_flag(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def as_stamp(value: Any) -> str | float | None:
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return as_number(value)
    return str(value)


def horizon_label(value: Any, bars: Any) -> str:
    text = as_text(value)
    if text is None:
        return "none"
    try:
        return f"{int(text)} bars"
    except ValueError:
        pass
    try:
        delta = pd.Timedelta(text)
    except (ValueError, TypeError):
        return text
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
