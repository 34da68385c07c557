"""Size and render time of report pages in headless Chromium (before/after comparisons).

Usage::

    python benchmarks/bench_report_page.py OLD.html NEW.html [--runs 5]

For each page: its size; ``load``, the time from navigation to the load event (the HTML
parsed and laid out, inline scripts such as plotly.js evaluated); and, for pages with
lazily drawn plotly figures, ``draw all``, the time ``itReportDrawAll()`` takes to draw
every figure at once (what scrolling through the whole page costs in total). Measured in
the page with ``performance.now()`` (real time also under ``--virtual-time-budget``,
which only lets the browser wait for the page without waiting in real time); medians of
``--runs`` fresh browser starts; ratios against the first page.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

PROBE = """<script>
window.addEventListener("load", function () {
  var t = {load: performance.now()};
  setTimeout(function () {
    if (window.itReportDrawAll) {
      var s = performance.now(); window.itReportDrawAll(); t.draw_all = performance.now() - s;
    }
    var pre = document.createElement("pre"); pre.id = "bench"; pre.textContent = JSON.stringify(t);
    document.body.appendChild(pre);
  }, 0);
});
</script>"""


def measure(page: Path, chromium: str, runs: int) -> dict[str, float]:
    html = page.read_text(encoding="utf-8").replace("<head>", "<head>\n" + PROBE, 1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "page.html"
        probe.write_text(html, encoding="utf-8")
        for run in range(runs):
            out = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--user-data-dir={tmp}/profile{run}", "--window-size=1400,1100",
                 "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            match = re.search(r'<pre id="bench">(.*?)</pre>', out.stdout, re.S)
            if match:
                results.append(json.loads(match.group(1).replace("&quot;", '"')))
    if not results:
        raise SystemExit(f"{page}: the page did not report its timings")
    keys = {k for r in results for k in r}
    return {k: statistics.median(r[k] for r in results if k in r) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("headless Chromium not found (Debian: apt-get install chromium)")
    first: dict[str, float] = {}
    for page in args.pages:
        m = measure(page, chromium, args.runs)
        m["bytes"] = page.stat().st_size
        first = first or m
        line = (
            f"{page}: {m['bytes'] / 1e6:.2f} MB ({m['bytes'] / first['bytes']:.2f}x), "
            f"load {m['load']:.0f} ms ({m['load'] / first['load']:.2f}x)"
        )
        if "draw_all" in m:
            line += f", draw all {m['draw_all']:.0f} ms"
        print(line)


if __name__ == "__main__":
    main()
