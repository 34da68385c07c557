"""The report's figures: SVG charts drawn from ``report.json`` data.

Every function takes a part of the report dictionary and returns an ``<svg>`` string
ready to inline in HTML5: no XML prolog, no namespace URLs, text kept as text
(searchable, small), an ``aria-label``, deterministic output. The charts are written by
the small SVG writer of :mod:`._svg` (matplotlib supplies tick locators, colormaps and
font metrics; laying out and drawing a figure through its artists took ~100 ms each).
Margins are computed from the widths of the labels, so nothing is clipped.
:func:`prefix_ids` makes the ids of several figures on one page unique.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap, Normalize, TwoSlopeNorm, to_hex

from intelligent_training.report import _svg as svg
from intelligent_training.report._svg import LABEL_PAD, TICK, Axes, Canvas, line_height, text_width

__all__ = [
    "agreement_figure",
    "family_colors",
    "horizon_figure",
    "importance_figure",
    "leaderboard_figure",
    "prefix_ids",
    "skill_by_fold_figure",
    "skill_over_time_figure",
    "stability_figure",
    "training_figure",
]

_PALETTE = ["#1f6fb2", "#e0712c", "#2a9d5c", "#c2413b", "#7b5ea7", "#8a5a44", "#d16ba5", "#6b6b6b"]
STATUS_COLORS = {
    "selected": "#1f6fb2",
    "not selected": "#9db7cf",
    "no skill": "#c9c9c9",
    "not significant": "#c9c9c9",
    "stopped early": "#c9c9c9",
    "ineligible": "#e3e3e3",
    "leakage": "#c2413b",
    "failed": "#e0712c",
    "given": "#1f6fb2",
}
_BLUES = LinearSegmentedColormap.from_list("it_blues", ["#f7fbff", "#6baed6", "#08306b"])
_DIVERGING = matplotlib.colormaps["RdBu"]
_LH = line_height()
_EDGE = 6.0  # blank border around every figure, points
_X_SPACING = 3 * svg.FONT_SIZE  # least room between two ticks of a horizontal axis


def prefix_ids(svg_text: str, prefix: str) -> str:
    """Prefix every id of ``svg_text`` (and the references to them) so figures can share a page."""
    svg_text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg_text)
    svg_text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg_text)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg_text)


def family_colors(families: Sequence[str]) -> dict[str, str]:
    """One color per family (the ensemble is black), stable for a given order."""
    out = {
        f: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(f for f in families if f != "ensemble")
    }
    out["ensemble"] = "#111111"
    return out


def _nan(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _times(values: Sequence[Any]) -> tuple[np.ndarray, bool]:
    """Positions on the time axis (matplotlib days for timestamps) and whether they are dates."""
    if values and isinstance(values[0], str):
        try:
            with warnings.catch_warnings():  # labels that are not dates fall back to positions
                warnings.simplefilter("ignore", UserWarning)
                stamps = pd.to_datetime(list(values))
        except (ValueError, TypeError):
            return np.arange(len(values), dtype=np.float64), False
        return np.asarray(mdates.date2num(stamps.to_numpy()), dtype=np.float64), True
    return _nan(values), False


def _widest(labels: Sequence[str], size: float = svg.FONT_SIZE) -> float:
    return max((text_width(str(s), size) for s in labels), default=0.0)


def _ticks_left(lo: float, hi: float, length: float) -> tuple[np.ndarray, list[str], float]:
    """Number ticks of a y axis and the width their labels take left of the plot."""
    ticks, labels = svg.number_ticks(lo, hi, length)
    return ticks, labels, _widest(labels) + 2 * TICK


def _legend_entries(labels: Sequence[str], colors: Sequence[str], kind: str) -> list[Any]:
    return [(label, color, kind) for label, color in zip(labels, colors)]


# ------------------------------------------------------------------- figures
def leaderboard_figure(leaderboard: dict[str, Any]) -> str:
    """Horizontal bars of the score of every ranked target, colored by status."""
    rows = [r for r in leaderboard["rows"] if r.get("score") is not None][::-1]
    n = max(len(rows), 1)
    names = [r["target"] for r in rows]
    scores = _nan([r["score"] for r in rows])
    canvas = Canvas(540.0, 72 * (0.8 + 0.24 * n))
    xlim = svg.limits(scores, sticky_zero=True)
    left = _EDGE + _widest(names) + 2 * TICK
    ticks, labels = svg.number_ticks(*xlim, canvas.width - left - 20, spacing=_X_SPACING)
    right = canvas.width - _EDGE - text_width(labels[-1]) / 2
    bottom = canvas.height - _EDGE - 2 * _LH - 2 * TICK - LABEL_PAD
    ax = Axes(canvas, (left, _EDGE, right, bottom), xlim, svg.limits([-0.35, n - 0.65]))
    ax.xticks(ticks, labels)
    for i, (score, row) in enumerate(zip(scores, rows)):
        x0, x1 = sorted((float(ax.x(0.0)), float(ax.x(score))))
        top = float(ax.y(i + 0.35))
        color = STATUS_COLORS.get(row["status"], "#c9c9c9")
        canvas.rect(x0, top, x1 - x0, float(ax.y(i - 0.35)) - top, color)
    ax.vline(0.0, "#333333", 0.8)
    ax.yticks(range(len(rows)), names, grid=False)
    ax.spines()
    ax.xlabel(
        "predictability score (out-of-fold skill over the naive baseline)",
        2 * TICK + _LH + LABEL_PAD / 2,
    )
    statuses = list(dict.fromkeys(r["status"] for r in rows[::-1]))
    entries = [(s, STATUS_COLORS.get(s, "#c9c9c9"), "patch") for s in statuses]
    width, height = svg.legend_size(statuses)
    # lower right, clear of the bars of the lowest scores; lower left when they end there
    zero_on_right = float(ax.x(0.0)) > (left + right) / 2
    x = left + 4 if zero_on_right else right - width - 4
    svg.legend(canvas, x, bottom - height - 4, entries)
    return canvas.to_svg("predictability score of every candidate target")


def skill_over_time_figure(target: str, entry: dict[str, Any], colors: dict[str, str]) -> str:
    """Per-timestamp skill (thin) and its rolling mean (thick) of each family."""
    canvas = Canvas(648.0, 180.0)
    series = []
    is_date = False
    for family, part in entry["families"].items():
        t, is_date = _times(part["t"])
        series.append((family, t, _nan(part["value"]), _nan(part["rolling"]), part["mean"]))
    folds = []
    for fold in entry.get("folds", []):
        (start, end), _ = _times([fold["start"], fold["end"]])
        folds.append((fold["fold"], start, end))
    xs = [s[1] for s in series] + [np.array([f[1], f[2]]) for f in folds]
    ys = [s[2] for s in series] + [s[3] for s in series]
    if entry.get("baseline") is not None:
        ys.append(np.array([entry["baseline"]], dtype=np.float64))
    xlim = svg.limits(np.concatenate(xs) if xs else [])
    ylim = svg.limits(np.concatenate(ys) if ys else [])
    top = _EDGE + line_height(svg.TITLE_SIZE) + 6.0
    bottom = canvas.height - _EDGE - _LH - 2 * TICK - (_LH if is_date else 0.0)
    yticks, ylabels, tick_width = _ticks_left(*ylim, bottom - top)
    left = _EDGE + _LH + LABEL_PAD + tick_width
    right = canvas.width - _EDGE - 10.0
    ax = Axes(canvas, (left, top, right, bottom), xlim, ylim)
    if is_date:
        xticks, xlabels, offset = svg.date_ticks(*xlim)
    else:
        (xticks, xlabels), offset = svg.number_ticks(*xlim, right - left, spacing=_X_SPACING), ""
    for i, (_number, start, end) in enumerate(folds):
        x0, x1 = float(ax.x(start)), float(ax.x(end))
        tint = "#1f6fb2" if i % 2 == 0 else "#e0712c"
        canvas.rect(x0, top, x1 - x0, bottom - top, tint, ' fill-opacity="0.06"')
    ax.xticks(xticks, xlabels)
    ax.yticks(yticks, ylabels)
    for number, start, _end in folds:
        canvas.text(float(ax.x(start)), top, f"fold {number}", size=7, va="top", color="#555555")
    columns = int(right - left)
    for family, t, value, _rolling, _mean in series:
        color = colors.get(family, "#333333")
        x, y = svg.envelope(t, value, columns)
        canvas.path(ax.x(x), ax.y(y), color, 0.6, ' stroke-opacity="0.35"')
    for family, t, _value, rolling, _mean in series:
        canvas.path(ax.x(t), ax.y(rolling), colors.get(family, "#333333"), 1.8)
    if entry.get("baseline") is not None:
        ax.hline(entry["baseline"], "#333333", 0.8, dash=True)
    ax.spines()
    if offset:
        canvas.text(right, bottom + 2 * TICK + _LH, offset, anchor="end", va="top")
    ax.ylabel(entry["metric"], tick_width + LABEL_PAD)
    ax.title(f"{target}: out-of-fold {entry['metric']} per timestamp")
    labels = [f"{f} (mean {m:.3g})" if m is not None else f for f, *_, m in series]
    entries = [(lab, colors.get(s[0], "#333333"), "thick") for lab, s in zip(labels, series)]
    width, height = svg.legend_size(labels, ncol=4)
    title_width = text_width(
        f"{target}: out-of-fold {entry['metric']} per timestamp", svg.TITLE_SIZE
    )
    if title_width + width + 24 < right - left:  # beside the title, clear of the data
        svg.legend(canvas, right - width, top - 6.0 - height, entries, ncol=4)
    else:
        svg.legend(canvas, left + 4, bottom - height - 2, entries, ncol=4)
    return canvas.to_svg(f"out-of-fold skill of {target} over time")


def skill_by_fold_figure(target: str, entry: dict[str, Any], colors: dict[str, str]) -> str:
    """Grouped bars: skill of each family on each fold."""
    folds = entry["folds"]
    families = list(entry["families"])
    values = {f: _nan(entry["families"][f]) for f in families}
    canvas = Canvas(302.4, 165.6)
    legend_width = svg.legend_size(families, size=7)[0]
    canvas.width = max(canvas.width, legend_width + 200.0)
    top = _EDGE + line_height(svg.TITLE_SIZE) + 6.0
    bottom = canvas.height - _EDGE - _LH - 2 * TICK
    ylim = svg.limits(np.concatenate([*values.values(), np.empty(0)]), sticky_zero=True)
    yticks, ylabels, tick_width = _ticks_left(*ylim, bottom - top)
    left = _EDGE + _LH + LABEL_PAD + tick_width
    right = canvas.width - _EDGE - legend_width - 6.0
    ax = Axes(canvas, (left, top, right, bottom), svg.limits([-0.4, len(folds) - 0.6]), ylim)
    ax.yticks(yticks, ylabels)
    ax.xticks(range(len(folds)), [f"fold {k}" for k in folds], grid=False)
    width = 0.8 / max(len(families), 1)
    for i, family in enumerate(families):
        for k, v in enumerate(values[family]):
            if not np.isfinite(v):
                continue
            center = k + (i - (len(families) - 1) / 2) * width
            x0, x1 = float(ax.x(center - width / 2)), float(ax.x(center + width / 2))
            y0, y1 = sorted((float(ax.y(0.0)), float(ax.y(v))))
            canvas.rect(x0, y0, x1 - x0, y1 - y0, colors.get(family, "#333333"))
    ax.hline(0.0, "#333333", 0.8)
    ax.spines()
    ax.ylabel("skill", tick_width + LABEL_PAD)
    ax.title(target)
    entries = [(f, colors.get(f, "#333333"), "patch") for f in families]
    svg.legend(canvas, right + 6.0, top, entries, size=7)
    return canvas.to_svg(f"skill of {target} per fold")


def horizon_figure(group: dict[str, Any], colors: dict[str, str]) -> str:
    """Score and per-family scores of the targets of one stem, by horizon."""
    x = np.arange(len(group["targets"]), dtype=np.float64)
    lines = [(f, _nan(v), colors.get(f, "#333333")) for f, v in group["families"].items()]
    score = _nan(group["score"])
    canvas = Canvas(345.6, 187.2)
    labels = [f for f, *_ in lines] + ["score"]
    legend_width = svg.legend_size(labels, size=7)[0]
    canvas.width = max(canvas.width, legend_width + 220.0)
    top = _EDGE + line_height(svg.TITLE_SIZE) + 6.0
    bottom = canvas.height - _EDGE - 2 * _LH - 2 * TICK - LABEL_PAD / 2
    ylim = svg.limits(np.concatenate([v for _, v, _ in lines] + [score, [0.0]]))
    yticks, ylabels, tick_width = _ticks_left(*ylim, bottom - top)
    left = _EDGE + _LH + LABEL_PAD + tick_width
    right = canvas.width - _EDGE - legend_width - 6.0
    ax = Axes(canvas, (left, top, right, bottom), svg.limits(x), ylim)
    ax.yticks(yticks, ylabels)
    ax.xticks(x, [str(h) for h in group["horizons"]])
    ax.hline(0.0, "#333333", 0.8, dash=True)
    for _family, values, color in lines:
        canvas.path(ax.x(x), ax.y(values), color, 1.0)
        for px, py in zip(ax.x(x), ax.y(values)):
            if np.isfinite(py):
                canvas.circle(float(px), float(py), 1.6, color)
    canvas.path(ax.x(x), ax.y(score), "#111111", 2.0)
    for px, py in zip(ax.x(x), ax.y(score)):
        if np.isfinite(py):
            canvas.rect(float(px) - 2.0, float(py) - 2.0, 4.0, 4.0, "#111111")
    ax.spines()
    ax.xlabel("horizon", 2 * TICK + _LH + LABEL_PAD / 2)
    ax.ylabel("skill / score", tick_width + LABEL_PAD)
    ax.title(group["stem"].replace("*", "{horizon}"))
    entries = [(f, c, "marker") for f, _, c in lines] + [("score", "#111111", "thick")]
    svg.legend(canvas, right + 6.0, top, entries, size=7)
    return canvas.to_svg(f"skill by horizon of {group['stem']}")


# ------------------------------------------------------------------- heatmaps
_BAR = 10.0  # colorbar width, points
_BAR_GAP = 8.0


def _cells(ax: Axes, values: np.ndarray, cmap: Any, norm: Any) -> None:
    """One rectangle per finite cell, row 0 at the top; NaN cells stay blank."""
    rgba = cmap(norm(np.ma.masked_invalid(values)))
    xs = ax.x(np.arange(values.shape[1] + 1) - 0.5)
    ys = ax.y(np.arange(values.shape[0] + 1) - 0.5)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            top, bottom = sorted((float(ys[i]), float(ys[i + 1])))
            color = to_hex(rgba[i, j], keep_alpha=False)
            # a hairline of the cell's own color closes the anti-aliasing seams between cells
            extra = f' stroke="{color}" stroke-width="0.4"'
            ax.canvas.rect(float(xs[j]), top, float(xs[j + 1] - xs[j]), bottom - top, color, extra)


def _annotate(
    ax: Axes,
    values: np.ndarray,
    fmt: str,
    dark: float,
    size: float = 6.5,
    hide_below: float = 0.0,
) -> None:
    """Write each cell's value (white where ``|value| > dark``); tiny values stay blank."""
    if values.size > 400:
        return
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v) and abs(v) >= hide_below:
            color = "#ffffff" if abs(v) > dark else "#222222"
            text = svg.minus(format(v, fmt))
            ax.canvas.text(float(ax.x(j)), float(ax.y(i)), text, size=size, anchor="middle",
                           va="center", color=color)  # fmt: skip


