"""Helpers of the HTML tests: what a self-contained page must not contain."""

from __future__ import annotations

import re

#: A URL that a browser would fetch: in src/href attributes, CSS url() or @import.
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//)"""
    r"""|(?:@import)""",
    re.IGNORECASE,
)


def external_references(html: str) -> list[str]:
    """Every fetchable external reference in ``html`` (empty for a self-contained page)."""
    return [m.group(0) for m in EXTERNAL.finditer(html)]


def without_library(html: str) -> str:
    """``html`` without the embedded plotly.js (its own text holds URL strings)."""
    return re.sub(r'<script id="plotly-js">.*?</script>', "", html, count=1, flags=re.S)
