"""The run report: ``report.json`` (every number) and a self-contained ``report.html``.

>>> from intelligent_training.report import build_report, render_html, write_report

- :func:`build_report` — the ``report.json`` dictionary of a fitted pipeline or of a
  finished output directory (no refit, no unpickling);
- :func:`render_html` — one HTML page with interactive plotly figures (plotly.js
  embedded once), inline CSS and JavaScript; it fetches nothing and opens offline;
- :func:`write_report` — both files, written atomically.

Building ``report.json`` needs only the core dependencies; the HTML needs the
``report`` extra (plotly, jinja2): ``pip install 'intelligent-training[report]'``.
"""

from intelligent_training.report._write import build_report, render_html, write_report

__all__ = ["build_report", "render_html", "write_report"]
