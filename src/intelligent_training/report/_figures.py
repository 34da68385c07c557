"""The report's figures: plotly figure specifications built from ``report.json`` data.

Every function takes a part of the report dictionary and returns a plain, JSON-ready
``{"data": [...], "layout": {...}}`` dictionary that plotly.js draws in the page
(:mod:`._html` embeds plotly.js once and hands each figure to ``Plotly.newPlot``). The
figures are built as plain dictionaries, without plotly's Python figure classes: the
same data gives the same bytes, and building the 40 figures of a report takes a few
milliseconds. Interaction comes from plotly.js: hover values, drag to zoom (double
click resets), legend entries that hide or show a trace.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = [
    "agreement_figure",
    "buckets_figure",
    "cumulative_figure",
    "decay_figure",
    "family_colors",
    "horizon_figure",
    "importance_figure",
    "leaderboard_figure",
    "rank_autocorrelation_figure",
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
_BLUES = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]
_FONT = {"family": "DejaVu Sans, Helvetica, Arial, sans-serif", "size": 11, "color": "#222"}
_AXIS = {"showline": True, "linecolor": "#888", "ticks": "outside", "gridcolor": "#eee",
         "zeroline": False}  # fmt: skip


def family_colors(families: Sequence[str]) -> dict[str, str]:
    """One color per family (the ensemble is black), stable for a given order."""
    out = {
        f: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(f for f in families if f != "ensemble")
    }
    out["ensemble"] = "#111111"
    return out


def _layout(title: str | None, height: int, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 62 if title else 34, "b": 44},
        "font": _FONT,
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "hoverlabel": {"namelength": -1},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        "xaxis": dict(_AXIS),
        "yaxis": dict(_AXIS),
    }
    if title:
        layout["title"] = {"text": title, "x": 0, "xanchor": "left", "xref": "paper", "y": 1,
                           "yref": "container", "yanchor": "top", "pad": {"t": 8},
                           "font": {"size": 13}}  # fmt: skip
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "layout": layout}


def _is_time(values: Sequence[Any]) -> bool:
    """Whether axis values are timestamps (ISO strings), so the axis is a date axis."""
    if not values or not isinstance(values[0], str):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            pd.to_datetime([values[0], values[-1]])
    except (ValueError, TypeError):
        return False
    return True


def _hline(y: float, dash: str = "dash") -> dict[str, Any]:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
            "line": {"color": "#555", "width": 1, "dash": dash}, "layer": "below"}  # fmt: skip


# ------------------------------------------------------------------- figures
def leaderboard_figure(leaderboard: dict[str, Any]) -> dict[str, Any]:
    """Horizontal bars of the score of every ranked target, one legend entry per status."""
    rows = [r for r in leaderboard["rows"] if r.get("score") is not None]
    data = []
    for status in dict.fromkeys(r["status"] for r in rows):
        part = [r for r in rows if r["status"] == status]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": status,
                "x": [r["score"] for r in part],
                "y": [r["target"] for r in part],
                "marker": {"color": STATUS_COLORS.get(status, "#c9c9c9")},
                "hovertemplate": "%{y}<br>score %{x:.4f}<extra>" + status + "</extra>",
            }
        )
    order = [r["target"] for r in rows]
    layout = _layout(
        None,
        max(160, 60 + 22 * len(rows)),
        xaxis={
            "title": {"text": "predictability score (out-of-fold skill over the naive baseline)"},
            "zeroline": True,
            "zerolinecolor": "#333",
        },  # fmt: skip
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "automargin": True},
        barmode="overlay",
    )
    return _figure(data, layout)


def skill_over_time_figure(
    target: str, entry: dict[str, Any], colors: dict[str, str]
) -> dict[str, Any]:
    """Per-timestamp skill (thin) and its rolling mean (thick) of each family; folds shaded."""
    data = []
    for family, part in entry["families"].items():
        color = colors.get(family, "#333333")
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{family} per timestamp",
                "legendgroup": family,
                "showlegend": False,
                "x": part["t"],
                "y": part["value"],
                "line": {"color": color, "width": 0.8},
                "opacity": 0.35,
                "hovertemplate": "%{y:.3f}<extra>" + family + "</extra>",
            }
        )
        mean = part.get("mean")
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{family} (mean {mean:.3g})" if mean is not None else family,
                "legendgroup": family,
                "x": part["t"],
                "y": part["rolling"],
                "line": {"color": color, "width": 2.2},
                "hovertemplate": "rolling %{y:.3f}<extra>" + family + "</extra>",
            }
        )
    shapes = []
    annotations = []
    for i, fold in enumerate(entry.get("folds", [])):
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": fold["start"],
                "x1": fold["end"],
                "y0": 0,
                "y1": 1,
                "fillcolor": "#1f6fb2" if i % 2 == 0 else "#e0712c",
                "opacity": 0.06,
                "line": {"width": 0},
                "layer": "below",
            }  # fmt: skip
        )
        annotations.append(
            {
                "x": fold["start"],
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": f"fold {fold['fold']}",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"size": 9, "color": "#555"},
            }  # fmt: skip
        )
    if entry.get("baseline") is not None:
        shapes.append(_hline(entry["baseline"]))
    first: dict[str, Any] = next(iter(entry["families"].values()), {"t": []})
    layout = _layout(
        f"{target}: out-of-fold {entry['metric']} per timestamp",
        260,
        xaxis={"type": "date" if _is_time(first["t"]) else "linear"},
        yaxis={"title": {"text": entry["metric"]}},
        shapes=shapes,
        annotations=annotations,
        hovermode="x unified",
    )
    return _figure(data, layout)


def skill_by_fold_figure(
    target: str, entry: dict[str, Any], colors: dict[str, str]
) -> dict[str, Any]:
    """Grouped bars: skill of each family on each fold."""
    folds = [f"fold {k}" for k in entry["folds"]]
    data = [
        {
            "type": "bar",
            "name": family,
            "x": folds,
            "y": values,
            "marker": {"color": colors.get(family, "#333333")},
            "hovertemplate": "%{x}: %{y:.4f}<extra>" + family + "</extra>",
        }
        for family, values in entry["families"].items()
    ]
    layout = _layout(target, 240, yaxis={"title": {"text": "skill"}, "zeroline": True,
                                          "zerolinecolor": "#333"}, barmode="group")  # fmt: skip
    return _figure(data, layout)


def horizon_figure(group: dict[str, Any], colors: dict[str, str]) -> dict[str, Any]:
    """Score and per-family scores of the targets of one stem, by horizon.

    The composite score is a wide pale band drawn first, so the family lines, drawn
    over it, stay visible where they coincide with it.
    """
    x = [str(h) for h in group["horizons"]]
    hover = [f"{t}" for t in group["targets"]]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "score",
            "x": x,
            "y": group["score"],
            "customdata": hover,
            "line": {"color": "#111111", "width": 9},
            "marker": {"size": 14, "symbol": "square"},
            "opacity": 0.25,
            "hovertemplate": "%{customdata}: score %{y:.4f}<extra></extra>",
        }
    ]
    for family, values in group["families"].items():
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": family,
                "x": x,
                "y": values,
                "customdata": hover,
                "line": {"color": colors.get(family, "#333333"), "width": 1.6},
                "marker": {"size": 6},
                "hovertemplate": "%{customdata}: %{y:.4f}<extra>" + family + "</extra>",
            }
        )
    layout = _layout(
        group["stem"].replace("*", "{horizon}"),
        260,
        xaxis={"title": {"text": "horizon"}, "type": "category"},
        yaxis={"title": {"text": "skill / score"}},
        shapes=[_hline(0.0)],
    )
    return _figure(data, layout)


# ------------------------------------------------------------------- heatmaps
def _heatmap_height(n_rows: int) -> int:
    return max(180, 70 + 20 * n_rows)


def importance_figure(target: str, imp: dict[str, Any]) -> dict[str, Any]:
    """Heatmap features x family/method of normalised importance (selected above the line)."""
    n_rows = len(imp["features"])
    data = [
        {
            "type": "heatmap",
            "z": imp["values"],
            "x": imp["columns"],
            "y": imp["features"],
            "colorscale": _BLUES,
            "zmin": 0,
            "colorbar": {"title": {"text": "normalised<br>importance", "side": "right"}},
            "texttemplate": "%{z:.2f}" if n_rows * len(imp["columns"]) <= 400 else "",
            "hovertemplate": "%{y} · %{x}<br>importance %{z:.4f}<extra></extra>",
            "xgap": 1,
            "ygap": 1,
        }
    ]
    shapes = []
    if 0 < imp["n_selected"] < n_rows:
        y = imp["n_selected"] - 0.5
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
                       "line": {"color": "#c2413b", "width": 2}})  # fmt: skip
    layout = _layout(
        None,
        _heatmap_height(n_rows),
        xaxis={"side": "top", "showgrid": False, "automargin": True},
        yaxis={"autorange": "reversed", "showgrid": False, "automargin": True},
        shapes=shapes,
    )
    return _figure(data, layout)


def agreement_figure(target: str, agreement: dict[str, Any]) -> dict[str, Any]:
    """Heatmap of the families' rank agreement (Spearman, -1..1)."""
    families = agreement["families"]
    data = [
        {
            "type": "heatmap",
            "z": agreement["values"],
            "x": families,
            "y": families,
            "colorscale": "RdBu",
            "zmin": -1,
            "zmax": 1,
            "zmid": 0,
            "texttemplate": "%{z:.2f}",
            "colorbar": {"title": {"text": "Spearman", "side": "right"}},
            "hovertemplate": "%{y} vs %{x}: %{z:.3f}<extra></extra>",
            "xgap": 1,
            "ygap": 1,
        }
    ]
    layout = _layout(
        None,
        max(220, 90 + 40 * len(families)),
        xaxis={"showgrid": False, "automargin": True},
        yaxis={"autorange": "reversed", "showgrid": False, "automargin": True},
    )
    return _figure(data, layout)


