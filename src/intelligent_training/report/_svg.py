"""A small SVG writer for the report's charts: a canvas, axes, legends and colorbars.

Matplotlib lays out and draws a figure through thousands of artists (about 100 ms a
figure, twice that with constrained layout); the report's charts are simple enough to
write directly. This module keeps what matplotlib is good at and cheap to call on its
own: tick locators (:class:`~matplotlib.ticker.MaxNLocator`, the date locators), the
colormaps and the font metrics (``ft2font``), so margins are computed from the widths
of the labels they hold and nothing is clipped.

Coordinates are points (1/72 inch) with y pointing down, like the SVG matplotlib
writes. Text stays text (searchable, small); the output is deterministic.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.colors import to_hex
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.ticker import MaxNLocator

__all__ = [
    "Axes",
    "Canvas",
    "colorbar",
    "date_ticks",
    "envelope",
    "legend",
    "legend_size",
    "line_height",
    "limits",
    "minus",
    "number_ticks",
    "text_width",
]

FONT_SIZE = 8.5
TITLE_SIZE = 9.5
TICK = 3.5  # tick length and the gap between a tick and its label, as matplotlib's
LABEL_PAD = 4.0
TEXT = "#222222"
_FONT_CSS = "font-family:'DejaVu Sans',Verdana,sans-serif"
_GRID = 'stroke="#b0b0b0" stroke-opacity="0.25" stroke-width="0.8"'


@functools.lru_cache(maxsize=1)
def _font_path() -> str:
    return str(findfont(FontProperties(family="DejaVu Sans")))


def _font() -> Any:
    return get_font(_font_path())  # matplotlib keeps one FT2Font per thread: safe to mutate


@functools.lru_cache(maxsize=8192)
def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Width in points of ``text`` (its widest line) in DejaVu Sans at ``size``."""
    font = _font()
    font.set_size(size, 72)
    widest = 0.0
    for line in text.split("\n"):
        font.set_text(line, 0.0)
        widest = max(widest, font.get_width_height()[0] / 64)
    return widest


def line_height(size: float = FONT_SIZE) -> float:
    """Height in points of one line of text."""
    return 1.2 * size


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def minus(text: str) -> str:
    """``text`` with its hyphens as the typographic minus sign (as matplotlib writes numbers)."""
    return text.replace("-", "\u2212")


