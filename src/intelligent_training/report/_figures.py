"""The report's figures: matplotlib drawn to inline SVG from ``report.json`` data.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: no global figure state, and a notebook's backend is left alone.

Every function takes a part of the report dictionary and returns an ``<svg>`` string
ready to inline in HTML5: no XML prolog, no metadata, no namespace URLs, text kept as
text (searchable, small), deterministic output. :func:`prefix_ids` makes the ids of
several figures on one page unique.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

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

_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "intelligent-training-report",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "figure.dpi": 100,
}
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
_DIVERGING = "RdBu"


def prefix_ids(svg: str, prefix: str) -> str:
    """Prefix every id of ``svg`` (and the references to them) so figures can share a page."""
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)


def family_colors(families: Sequence[str]) -> dict[str, str]:
    """One color per family (the ensemble is black), stable for a given order."""
    out = {
        f: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(f for f in families if f != "ensemble")
    }
    out["ensemble"] = "#111111"
    return out


def _svg(fig: Figure, label: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.subplots()
    return fig, ax


def _rc(func: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(_RC):
            return func(*args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _nan(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _times(values: Sequence[Any]) -> Any:
    if values and isinstance(values[0], str):
        try:
            return pd.to_datetime(list(values)).to_numpy()
        except (ValueError, TypeError):
            return np.arange(len(values))
    return _nan(values)


# ------------------------------------------------------------------- figures
@_rc
def leaderboard_figure(leaderboard: dict[str, Any]) -> str:
    """Horizontal bars of the score of every ranked target, colored by status."""
    rows = [r for r in leaderboard["rows"] if r.get("score") is not None]
    height = 0.8 + 0.24 * max(len(rows), 1)
    fig, ax = _figure(7.5, height)
    names = [r["target"] for r in rows][::-1]
    scores = [r["score"] for r in rows][::-1]
    colors = [STATUS_COLORS.get(r["status"], "#c9c9c9") for r in rows][::-1]
    ax.barh(range(len(rows)), scores, color=colors, height=0.7)
    ax.set_yticks(range(len(rows)), names)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xlabel("predictability score (out-of-fold skill over the naive baseline)")
    ax.grid(axis="y", visible=False)
    handles = [
        Patch(color=STATUS_COLORS.get(status, "#c9c9c9"), label=status)
        for status in dict.fromkeys(r["status"] for r in rows)
    ]
    ax.legend(handles=handles, loc="lower right", frameon=False, fontsize=7.5)
    return _svg(fig, "predictability score of every candidate target")


@_rc
def skill_over_time_figure(target: str, entry: dict[str, Any], colors: dict[str, str]) -> str:
    """Per-timestamp skill (thin) and its rolling mean (thick) of each family."""
    fig, ax = _figure(9.0, 2.5)
    for i, fold in enumerate(entry.get("folds", [])):
        start, end = _times([fold["start"], fold["end"]])
        ax.axvspan(start, end, color="#1f6fb2" if i % 2 == 0 else "#e0712c", alpha=0.06, lw=0)
        ax.annotate(
            f"fold {fold['fold']}",
            (start, 1.0),
            xycoords=("data", "axes fraction"),
            va="top",
            fontsize=7,
            color="#555555",
        )
    for family, series in entry["families"].items():
        t = _times(series["t"])
        color = colors.get(family, "#333333")
        ax.plot(t, _nan(series["value"]), color=color, lw=0.6, alpha=0.35)
        ax.plot(
            t,
            _nan(series["rolling"]),
            color=color,
            lw=1.8,
            label=f"{family} (mean {series['mean']:.3g})" if series["mean"] is not None else family,
        )
    if entry.get("baseline") is not None:
        ax.axhline(entry["baseline"], color="#333333", lw=0.8, ls="--")
    ax.set_ylabel(entry["metric"])
    ax.set_title(f"{target}: out-of-fold {entry['metric']} per timestamp", loc="left")
    if np.issubdtype(
        np.asarray(_times(next(iter(entry["families"].values()))["t"])).dtype, np.datetime64
    ):
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="lower left", frameon=False, fontsize=7.5, ncol=4)
    return _svg(fig, f"out-of-fold skill of {target} over time")


@_rc
def skill_by_fold_figure(target: str, entry: dict[str, Any], colors: dict[str, str]) -> str:
    """Grouped bars: skill of each family on each fold."""
    folds = entry["folds"]
    families = list(entry["families"])
    fig, ax = _figure(4.2, 2.3)
    width = 0.8 / max(len(families), 1)
    for i, family in enumerate(families):
        x = np.arange(len(folds)) + (i - (len(families) - 1) / 2) * width
        ax.bar(
            x, _nan(entry["families"][family]), width=width, color=colors.get(family), label=family
        )
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_xticks(range(len(folds)), [f"fold {k}" for k in folds])
    ax.set_ylabel("skill")
    ax.set_title(target, loc="left")
    ax.grid(axis="x", visible=False)
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig, f"skill of {target} per fold")


@_rc
def horizon_figure(group: dict[str, Any], colors: dict[str, str]) -> str:
    """Score and per-family scores of the targets of one stem, by horizon."""
    fig, ax = _figure(4.8, 2.6)
    x = np.arange(len(group["targets"]))
    for family, values in group["families"].items():
        ax.plot(x, _nan(values), marker="o", ms=3, lw=1, color=colors.get(family), label=family)
    ax.plot(x, _nan(group["score"]), marker="s", ms=4, lw=2, color="#111111", label="score")
    ax.axhline(0, color="#333333", lw=0.8, ls="--")
    ax.set_xticks(x, group["horizons"])
    ax.set_xlabel("horizon")
    ax.set_ylabel("skill / score")
    ax.set_title(group["stem"].replace("*", "{horizon}"), loc="left")
    ax.legend(frameon=False, fontsize=7)
    return _svg(fig, f"skill by horizon of {group['stem']}")


def _annotate(
    ax: Any, values: np.ndarray, fmt: str, threshold: float, vmax: float, hide_below: float = 0.0
) -> None:
    """Write each cell's value (dark cells in white); cells below ``hide_below`` stay blank."""
    if values.size > 400:
        return
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v) and abs(v) >= hide_below:
            color = "white" if abs(v) > threshold * vmax else "#222222"
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=6.5, color=color)