def _colorbar_width(ticks: list[str], label: str) -> float:
    """Room right of a heatmap for its colorbar, tick labels and (rotated) label."""
    lines = label.count("\n") + 1
    return _BAR_GAP + _BAR + 2 * TICK + _widest(ticks) + LABEL_PAD + lines * _LH + _EDGE


def _grid_box(
    canvas: Canvas, margins: tuple[float, float, float, float], shape: tuple[int, int], cell: float
) -> tuple[float, float, float, float]:
    """The plot box for ``margins`` (left, top, right, bottom), widening the canvas so each
    column is at least ``cell`` points wide."""
    left, top, right, bottom = margins
    canvas.width = max(canvas.width, left + right + shape[1] * cell)
    return left, top, canvas.width - right, canvas.height - bottom


def _bar(canvas: Canvas, ax: Axes, cmap: Any, norm: Any, ticks: Any, label: str) -> None:
    box = (ax.right + _BAR_GAP, ax.top, ax.right + _BAR_GAP + _BAR, ax.bottom)
    svg.colorbar(canvas, box, cmap, norm, ticks, label)


def importance_figure(target: str, imp: dict[str, Any]) -> str:
    """Heatmap features x family/method of normalised importance."""
    values = _nan([v for row in imp["values"] for v in row]).reshape(len(imp["features"]), -1)
    n_rows, n_cols = values.shape
    columns = [c.replace("/", "\n") for c in imp["columns"]]
    label = "normalised importance"
    canvas = Canvas(72 * (1.6 + 0.62 * n_cols), 72 * (0.9 + 0.22 * n_rows))
    top = _EDGE + 2 * TICK + line_height(7) * max((c.count("\n") + 1 for c in columns), default=1)
    canvas.height = max(canvas.height, top + _EDGE + text_width(label) + 8)
    vmax = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    norm = Normalize(0.0, max(vmax, 1e-12))
    ticks = svg.number_ticks(0.0, max(vmax, 1e-12), canvas.height - top - _EDGE)
    left = _EDGE + _widest(imp["features"]) + 2 * TICK
    cell = max([text_width(line, 7) for c in columns for line in c.split("\n")] + [24.0]) + 6
    box = _grid_box(
        canvas, (left, top, _colorbar_width(ticks[1], label), _EDGE), values.shape, cell
    )
    ax = Axes(canvas, box, (-0.5, n_cols - 0.5), (n_rows - 0.5, -0.5))
    _cells(ax, values, _BLUES, norm)
    _annotate(ax, values, ".2f", 0.55 * vmax, hide_below=0.005)
    ax.xticks(range(n_cols), columns, grid=False, top=True, size=7)
    ax.yticks(range(n_rows), imp["features"], grid=False)
    if 0 < imp["n_selected"] < n_rows:
        y = float(ax.y(imp["n_selected"] - 0.5))
        canvas.line(ax.left, y, ax.right, y, "#c2413b", 1.2)
    ax.spines()
    _bar(canvas, ax, _BLUES, norm, ticks, label)
    return canvas.to_svg(f"feature importance heatmap of {target}")