# ------------------------------------------------------------------- canvas
class Canvas:
    """An SVG picture being written, ``width`` x ``height`` points."""

    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height
        self._defs: list[str] = []
        self._body: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> None:
        """A filled rectangle (top-left corner ``x``, ``y``)."""
        self._body.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" '
            f'fill="{fill}"{extra}/>'
        )

    def line(
        self, x1: float, y1: float, x2: float, y2: float, color: str, width: float, extra: str = ""
    ) -> None:
        """A straight line."""
        self._body.append(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke="{color}" stroke-width="{_num(width)}"{extra}/>'
        )

    def grid_line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        """A faint grid line behind the data (the report's grid style)."""
        self._body.append(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" {_GRID}/>'
        )

    def path(
        self, xs: np.ndarray, ys: np.ndarray, color: str, width: float, extra: str = ""
    ) -> None:
        """A polyline through the points; a NaN breaks it."""
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return
        starts = ok & ~np.concatenate([[False], ok[:-1]])
        commands = []
        for x, y, start, keep in zip(xs.tolist(), ys.tolist(), starts.tolist(), ok.tolist()):
            if keep:
                commands.append(f"{'M' if start else 'L'}{x:.1f} {y:.1f}")
        self._body.append(
            f'<path d="{"".join(commands)}" fill="none" stroke="{color}" '
            f'stroke-width="{_num(width)}" stroke-linejoin="round"{extra}/>'
        )

    def circle(self, x: float, y: float, r: float, fill: str) -> None:
        """A filled dot."""
        self._body.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" fill="{fill}"/>')

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = FONT_SIZE,
        anchor: str = "start",
        va: str = "baseline",
        color: str = TEXT,
        rotate: float = 0.0,
    ) -> None:
        """Text at ``x``, ``y``: ``anchor`` start/middle/end, ``va`` top/center/bottom/baseline.

        Several lines (``\\n``) stack downwards; ``rotate`` turns the text about ``x``, ``y``
        (degrees, counter-clockwise).
        """
        lines = text.split("\n")
        lh = line_height(size)
        block = lh * (len(lines) - 1)
        first = y + {
            "top": 0.76 * size,
            "center": 0.36 * size - block / 2,
            "bottom": -0.24 * size - block,
        }.get(va, 0.0)
        turn = f' transform="rotate({_num(-rotate)} {_num(x)} {_num(y)})"' if rotate else ""
        spans = "".join(
            f'<tspan x="{_num(x)}" y="{_num(first + i * lh)}">{_escape(line)}</tspan>'
            if len(lines) > 1
            else _escape(line)
            for i, line in enumerate(lines)
        )
        position = "" if len(lines) > 1 else f' x="{_num(x)}" y="{_num(first)}"'
        self._body.append(
            f'<text{position} font-size="{_num(size)}" fill="{color}" '
            f'text-anchor="{anchor}"{turn}>{spans}</text>'
        )

    def gradient(self, name: str, colors: Sequence[str]) -> str:
        """A vertical gradient (first color at the bottom); returns its ``fill`` value."""
        stops = "".join(
            f'<stop offset="{_num(i / max(len(colors) - 1, 1))}" stop-color="{c}"/>'
            for i, c in enumerate(colors)
        )
        self._defs.append(
            f'<linearGradient id="{name}" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient>'
        )
        return f"url(#{name})"

    def to_svg(self, label: str) -> str:
        """The ``<svg>`` element, ready to inline in HTML5."""
        w, h = _num(self.width), _num(self.height)
        defs = f"<defs>{''.join(self._defs)}</defs>" if self._defs else ""
        return (
            f'<svg role="img" aria-label="{_escape(label)}" width="{w}pt" height="{h}pt" '
            f'viewBox="0 0 {w} {h}" version="1.1" style="{_FONT_CSS}">'
            f'{defs}<rect width="{w}" height="{h}" fill="#ffffff"/>'
            f"{''.join(self._body)}</svg>"
        )


# ------------------------------------------------------------------- ticks
def limits(values: Any, *, margin: float = 0.05, sticky_zero: bool = False) -> tuple[float, float]:
    """Axis limits around the finite ``values`` with a relative ``margin``.

    ``sticky_zero`` (bars): a limit at zero gets no margin.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if sticky_zero:
        finite = np.append(finite, 0.0)
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad = margin * (hi - lo)
    return (
        lo if sticky_zero and lo == 0.0 else lo - pad,
        hi if sticky_zero and hi == 0.0 else hi + pad,
    )


def number_ticks(
    lo: float, hi: float, length: float, *, spacing: float = 2 * FONT_SIZE
) -> tuple[np.ndarray, list[str]]:
    """Round ticks inside ``[lo, hi]`` for an axis ``length`` points long, and their labels.

    At most one tick per ``spacing`` points (matplotlib's density: twice the font size on
    a vertical axis, three times on a horizontal one) and at most 10; every label has the
    same number of decimals.
    """
    nbins = int(np.clip(length // spacing, 1, 9))
    ticks = np.asarray(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi))
    span = hi - lo
    ticks = ticks[(ticks >= lo - 1e-9 * span) & (ticks <= hi + 1e-9 * span)]
    scale = float(np.abs(ticks).max()) if ticks.size else 1.0
    for digits in range(8):
        labels = [f"{v:.{digits}f}" for v in ticks]
        if all(abs(float(s) - v) <= 1e-9 * max(scale, 1e-300) for s, v in zip(labels, ticks)):
            break
    return ticks, [minus(s[1:] if s.strip("-0.") == "" and s[0] == "-" else s) for s in labels]


def date_ticks(lo: float, hi: float) -> tuple[np.ndarray, list[str], str]:
    """Ticks, labels and the offset text (e.g. ``2024-Jan``) of a date axis (matplotlib days)."""
    locator = mdates.AutoDateLocator()
    ticks = np.asarray(locator.tick_values(mdates.num2date(lo), mdates.num2date(hi)))
    ticks = ticks[(ticks >= lo) & (ticks <= hi)]
    formatter = mdates.ConciseDateFormatter(locator)
    labels = formatter.format_ticks(ticks.tolist())
    return ticks, [minus(s) for s in labels], formatter.get_offset()


def envelope(x: np.ndarray, y: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The series with at most four points per pixel column: first, min, max, last.

    A line through them covers the same pixels as the full series at that width.
    A series that is already short enough (or has NaN gaps) is returned unchanged.
    """
    n = len(x)
    if n <= 4 * columns or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return x, y
    span = x[-1] - x[0]
    column = np.minimum(((x - x[0]) / (span or 1.0) * columns).astype(np.int64), columns - 1)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], n] - 1
    keep = [starts, ends]
    for reducer in (np.minimum, np.maximum):
        best = reducer.reduceat(y, starts)
        # the first index of each column where the column's extreme is reached
        hit = y == np.repeat(best, ends - starts + 1)
        keep.append(starts + np.array([np.argmax(h) for h in np.split(hit, starts[1:])]))
    index = np.unique(np.concatenate(keep))
    return x[index], y[index]