def stability_figure(target: str, stability: dict[str, Any]) -> dict[str, Any]:
    """Features x folds: each fold's own rank, dots on the fold's top-M."""
    folds = [f"fold {k}" for k in stability["folds"]]
    labels = [
        f"{f}{'' if sel else ' (not selected)'}  {freq:.0%}"
        for f, sel, freq in zip(
            stability["features"], stability["selected"], stability["frequency"]
        )
    ]
    dots_x, dots_y = [], []
    for label, row in zip(labels, stability["in_top"]):
        for fold, inside in zip(folds, row):
            if inside:
                dots_x.append(fold)
                dots_y.append(label)
    data = [
        {
            "type": "heatmap",
            "z": stability["rank"],
            "x": folds,
            "y": labels,
            "colorscale": _BLUES,
            "reversescale": True,
            "zmin": 1,
            "zmax": max(int(stability["n_features"]), 2),
            "colorbar": {"title": {"text": "rank in the fold<br>(1 = best)", "side": "right"}},
            "hovertemplate": "%{y}<br>%{x}: rank %{z}<extra></extra>",
            "xgap": 1,
            "ygap": 1,
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"in the fold's top-{stability.get('top_m', 'M')}",
            "x": dots_x,
            "y": dots_y,
            "marker": {"color": "#c2413b", "size": 6},
            "hoverinfo": "skip",
        },
    ]
    layout = _layout(
        None,
        _heatmap_height(len(labels)),
        xaxis={"side": "top", "showgrid": False, "automargin": True},
        yaxis={"autorange": "reversed", "showgrid": False, "automargin": True},
        showlegend=False,
    )
    return _figure(data, layout)


