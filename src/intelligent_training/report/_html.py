"""Render ``report.json`` data to one self-contained HTML page (jinja2 + plotly.js).

plotly.js is embedded once, inline; every figure is a plain plotly specification
(:mod:`._figures`) in one JSON block, drawn by a few lines of JavaScript when it comes
near the screen (so opening a report with dozens of figures is quick). Nothing is
fetched: the page opens offline.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jinja2
import plotly  # noqa: F401  (the page embeds its plotly.js; missing: MissingDependencyError)

from intelligent_training.report import _figures as figures

__all__ = ["render"]


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 10**-digits or abs(value) >= 1e5):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["pct"] = _pct
    return env


def _template_source(name: str) -> str:
    return (
        resources.files("intelligent_training.report")
        .joinpath("templates", name)
        .read_text(encoding="utf-8")
    )


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The minified plotly.js bundled with the plotly package (embedded once per page)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _figures(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every figure of the page, keyed by the id of the ``<figure>`` that shows it."""
    leaderboard = data["leaderboard"]
    training = data["training"]
    families = list(leaderboard.get("families") or []) + [
        f for f in training.get("families", []) if f not in (leaderboard.get("families") or [])
    ]
    colors = figures.family_colors(families)
    out: dict[str, dict[str, Any]] = {}
    if any(r.get("score") is not None for r in leaderboard["rows"]):
        out["leaderboard"] = figures.leaderboard_figure(leaderboard)
    for i, (target, entry) in enumerate(data["skill_over_time"].items(), 1):
        out[f"skill_over_time--{i}"] = figures.skill_over_time_figure(target, entry, colors)
    for i, (target, entry) in enumerate(data["skill_by_fold"].items(), 1):
        out[f"skill_by_fold--{i}"] = figures.skill_by_fold_figure(target, entry, colors)
    for i, group in enumerate(data["skill_by_horizon"], 1):
        out[f"skill_by_horizon--{i}"] = figures.horizon_figure(group, colors)
    for i, (target, selection) in enumerate(data["selections"].items(), 1):
        if selection["importance"] and selection["importance"]["columns"]:
            out[f"importance--{i}"] = figures.importance_figure(target, selection["importance"])
        if selection["agreement"]:
            out[f"agreement--{i}"] = figures.agreement_figure(target, selection["agreement"])
        if selection["stability"]:
            out[f"stability--{i}"] = figures.stability_figure(target, selection["stability"])
    has_training = bool(training["targets"] and training["families"]) and any(
        r.get("oof_per_timestamp") is not None for r in training["rows"]
    )
    if has_training:
        out["training"] = figures.training_figure(training)
    for i, (target, sheet) in enumerate(
        (data.get("tearsheet") or {}).get("targets", {}).items(), 1
    ):
        if sheet.get("rank_autocorrelation"):
            out[f"autocorrelation--{i}"] = figures.rank_autocorrelation_figure(target, sheet)
        if len(sheet.get("skill_decay") or []) > 1:
            out[f"decay--{i}"] = figures.decay_figure(target, sheet)
        if sheet.get("bucket_mean_return"):
            out[f"buckets--{i}"] = figures.buckets_figure(target, sheet)
            out[f"cumulative--{i}"] = figures.cumulative_figure(target, sheet)
    return out


def _script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(data: dict[str, Any], memory: Any = None) -> str:
    """The HTML page of a report dictionary (see :func:`build_report`).

    Parameters
    ----------
    data : dict
        The report dictionary.
    memory : DiskCacheMemory, optional
        Accepted for compatibility and unused: the figures are plain specifications,
        built in milliseconds, and drawn by the browser.
    """
    specs = _figures(data)
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data,
        plots={k: int(v["layout"]["height"]) for k, v in specs.items()},
        figure_json=_script_json(specs),
        css=_template_source("report.css"),
        js=_template_source("report.js"),
        plotly_js=plotly_js(),
    )
