"""report.html: every target and figure, nothing fetched from the network, clear errors."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from intelligent_training.exceptions import MissingDependencyError
from intelligent_training.report import build_report, render_html, write_report

from ._pages import external_references, without_library


@pytest.fixture(scope="module")
def page(fitted, saved_dir):
    """The report written by ``IntelligentPipeline.save`` and the data behind it."""
    return build_report(fitted), (saved_dir / "report.html").read_text(encoding="utf-8")


def test_the_detector_finds_external_references():
    assert external_references('<img src="https://x.org/a.png">')
    assert external_references("<link href='//cdn.x/a.css' rel=stylesheet>")
    assert external_references("<div style=\"background:url('http://x/y.png')\">")
    assert external_references("<style>@import 'a.css';</style>")
    assert not external_references('<a href="#leaderboard">x</a><link rel="icon" href="data:,">')


def test_page_is_self_contained(page):
    _, html = page
    # plotly.js itself holds URL strings (links it never follows here, such as map tile
    # servers); the browser test checks that nothing is fetched while the page runs
    rest = without_library(html)
    assert external_references(rest) == []
    assert "http://" not in rest and "https://" not in rest
    assert "<script src" not in html and 'rel="stylesheet"' not in html


def test_plotly_js_is_embedded_once(page):
    _, html = page
    from intelligent_training.report._html import plotly_js

    assert html.count(plotly_js()) == 1
    assert html.count('<script id="plotly-js">') == 1


def test_page_shows_every_target_and_figure(page, fitted):
    data, html = page
    for target in fitted.rankings_.index:
        assert f"<b>{target}</b>" in html  # its leaderboard row
    for target in data["skill_over_time"]:
        assert f"{target}: out-of-fold" in html  # its skill-over-time figure title
    expected = {"leaderboard", "training"}
    n_selected = len(fitted.selected_targets_)
    for i in range(1, n_selected + 1):
        expected |= {f"importance--{i}", f"agreement--{i}", f"stability--{i}"}
    for i in range(1, len(data["skill_by_horizon"]) + 1):
        expected.add(f"skill_by_horizon--{i}")
    for i in range(1, n_selected + 1):
        expected |= {f"skill_over_time--{i}", f"skill_by_fold--{i}"}
    for figure_id in expected:
        assert f'<figure id="{figure_id}">' in html, figure_id
    specs = _specs(html)
    plots = re.findall(r'<div class="plot" data-plot="([^"]+)"', html)
    assert sorted(plots) == sorted(specs)  # one spec per drawn figure, each shown once
    assert expected <= set(specs)
    n_tearsheets = len(data["tearsheet"]["targets"])
    assert len(re.findall(r'id="tearsheet-\d+"', html)) == n_tearsheets > 0
    from markupsafe import escape

    for figure in data["figures"].values():  # each figure type is explained by its caption
        if figure["title"].startswith(("Forward return by", "Top-minus", "Skill decay")):
            continue  # only for targets with a return / stem siblings
        assert str(escape(figure["caption"])) in html


def test_the_skill_over_time_caption_is_said_once(page):
    data, html = page
    from markupsafe import escape

    caption = str(escape(data["figures"]["skill_over_time"]["caption"]))
    assert html.count(caption) == 1


def test_a_saved_pipeline_report_has_the_data_and_run_cards(page, fitted):
    _, html = page
    summary = fitted.data_summary_
    assert '<div class="k">data</div>' in html
    assert f"{summary['n_rows']:,} rows" in html
    assert f"{summary['n_features']} features · {len(summary['symbols'])} symbols" in html
    assert '<div class="k">fit time</div>' in html  # the run card of a fitted pipeline


def _specs(html):
    match = re.search(
        r'<script type="application/json" id="figure-data">(.*?)</script>', html, re.S
    )
    return json.loads(match.group(1))


def _without(monkeypatch, module):
    """Make ``module`` unimportable and forget the report modules that imported it."""
    import intelligent_training.report as package

    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    for name in ("_html", "_figures"):
        monkeypatch.delitem(sys.modules, f"intelligent_training.report.{name}", raising=False)
        monkeypatch.delattr(package, name, raising=False)


@pytest.mark.parametrize("module", ["jinja2", "plotly"])
def test_missing_dependency_names_the_extra(fitted, monkeypatch, module):
    _without(monkeypatch, module)
    with pytest.raises(MissingDependencyError, match=r"intelligent-training\[report\]"):
        render_html(fitted)


def test_a_run_without_the_extra_writes_the_json_and_warns(fitted, tmp_path, monkeypatch, caplog):
    _without(monkeypatch, "plotly")
    with caplog.at_level(logging.WARNING, logger="intelligent_training.report"):
        path = write_report(fitted, tmp_path, html=None)
    assert path.name == "report.json" and path.is_file()
    assert not (tmp_path / "report.html").exists()
    assert "intelligent-training[report]" in caplog.text
    with pytest.raises(MissingDependencyError):
        write_report(fitted, tmp_path / "strict")


def test_pipeline_report_method_is_deterministic(fitted, page, tmp_path, monkeypatch):
    _, saved = page
    path = fitted.report(tmp_path / "nb")
    assert path == tmp_path / "nb" / "report.html"
    assert path.read_text(encoding="utf-8") == saved  # same page, rendered a second time
    assert (tmp_path / "nb" / "report.json").is_file()
    # without a path the page is returned (rendering stubbed: it was checked above)
    import intelligent_training.report as package

    monkeypatch.setattr(
        package, "render_html", lambda source: f"<html>{len(source.selected_targets_)}"
    )
    assert fitted.report() == f"<html>{len(fitted.selected_targets_)}"


def test_unfitted_pipeline_report_fails_clearly():
    from sklearn.exceptions import NotFittedError

    from intelligent_training import IntelligentPipeline

    with pytest.raises(NotFittedError):
        IntelligentPipeline().report()
