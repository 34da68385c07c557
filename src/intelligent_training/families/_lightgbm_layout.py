"""LightGBM's histogram layout: column-wise unless the user chooses one.

Left to itself (its "auto"), LightGBM times both layouts when a booster starts,
building a row-wise copy of the bins for the test (about 0.8x the bins, held while the
booster starts), and keeps whichever was faster on that run, so the choice depends on
the machine's load. Fixed to column-wise, a fit never holds that copy and is the same
on every run. Either ``force_col_wise`` or ``force_row_wise`` among the user's
parameters wins (both are LightGBM parameters, left as given).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["HISTOGRAM_KEYS", "with_histogram_layout"]

#: The parameters that choose the layout; a user's choice is kept as is.
HISTOGRAM_KEYS = ("force_col_wise", "force_row_wise")


def with_histogram_layout(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with ``force_col_wise=True`` unless they choose a layout themselves.

    Examples
    --------
    >>> with_histogram_layout({"num_leaves": 15})
    {'num_leaves': 15, 'force_col_wise': True}
    >>> with_histogram_layout({"force_row_wise": True})
    {'force_row_wise': True}
    """
    out = dict(params)
    if not any(key in out for key in HISTOGRAM_KEYS):
        out["force_col_wise"] = True
    return out
