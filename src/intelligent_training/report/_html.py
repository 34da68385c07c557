"""Render ``report.json`` data to one self-contained HTML page (jinja2 + inline SVG)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

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
    return resources.files("intelligent_training.report").joinpath("templates", name).read_text(
        encoding="utf-8"
    )


def _figures(data: dict[str, Any]) -> dict[str, Any]:
    """Every SVG of the page, keyed like the data it shows."""
    figures.reset_ids()
    leaderboard = data["leaderboard"]
    training = data["training"]
    families = list(leaderboard.get("families") or []) + [
        f for f in training.get("families", []) if f not in (leaderboard.get("families") or [])
    ]
    colors = figures.family_colors(families)
    out: dict[str, Any] = {
        "leaderboard": figures.leaderboard_figure(leaderboard)
        if any(r.get("score") is not None for r in leaderboard["rows"])
        else None,
        "skill_over_time": {
            t: figures.skill_over_time_figure(t, e, colors) for t, e in data["skill_over_time"].items()
        },
        "skill_by_fold": {
            t: figures.skill_by_fold_figure(t, e, colors) for t, e in data["skill_by_fold"].items()
        },
        "skill_by_horizon": [figures.horizon_figure(g, colors) for g in data["skill_by_horizon"]],
        "importance": {},
        "agreement": {},
        "stability": {},
        "training": figures.training_figure(training)
        if training["targets"] and training["families"] and any(
            r.get("oof_per_timestamp") is not None for r in training["rows"]
        )
        else None,
    }
    for target, selection in data["selections"].items():
        if selection["importance"] and selection["importance"]["columns"]:
            out["importance"][target] = figures.importance_figure(target, selection["importance"])
        if selection["agreement"]:
            out["agreement"][target] = figures.agreement_figure(target, selection["agreement"])
        if selection["stability"]:
            out["stability"][target] = figures.stability_figure(target, selection["stability"])
    return out


def render(data: dict[str, Any]) -> str:
    """The HTML page of a report dictionary (see :func:`build_report`)."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data,
        svg=_figures(data),
        css=_template_source("report.css"),
        js=_template_source("report.js"),
    )
