"""Build, render and write a report from a fitted pipeline or an output directory."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from intelligent_training.exceptions import MissingDependencyError
from intelligent_training.report import _layout as layout

__all__ = ["build_report", "render_html", "write_report"]

logger = logging.getLogger(__name__)


def _inputs(source: Any) -> Any:
    from intelligent_training.report._inputs import inputs_from_directory, inputs_from_pipeline

    if isinstance(source, (str, os.PathLike)):
        return inputs_from_directory(Path(source))
    return inputs_from_pipeline(source)


def build_report(source: Any, *, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``report.json`` dictionary: every number behind the report's figures.

    Parameters
    ----------
    source : IntelligentPipeline, str or Path
        A fitted pipeline, or an output directory of ``intelligent-train`` /
        ``IntelligentPipeline.save`` (read from its CSV/parquet/JSON files).
    options : dict, optional
        The signal tearsheet's ``quantiles`` and ``cost_bps`` (default: the run's
        ``report`` configuration section, else 5 quantiles and 5 bp).

    Returns
    -------
    dict
        JSON-serialisable; see ``docs/report.md`` for the keys.
    """
    from intelligent_training.report._data import build_report_data

    if isinstance(source, dict):
        return source
    return build_report_data(_inputs(source), options)


def render_html(source: Any, *, memory: Any = None) -> str:
    """The self-contained HTML report.

    Parameters
    ----------
    source : IntelligentPipeline, str, Path or dict
        What :func:`build_report` takes, or its result.
    memory : DiskCacheMemory, optional
        Caches every figure by its data, so re-rendering an unchanged run is fast.

    Returns
    -------
    str

    Raises
    ------
    MissingDependencyError
        Without the ``report`` extra (plotly and jinja2).
    """
    data = build_report(source)
    try:
        from intelligent_training.report._html import render
    except ImportError as exc:
        raise MissingDependencyError(
            f"the HTML report needs plotly and jinja2 ({exc.name or exc} is missing); "
            "install them with: pip install 'intelligent-training[report]'"
        ) from exc
    return render(data, memory)


def _atomic_write(path: Path, text: str) -> None:
    from intelligent_training.io import atomic_write

    atomic_write(path, text)


def write_report(
    source: Any,
    directory: str | Path | None = None,
    *,
    html: bool | None = True,
    memory: Any = None,
) -> Path | None:
    """Write ``report.json`` and ``report.html``.

    Parameters
    ----------
    source : IntelligentPipeline, str or Path
        A fitted pipeline or a finished output directory.
    directory : str or Path, optional
        Where to write; default: ``source`` when it is a directory.
    html : bool or None, default=True
        ``True``: write the HTML (a :class:`MissingDependencyError` without the
        ``report`` extra); ``False``: ``report.json`` only; ``None`` (what a run and
        ``IntelligentPipeline.save`` do): best effort, the HTML when the extra is
        installed, and a logged warning instead of an error when the report cannot be
        built.
    memory : DiskCacheMemory, optional
        Caches every figure by its data (a run passes its cache).

    Returns
    -------
    Path or None
        ``report.html`` (or ``report.json`` when no HTML was written); ``None`` when
        ``html=None`` and nothing could be written.
    """
    if directory is None:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError("write_report(pipeline, directory): pass the directory to write to")
        directory = Path(source)
    try:
        data = build_report(source)  # first: a bad source creates nothing
    except Exception as exc:
        if html is not None:
            raise
        # policy: inside a run or a save the report is best effort; the results are not
        logger.warning("report not written (%s: %s)", type(exc).__name__, exc)
        return None
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    page = None
    if html is not False:
        try:
            page = render_html(data, memory=memory)
        except Exception as exc:
            if html:
                raise
            # policy: inside a run or a save the report is best effort; the results are not
            logger.warning("report.html not written (%s: %s)", type(exc).__name__, exc)
    _atomic_write(out / layout.REPORT_JSON, json.dumps(data, indent=1, allow_nan=False) + "\n")
    if page is None:
        return out / layout.REPORT_JSON
    _atomic_write(out / layout.REPORT_HTML, page)
    return out / layout.REPORT_HTML
