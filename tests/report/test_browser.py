"""The report in headless Chromium: no console errors, nothing fetched, a screenshot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian: apt-get install chromium); "
    "the browser test of report.html is skipped",
)

# Records console errors/warnings, failed loads, uncaught errors and every fetched
# resource; clicks the leaderboard's score header; draws every figure, then moves the
# mouse over one (a real mousemove on its plot area) and counts its legend entries; writes
# it all into the DOM.
PROBE = """<script>
(function () {
  var log = {errors: [], warnings: [], resources: [], sorted: null, plots: 0, drawn: 0,
             hover: null, hover_text: null, legend_entries: null, xaxis_types: []};
  var error = console.error, warn = console.warn;
  console.error = function () { log.errors.push(Array.prototype.join.call(arguments, " "));
    error.apply(console, arguments); };
  console.warn = function () { log.warnings.push(Array.prototype.join.call(arguments, " "));
    warn.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    log.errors.push(e.message || ("failed to load " + (e.target && (e.target.src || e.target.href))));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { log.errors.push("rejection " + e.reason); });
  function mouse(el, type, x, y) {
    el.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, clientX: x, clientY: y,
                                          view: window, buttons: type === "mousedown" ? 1 : 0}));
  }
  function finish() {
    log.resources = performance.getEntriesByType("resource").map(function (r) { return r.name; });
    var pre = document.createElement("pre");
    pre.id = "probe-result";
    pre.textContent = JSON.stringify(log);
    document.body.appendChild(pre);
  }
  function interact() {
    var plots = document.querySelectorAll("div.plot[data-plot]");
    log.drawn = Number(document.body.getAttribute("data-plots-drawn") || 0);
    plots.forEach(function (p) { if (p.layout) { log.xaxis_types.push(p.getAttribute("data-plot") + ":" + p.layout.xaxis.type); } });
    var target = document.querySelector('div.plot[data-plot^="skill_over_time"]') || plots[0];
    if (target) {
      target.scrollIntoView();
      var drag = target.querySelector(".nsewdrag");
      var box = drag.getBoundingClientRect();
      var fired = false;
      target.on("plotly_hover", function () { fired = true; });
      mouse(drag, "mousemove", box.left + box.width * 0.5, box.top + box.height * 0.5);
      setTimeout(function () {
        var text = target.querySelector(".hoverlayer");
        log.hover = fired;
        log.hover_text = text ? text.textContent : null;
        log.legend_entries = target.querySelectorAll(".legend .traces").length;
        finish();
      }, 200);
    } else { finish(); }
  }
  window.addEventListener("load", function () {
    setTimeout(function () {
      var table = document.getElementById("leaderboard-table");
      if (table) {
        var th = Array.prototype.filter.call(table.tHead.rows[0].cells,
          function (c) { return c.textContent.trim() === "score"; })[0];
        th.click(); th.click();  // descending, then ascending
        log.sorted = Array.prototype.map.call(table.tBodies[0].rows,
          function (r) { return r.cells[1].textContent.trim(); });
      }
      log.plots = document.querySelectorAll("div.plot[data-plot]").length;
      if (window.itReportDrawAll) { window.itReportDrawAll(); }
      setTimeout(interact, 1500);
    }, 50);
  });
})();
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _probe(html: str, tmp_path: Path) -> dict:
    page = tmp_path / "probe.html"
    page.write_text(html.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    result = _chromium(tmp_path, "--dump-dom", page.as_uri())
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the page did not finish loading in Chromium: {result.stderr[-2000:]}"
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(text.replace("&amp;", "&"))


def test_the_probe_sees_errors_and_fetches(tmp_path):
    broken = (
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<img src="missing.png"><script>console.error("boom"); notDefined();</script>'
        "</body></html>"
    )
    log = _probe(broken, tmp_path)
    assert any("boom" in e for e in log["errors"])
    assert any("notDefined" in e for e in log["errors"])
    assert any("missing.png" in r for r in log["resources"] + log["errors"])


def test_report_renders_without_errors_or_fetches(fitted, saved_dir, tmp_path):
    html_path = saved_dir / "report.html"
    log = _probe(html_path.read_text(encoding="utf-8"), tmp_path)
    assert log["errors"] == []
    assert log["warnings"] == []
    assert [r for r in log["resources"] if not r.startswith("data:")] == []
    # the sortable leaderboard sorts by score, ascending after the second click
    scores = fitted.rankings_["score"].sort_values(kind="stable")
    assert log["sorted"] == list(scores.index)
    # every figure is drawn by plotly.js, and responds to the mouse
    assert log["plots"] > 10 and log["drawn"] == log["plots"]
    assert log["hover"] is True  # plotly_hover fired on a real mousemove over the plot
    assert "lightgbm" in log["hover_text"]  # the hover label names the family and its value
    assert re.search(r"\d\.\d{3}", log["hover_text"])
    assert log["legend_entries"] >= 2  # one per family: a click hides or shows it
    assert any(t.startswith("skill_over_time") and t.endswith(":date") for t in log["xaxis_types"])

    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1800", html_path.as_uri())
    assert shot.is_file() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