def agreement_figure(target: str, agreement: dict[str, Any]) -> str:
    """Heatmap of the families' rank agreement."""
    families = agreement["families"]
    values = _nan([v for row in agreement["values"] for v in row]).reshape(len(families), -1)
    n = len(families)
    side = 72 * (1.4 + 0.55 * n)
    canvas = Canvas(side + 43.2, side)
    norm = TwoSlopeNorm(0.0, -1.0, 1.0)
    turn = np.deg2rad(30)
    widths = [text_width(f) for f in families]
    bottom = _EDGE + 2 * TICK + max(widths, default=0) * np.sin(turn) + _LH * np.cos(turn)
    left = _EDGE + max(max(widths, default=0) + 2 * TICK, (widths or [0])[0] * np.cos(turn))
    ticks = svg.number_ticks(-1.0, 1.0, side - bottom - 2 * _EDGE)
    right = _colorbar_width(ticks[1], "Spearman")
    plot = max(min(canvas.width - left - right, canvas.height - bottom - _EDGE), 24.0 * n)
    canvas.width, canvas.height = left + plot + right, _EDGE + plot + bottom
    ax = Axes(canvas, (left, _EDGE, left + plot, _EDGE + plot), (-0.5, n - 0.5), (n - 0.5, -0.5))
    _cells(ax, values, _DIVERGING, norm)
    _annotate(ax, values, ".2f", 0.6)
    ax.xticks(range(n), families, grid=False, rotate=30)
    ax.yticks(range(n), families, grid=False)
    ax.spines()
    _bar(canvas, ax, _DIVERGING, norm, ticks, "Spearman")
    return canvas.to_svg(f"family agreement of {target}")