# ------------------------------------------------------------------- axes
class Axes:
    """A plot area of ``canvas``: box ``left, top, right, bottom`` and data limits.

    A y range given high-to-low (``ylim=(n - 0.5, -0.5)``) puts row 0 at the top, as
    for an image.
    """

    def __init__(
        self,
        canvas: Canvas,
        box: tuple[float, float, float, float],
        xlim: tuple[float, float],
        ylim: tuple[float, float],
    ) -> None:
        self.canvas = canvas
        self.left, self.top, self.right, self.bottom = box
        self.xlim, self.ylim = xlim, ylim

    def x(self, value: Any) -> Any:
        """Canvas x of data x."""
        x0, x1 = self.xlim
        return self.left + (np.asarray(value, dtype=np.float64) - x0) / (x1 - x0) * (
            self.right - self.left
        )

    def y(self, value: Any) -> Any:
        """Canvas y of data y."""
        y0, y1 = self.ylim
        return self.bottom - (np.asarray(value, dtype=np.float64) - y0) / (y1 - y0) * (
            self.bottom - self.top
        )

    def spines(self, *, left: bool = True, bottom: bool = True) -> None:
        """The axis lines (top and right are never drawn, as in the report's style)."""
        if left:
            self.canvas.line(self.left, self.top, self.left, self.bottom, "#000000", 0.8)
        if bottom:
            self.canvas.line(self.left, self.bottom, self.right, self.bottom, "#000000", 0.8)

    def xticks(
        self,
        ticks: Any,
        labels: Sequence[str],
        *,
        grid: bool = True,
        top: bool = False,
        rotate: float = 0.0,
        size: float = FONT_SIZE,
    ) -> None:
        """Ticks, labels and (``grid``) vertical grid lines; ``top`` puts them above."""
        y = self.top if top else self.bottom
        sign = -1.0 if top else 1.0
        for tick, label in zip(ticks, labels):
            x = float(self.x(tick))
            if grid:
                self.canvas.grid_line(x, self.top, x, self.bottom)
            self.canvas.line(x, y, x, y + sign * TICK, "#000000", 0.8)
            at = y + sign * 2 * TICK
            if rotate:
                self.canvas.text(
                    x, at, label, size=size, rotate=rotate,
                    anchor="start" if top else "end", va="center",
                )  # fmt: skip
            else:
                self.canvas.text(
                    x, at, label, size=size, anchor="middle", va="bottom" if top else "top"
                )

    def yticks(
        self,
        ticks: Any,
        labels: Sequence[str],
        *,
        grid: bool = True,
        size: float = FONT_SIZE,
    ) -> None:
        """Ticks, labels and (``grid``) horizontal grid lines on the left."""
        for tick, label in zip(ticks, labels):
            y = float(self.y(tick))
            if grid:
                self.canvas.grid_line(self.left, y, self.right, y)
            self.canvas.line(self.left - TICK, y, self.left, y, "#000000", 0.8)
            self.canvas.text(self.left - 2 * TICK, y, label, size=size, anchor="end", va="center")

    def hline(self, value: float, color: str, width: float, dash: bool = False) -> None:
        """A horizontal line across the plot at data ``value``."""
        y = float(self.y(value))
        extra = ' stroke-dasharray="3.7 1.6"' if dash else ""
        self.canvas.line(self.left, y, self.right, y, color, width, extra)

    def vline(self, value: float, color: str, width: float) -> None:
        """A vertical line across the plot at data ``value``."""
        x = float(self.x(value))
        self.canvas.line(x, self.top, x, self.bottom, color, width)

    def title(self, text: str) -> None:
        """A left-aligned title above the plot."""
        self.canvas.text(self.left, self.top - 6.0, text, size=TITLE_SIZE, va="bottom")

    def xlabel(self, text: str, below: float) -> None:
        """The x axis label, ``below`` points under the plot."""
        mid = (self.left + self.right) / 2
        self.canvas.text(mid, self.bottom + below, text, anchor="middle", va="top")

    def ylabel(self, text: str, left_of: float) -> None:
        """The y axis label (turned), ``left_of`` points left of the plot."""
        mid = (self.top + self.bottom) / 2
        self.canvas.text(self.left - left_of, mid, text, anchor="middle", va="bottom", rotate=90)


