"""Sample weights for overlapping labels: the average uniqueness of each row's label.

A label over ``h`` bars (a forward return from ``t`` to ``t + h``) spans the bars
``t + 1 .. t + h`` of its symbol. Where ``c`` labels of the same symbol span a bar, each
of them owns ``1 / c`` of it; a label's **average uniqueness** is the mean of ``1 / c``
over its span (López de Prado 2018, *Advances in Financial Machine Learning*, ch. 4).
On a complete grid every interior label has uniqueness ``1 / h``; labels next to the
ends of a symbol's history or to missing labels share their bars with fewer others and
weigh more. Weights are scaled to mean 1 over the labelled rows, so that a model's
regularisation (minimum leaf weight, L2 on leaf values) sees the same total weight as
an unweighted fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["average_uniqueness"]


def average_uniqueness(
    time_codes: Any, symbol_codes: Any, labelled: Any, horizon_bars: int
) -> np.ndarray:
    """Average uniqueness of every labelled row's label span, scaled to mean 1.

    Parameters
    ----------
    time_codes : array-like of int, shape (n_rows,)
        Bar number of every row on the timestamp grid (0 = first bar).
    symbol_codes : array-like of int, shape (n_rows,)
        Symbol of every row (0 .. n_symbols - 1); concurrency is counted per symbol.
    labelled : array-like of bool, shape (n_rows,)
        Rows whose label is known (only they count, and only they get a weight).
    horizon_bars : int
        Bars a label spans (0 and 1: one bar, the row's own; every label is unique on
        a grid with one row per symbol and bar).

    Returns
    -------
    ndarray of float64, shape (n_rows,)
        The weight of every labelled row (mean 1 over them); NaN for unlabelled rows.

    Examples
    --------
    >>> w = average_uniqueness([0, 1, 2, 3, 4, 5], [0] * 6, [True] * 5 + [False], 2)
    >>> (w * 2.4).round(2).tolist()[:5]  # raw uniqueness 3/4, 1/2, 1/2, 1/2, 3/4 (mean 0.6)
    [3.0, 2.0, 2.0, 2.0, 3.0]
    """
    t = np.asarray(time_codes, dtype=np.int64)
    s = np.asarray(symbol_codes, dtype=np.int64)
    ok = np.asarray(labelled, dtype=bool)
    out = np.full(len(t), np.nan)
    if not ok.any():
        return out
    h = max(int(horizon_bars), 1)
    width = int(t.max()) + h + 2  # bars 0 .. max + h, and one past for the differences
    key = s[ok] * width + t[ok]
    # Concurrency per (symbol, bar): +1 at the first bar of a span (t + 1), -1 past its
    # last (t + h + 1); a cumulative sum within each symbol's row of bars.
    steps = np.zeros(int(s.max()) * width + width + 1, dtype=np.int64)
    np.add.at(steps, key + 1, 1)
    np.add.at(steps, key + h + 1, -1)
    concurrency = np.cumsum(steps[:-1].reshape(-1, width), axis=1).reshape(-1)
    with np.errstate(divide="ignore"):
        share = np.where(concurrency > 0, 1.0 / np.maximum(concurrency, 1), 0.0)
    # Mean of 1 / c over the span t + 1 .. t + h: a difference of running sums.
    running = np.concatenate([[0.0], np.cumsum(share)])
    uniqueness = (running[key + h + 1] - running[key + 1]) / h
    out[ok] = uniqueness / uniqueness.mean()
    return out
