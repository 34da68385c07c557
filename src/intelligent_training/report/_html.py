"""Render ``report.json`` data to one self-contained HTML page (jinja2 + inline SVG)."""

from __future__ import annotations

import functools
import hashlib
import inspect
from importlib import resources
from typing import Any

import jinja2

from intelligent_training.report import _figures as figures
from intelligent_training.report import _svg as svg_writer

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
def _drawing_code() -> str:
    """A digest of the drawing modules' source: part of a cached figure's key."""
    digest = hashlib.blake2b(digest_size=8)
    for module in (figures, svg_writer):
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


def _draw(name: str, args: tuple[Any, ...], code: str = "") -> str:
    """One figure: ``figures.<name>(*args)`` (a module-level function, so it can be cached).

    ``code`` (:func:`_drawing_code`) is only there to key the cache: an edit of the drawing
    code misses it instead of serving the figures of the old code.
    """
    return str(getattr(figures, name)(*args))


def _check_drawn(value: Any, name: str, args: tuple[Any, ...], code: str = "") -> str | None:
    """A stored figure is SVG text (see ``cache.memoize``)."""
    from intelligent_training.cache import instance_of

    return instance_of(value, str)


class _Drawer:
    """Draws figures (through ``memory`` when given) and makes their ids unique."""

    def __init__(self, memory: Any = None) -> None:
        self.count = 0
        self.draw = _draw
        if memory is not None:
            from intelligent_training.cache import memoize

            self.draw = memoize(memory, _draw, check=_check_drawn)

    def __call__(self, func: Any, *args: Any) -> str:
        self.count += 1
        text = self.draw(func.__name__, args, _drawing_code())
        return figures.prefix_ids(text, f"f{self.count}-")


def _figures(data: dict[str, Any], memory: Any = None) -> dict[str, Any]:
    """Every SVG of the page, keyed like the data it shows."""
    draw = _Drawer(memory)
    leaderboard = data["leaderboard"]
    training = data["training"]
    families = list(leaderboard.get("families") or []) + [
        f for f in training.get("families", []) if f not in (leaderboard.get("families") or [])
    ]
    colors = figures.family_colors(families)
    has_scores = any(r.get("score") is not None for r in leaderboard["rows"])
    has_training = bool(training["targets"] and training["families"]) and any(
        r.get("oof_per_timestamp") is not None for r in training["rows"]
    )
    out: dict[str, Any] = {
        "leaderboard": draw(figures.leaderboard_figure, leaderboard) if has_scores else None,
        "skill_over_time": {
            t: draw(figures.skill_over_time_figure, t, e, colors)
            for t, e in data["skill_over_time"].items()
        },
        "skill_by_fold": {
            t: draw(figures.skill_by_fold_figure, t, e, colors)
            for t, e in data["skill_by_fold"].items()
        },
        "skill_by_horizon": [
            draw(figures.horizon_figure, g, colors) for g in data["skill_by_horizon"]
        ],
        "importance": {},
        "agreement": {},
        "stability": {},
        "training": draw(figures.training_figure, training) if has_training else None,
    }
    for target, selection in data["selections"].items():
        if selection["importance"] and selection["importance"]["columns"]:
            out["importance"][target] = draw(
                figures.importance_figure, target, selection["importance"]
            )
        if selection["agreement"]:
            out["agreement"][target] = draw(
                figures.agreement_figure, target, selection["agreement"]
            )
        if selection["stability"]:
            out["stability"][target] = draw(
                figures.stability_figure, target, selection["stability"]
            )
    return out


def render(data: dict[str, Any], memory: Any = None) -> str:
    """The HTML page of a report dictionary (see :func:`build_report`).

    Parameters
    ----------
    data : dict
        The report dictionary.
    memory : DiskCacheMemory, optional
        Caches each figure's SVG by its data (a rerun of a cached job draws nothing).
    """
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data,
        svg=_figures(data, memory),
        css=_template_source("report.css"),
        js=_template_source("report.js"),
    )