def legend_size(labels: Sequence[str], ncol: int = 1, size: float = 7.5) -> tuple[float, float]:
    """Width and height in points of :func:`legend` with these labels."""
    if not labels:
        return 0.0, 0.0
    ncol = max(1, min(ncol, len(labels)))
    rows = -(-len(labels) // ncol)
    widths = [
        max(text_width(labels[i], size) for i in range(c, len(labels), ncol)) for c in range(ncol)
    ]
    return sum(w + 2.8 * size for w in widths) + (ncol - 1) * size, rows * 1.45 * size


def legend(
    canvas: Canvas,
    x: float,
    y: float,
    entries: Sequence[tuple[str, str, str]],
    *,
    ncol: int = 1,
    size: float = 7.5,
) -> None:
    """Legend entries ``(label, color, kind)`` (kind ``line``, ``thick``, ``marker``, ``patch``).

    ``x``, ``y``: its top-left corner; :func:`legend_size` tells its size.
    """
    labels = [e[0] for e in entries]
    if not labels:
        return
    ncol = max(1, min(ncol, len(labels)))
    widths = [
        max(text_width(labels[i], size) for i in range(c, len(labels), ncol)) for c in range(ncol)
    ]
    for i, (label, color, kind) in enumerate(entries):
        col, row = i % ncol, i // ncol
        left = x + sum(w + 2.8 * size + size for w in widths[:col])
        mid = y + (row + 0.5) * 1.45 * size
        if kind == "patch":
            canvas.rect(left, mid - 0.35 * size, 2.0 * size, 0.7 * size, color)
        else:
            canvas.line(left, mid, left + 2.0 * size, mid, color, 2.0 if kind == "thick" else 1.5)
            if kind == "marker":
                canvas.circle(left + size, mid, 2.0, color)
        canvas.text(left + 2.8 * size, mid, label, size=size, va="center")


def colorbar(
    canvas: Canvas,
    box: tuple[float, float, float, float],
    cmap: Any,
    norm: Any,
    ticks: tuple[np.ndarray, list[str]],
    label: str,
) -> None:
    """A vertical colorbar in ``box`` (left, top, right, bottom), ticks and label on its right."""
    left, top, right, bottom = box
    lo, hi = float(norm.vmin), float(norm.vmax)
    values = np.linspace(lo, hi, 17)
    fill = canvas.gradient("cbar", [to_hex(cmap(norm(v))) for v in values])
    canvas.rect(left, top, right - left, bottom - top, fill, ' stroke="#000000" stroke-width="0.8"')
    width = 0.0
    for tick, text in zip(*ticks):
        y = bottom - (tick - lo) / (hi - lo) * (bottom - top)
        canvas.line(right, y, right + TICK, y, "#000000", 0.8)
        canvas.text(right + 2 * TICK, y, text, anchor="start", va="center")
        width = max(width, text_width(text))
    x = right + 2 * TICK + width + LABEL_PAD
    canvas.text(x, (top + bottom) / 2, label, anchor="middle", va="top", rotate=90)