def stability_figure(target: str, stability: dict[str, Any]) -> str:
    """Features x folds: each fold's own rank, dots on the fold's top-M."""
    ranks = np.asarray(stability["rank"], dtype=np.float64)
    in_top = np.asarray(stability["in_top"], dtype=bool)
    n_rows, n_cols = ranks.shape
    folds = [f"fold {k}" for k in stability["folds"]]
    labels = [
        f"{f}{'' if sel else ' (not selected)'}  {freq:.0%}"
        for f, sel, freq in zip(
            stability["features"], stability["selected"], stability["frequency"]
        )
    ]
    label = "rank in the fold\n(1 = best)"
    canvas = Canvas(72 * (2.2 + 0.55 * n_cols), 72 * (0.9 + 0.22 * n_rows))
    top = _EDGE + 2 * TICK + _LH
    canvas.height = max(canvas.height, top + _EDGE + text_width(label) + 8)
    cmap = _BLUES.reversed()
    worst = max(float(stability["n_features"]), 2.0)
    norm = Normalize(1.0, worst)
    ticks = svg.number_ticks(1.0, worst, canvas.height - top - _EDGE)
    left = _EDGE + _widest(labels) + 2 * TICK
    cell = _widest(folds) + 8
    box = _grid_box(canvas, (left, top, _colorbar_width(ticks[1], label), _EDGE), ranks.shape, cell)
    ax = Axes(canvas, box, (-0.5, n_cols - 0.5), (n_rows - 0.5, -0.5))
    _cells(ax, ranks, cmap, norm)
    for i, j in zip(*np.nonzero(in_top)):
        canvas.circle(float(ax.x(j)), float(ax.y(i)), 1.7, "#c2413b")
    ax.xticks(range(n_cols), folds, grid=False, top=True)
    ax.yticks(range(n_rows), labels, grid=False)
    ax.spines()
    _bar(canvas, ax, cmap, norm, ticks, label)
    return canvas.to_svg(f"selection stability of {target}")