def training_figure(training: dict[str, Any]) -> dict[str, Any]:
    """Heatmap targets x families (+ ensemble) of the mean out-of-fold skill per timestamp."""
    targets, families = training["targets"], training["families"]
    if "ensemble" in families:
        families = [f for f in families if f != "ensemble"] + ["ensemble"]
    cell = {(r["target"], r["family"]): r.get("oof_per_timestamp") for r in training["rows"]}
    values = [[cell.get((t, f)) for f in families] for t in targets]
    finite = [abs(v) for row in values for v in row if v is not None]
    vmax = max(finite, default=1.0) or 1.0
    rows = [f"{t} ({training['metric'].get(t, '')})" for t in targets]
    data = [
        {
            "type": "heatmap",
            "z": values,
            "x": families,
            "y": rows,
            "colorscale": "RdBu",
            "zmin": -vmax,
            "zmax": vmax,
            "zmid": 0,
            "texttemplate": "%{z:.3f}",
            "colorbar": {"title": {"text": "skill", "side": "right"}},
            "hovertemplate": "%{y} · %{x}: %{z:.4f}<extra></extra>",
            "xgap": 1,
            "ygap": 1,
        }
    ]
    layout = _layout(
        None,
        max(160, 80 + 30 * len(rows)),
        xaxis={"side": "top", "showgrid": False, "automargin": True},
        yaxis={"autorange": "reversed", "showgrid": False, "automargin": True},
    )
    return _figure(data, layout)