@_rc
def importance_figure(target: str, imp: dict[str, Any]) -> str:
    """Heatmap features x family/method of normalised importance."""
    values = _nan([v for row in imp["values"] for v in row]).reshape(len(imp["features"]), -1)
    n_rows, n_cols = values.shape
    fig, ax = _figure(1.6 + 0.62 * n_cols, 0.9 + 0.22 * n_rows)
    vmax = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    image = ax.imshow(values, cmap=_BLUES, vmin=0, vmax=max(vmax, 1e-12), aspect="auto")
    _annotate(ax, values, ".2f", 0.55, vmax, hide_below=0.005)
    ax.set_xticks(range(n_cols), [c.replace("/", "\n") for c in imp["columns"]], fontsize=7)
    ax.set_yticks(range(n_rows), imp["features"])
    ax.xaxis.tick_top()
    ax.grid(False)
    if 0 < imp["n_selected"] < n_rows:
        ax.axhline(imp["n_selected"] - 0.5, color="#c2413b", lw=1.2)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="normalised importance")
    return _svg(fig, f"feature importance heatmap of {target}")


@_rc
def agreement_figure(target: str, agreement: dict[str, Any]) -> str:
    """Heatmap of the families' rank agreement."""
    families = agreement["families"]
    values = _nan([v for row in agreement["values"] for v in row]).reshape(len(families), -1)
    size = 1.4 + 0.55 * len(families)
    fig, ax = _figure(size + 0.6, size)
    image = ax.imshow(values, cmap=_DIVERGING, norm=TwoSlopeNorm(0.0, -1.0, 1.0))
    _annotate(ax, values, ".2f", 0.6, 1.0)
    ax.set_xticks(range(len(families)), families, rotation=30, ha="right")
    ax.set_yticks(range(len(families)), families)
    ax.grid(False)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="Spearman")
    return _svg(fig, f"family agreement of {target}")


@_rc
def stability_figure(target: str, stability: dict[str, Any]) -> str:
    """Features x folds: each fold's own rank, dots on the fold's top-M."""
    ranks = np.asarray(stability["rank"], dtype=np.float64)
    in_top = np.asarray(stability["in_top"], dtype=bool)
    n_rows, n_cols = ranks.shape
    fig, ax = _figure(2.2 + 0.55 * n_cols, 0.9 + 0.22 * n_rows)
    worst = float(stability["n_features"])
    image = ax.imshow(ranks, cmap=_BLUES.reversed(), vmin=1, vmax=max(worst, 2), aspect="auto")
    rows, cols = np.nonzero(in_top)
    ax.scatter(cols, rows, s=9, color="#c2413b", zorder=3)
    ax.set_xticks(range(n_cols), [f"fold {k}" for k in stability["folds"]])
    labels = [
        f"{f}{'' if sel else ' (not selected)'}  {freq:.0%}"
        for f, sel, freq in zip(
            stability["features"], stability["selected"], stability["frequency"]
        )
    ]
    ax.set_yticks(range(n_rows), labels)
    ax.xaxis.tick_top()
    ax.grid(False)
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03, label="rank in the fold (1 = best)")
    return _svg(fig, f"selection stability of {target}")


@_rc
def training_figure(training: dict[str, Any]) -> str:
    """Heatmap targets x families (+ ensemble) of the mean out-of-fold skill per timestamp."""
    targets, families = training["targets"], training["families"]
    if "ensemble" in families:
        families = [f for f in families if f != "ensemble"] + ["ensemble"]
    cell = {(r["target"], r["family"]): r.get("oof_per_timestamp") for r in training["rows"]}
    values = _nan([cell.get((t, f)) for t in targets for f in families]).reshape(len(targets), -1)
    excess = values  # stats.skill_by_timestamp is centred: 0 is no skill for every task
    fig, ax = _figure(1.8 + 0.8 * len(families), 0.8 + 0.32 * len(targets))
    vmax = float(np.nanmax(np.abs(excess))) if np.isfinite(excess).any() else 1.0
    ax.imshow(
        excess,
        cmap=_DIVERGING,
        norm=TwoSlopeNorm(0.0, -max(vmax, 1e-9), max(vmax, 1e-9)),
        aspect="auto",
    )
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            dark = abs(excess[i, j]) > 0.6 * vmax
            ax.text(
                j,
                i,
                f"{v:.3f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "#222222",
            )
    ax.set_xticks(range(len(families)), families, rotation=20, ha="left")
    ax.set_yticks(range(len(targets)), [f"{t} ({training['metric'].get(t, '')})" for t in targets])
    ax.xaxis.tick_top()
    ax.grid(False)
    return _svg(fig, "training out-of-fold skill per family and ensemble")