def training_figure(training: dict[str, Any]) -> str:
    """Heatmap targets x families (+ ensemble) of the mean out-of-fold skill per timestamp."""
    targets, families = training["targets"], training["families"]
    if "ensemble" in families:
        families = [f for f in families if f != "ensemble"] + ["ensemble"]
    cell = {(r["target"], r["family"]): r.get("oof_per_timestamp") for r in training["rows"]}
    # stats.skill_by_timestamp is centred: 0 is no skill for every task
    values = _nan([cell.get((t, f)) for t in targets for f in families]).reshape(len(targets), -1)
    rows = [f"{t} ({training['metric'].get(t, '')})" for t in targets]
    canvas = Canvas(72 * (1.8 + 0.8 * len(families)), 72 * (0.8 + 0.32 * len(targets)))
    turn = np.deg2rad(20)
    widths = [text_width(f) for f in families]
    top = _EDGE + 2 * TICK + max(widths, default=0) * np.sin(turn) + _LH * np.cos(turn)
    left = _EDGE + _widest(rows) + 2 * TICK
    width = max(text_width("\u22120.000", 7) + 8, 36.0)
    right = _EDGE + max((widths or [0])[-1] * np.cos(turn) - width / 2, 0.0)
    box = _grid_box(canvas, (left, top, right, _EDGE), values.shape, width)
    ax = Axes(canvas, box, (-0.5, len(families) - 0.5), (len(targets) - 0.5, -0.5))
    vmax = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    _cells(ax, values, _DIVERGING, TwoSlopeNorm(0.0, -max(vmax, 1e-9), max(vmax, 1e-9)))
    _annotate(ax, values, ".3f", 0.6 * vmax, size=7)
    ax.xticks(range(len(families)), families, grid=False, top=True, rotate=20)
    ax.yticks(range(len(targets)), rows, grid=False)
    ax.spines()
    return canvas.to_svg("training out-of-fold skill per family and ensemble")