# ------------------------------------------------------------------- tearsheet
def buckets_figure(target: str, sheet: dict[str, Any]) -> dict[str, Any]:
    """Mean forward return of each prediction bucket (1 = lowest predictions)."""
    q = sheet["quantiles"]
    labels = [f"Q{b + 1}" for b in range(q)]
    data = [
        {
            "type": "bar",
            "name": "mean forward return",
            "x": labels,
            "y": sheet["bucket_mean_return"],
            "customdata": sheet["bucket_counts"],
            "marker": {
                "color": [
                    "#c2413b" if (v or 0) < 0 else "#1f6fb2" for v in sheet["bucket_mean_return"]
                ]
            },  # fmt: skip
            "hovertemplate": "%{x}: %{y:.4g}<br>%{customdata} rows<extra></extra>",
        }
    ]
    layout = _layout(
        f"mean {sheet['return_column']} by prediction bucket",
        240,
        xaxis={"title": {"text": "prediction quantile (Q1 lowest)"}, "type": "category"},
        yaxis={
            "title": {"text": "mean forward return"},
            "zeroline": True,
            "zerolinecolor": "#333",
        },  # fmt: skip
        showlegend=False,
    )
    return _figure(data, layout)


def cumulative_figure(target: str, sheet: dict[str, Any]) -> dict[str, Any]:
    """Cumulative top-minus-bottom return (net and gross of costs) above its drawdown."""
    cum = sheet["cumulative"]
    data = [
        {"type": "scatter", "mode": "lines", "name": f"net of {sheet['cost_bps']:g} bp",
         "x": cum["t"], "y": cum["net"], "line": {"color": "#1f6fb2", "width": 2},
         "hovertemplate": "%{y:.4g}<extra>net</extra>"},
        {"type": "scatter", "mode": "lines", "name": "gross", "x": cum["t"], "y": cum["gross"],
         "line": {"color": "#888", "width": 1.2, "dash": "dot"},
         "hovertemplate": "%{y:.4g}<extra>gross</extra>"},
        {"type": "scatter", "mode": "lines", "name": "drawdown (net)", "x": cum["t"],
         "y": cum["drawdown"], "yaxis": "y2", "fill": "tozeroy",
         "line": {"color": "#c2413b", "width": 1}, "fillcolor": "rgba(194,65,59,0.25)",
         "hovertemplate": "%{y:.4g}<extra>drawdown</extra>"},
    ]  # fmt: skip
    layout = _layout(
        "cumulative top-minus-bottom return",
        320,
        xaxis={"type": "date" if _is_time(cum["t"]) else "linear", "anchor": "y2"},
        yaxis={"domain": [0.34, 1.0], "title": {"text": "cumulative return"}},
        yaxis2={**_AXIS, "domain": [0.0, 0.26], "title": {"text": "drawdown"}},
        hovermode="x unified",
    )
    return _figure(data, layout)


def rank_autocorrelation_figure(target: str, sheet: dict[str, Any]) -> dict[str, Any]:
    """Cross-sectional rank autocorrelation of the predictions by lag."""
    rac = sheet["rank_autocorrelation"]
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": "rank autocorrelation",
         "x": rac["lags"], "y": rac["values"], "line": {"color": "#7b5ea7"},
         "hovertemplate": "lag %{x}: %{y:.3f}<extra></extra>"}
    ]  # fmt: skip
    layout = _layout(
        "rank autocorrelation of the predictions",
        240,
        xaxis={"title": {"text": "lag (bars)"}},
        yaxis={
            "range": [min(0.0, min((v for v in rac["values"] if v is not None), default=0)), 1.02]
        },
        shapes=[_hline(0.0, "dot")],
        showlegend=False,
    )
    return _figure(data, layout)


def decay_figure(target: str, sheet: dict[str, Any]) -> dict[str, Any]:
    """Skill of the target's predictions against each horizon of its stem."""
    decay = sheet["skill_decay"]
    data = [
        {
            "type": "bar",
            "x": [d["target"] for d in decay],
            "y": [d["skill"] for d in decay],
            "customdata": [d["metric"] for d in decay],
            "marker": {"color": ["#1f6fb2" if d["target"] == target else "#9db7cf" for d in decay]},
            "hovertemplate": "%{x}: %{customdata} %{y:.4f}<extra></extra>",
        }
    ]
    layout = _layout(
        "skill against each horizon of the stem",
        240,
        xaxis={"type": "category", "title": {"text": "outcome (shortest horizon first)"}},
        yaxis={
            "title": {"text": "mean skill per timestamp"},
            "zeroline": True,
            "zerolinecolor": "#333",
        },  # fmt: skip
        showlegend=False,
    )
    return _figure(data, layout)
