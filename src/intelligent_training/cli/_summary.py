"""The summary table printed at the end of a run."""

from __future__ import annotations

from typing import Any

__all__ = ["format_summary"]


def format_summary(result: Any) -> str:
    """A plain-text table: targets, scores, features, models, and where the outputs are."""
    manifest = result.manifest
    header = ("target", "score", "features", "models")
    rows = [
        (
            row["target"],
            "-" if row["score"] is None else f"{row['score']:.4f}",
            str(row["n_features"]),
            ",".join(row["families"]) or "-",
        )
        for row in manifest.get("summary", [])
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if manifest.get("ranking_note"):
        lines.append(f"targets: {manifest['ranking_note']}")
    for target, reason in manifest.get("failed_targets", {}).items():
        lines.append(f"skipped {target}: {reason}")
    cache = manifest.get("cache", {})
    timings = manifest.get("timings_s", {})
    lines.append("")
    if cache.get("enabled"):
        lines.append(f"cache: {cache['hits']} hits, {cache['misses']} misses ({cache['location']})")
    else:
        lines.append("cache: disabled")
    if "total" in timings:
        lines.append(f"time: {timings['total']:.1f}s")
    if manifest.get("warnings"):
        n = len(manifest["warnings"])
        lines.append(f"warnings: {n} (see training_results/logs/warnings.txt)")
    lines.append(f"outputs: {result.output_dir}")
    return "\n".join(lines) + "\n"
