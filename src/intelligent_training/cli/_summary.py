"""The summary table printed at the end of a run."""

from __future__ import annotations

from typing import Any

__all__ = ["format_summary"]


def _models(trainer: Any) -> str:
    models = getattr(trainer, "models_", None)
    if isinstance(models, dict) and models:
        names = sorted({str(k[-1] if isinstance(k, tuple) else k) for k in models})
        return ",".join(names)
    families = getattr(trainer, "families", None)
    return ",".join(families) if isinstance(families, list) else "-"


def format_summary(result: Any) -> str:
    """A plain-text table: targets, scores, features, models, and where the outputs are."""
    pipe = result.pipeline
    rankings = pipe.rankings_
    rows = []
    for target in pipe.selected_targets_:
        score = "-"
        if rankings is not None and "score" in rankings.columns and target in rankings.index:
            score = f"{float(rankings.loc[target, 'score']):.4f}"
        key = target if target in pipe.trainers_ else "__joint__"
        rows.append(
            (target, score, str(len(pipe.selected_features_[target])), _models(pipe.trainers_[key]))
        )
    header = ("target", "score", "features", "models")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    for target, reason in pipe.failed_targets_.items():
        lines.append(f"skipped {target}: {reason}")
    cache = result.manifest.get("cache", {})
    timings = result.manifest.get("timings_s", {})
    lines.append("")
    if cache.get("enabled"):
        lines.append(f"cache: {cache['hits']} hits, {cache['misses']} misses ({cache['location']})")
    else:
        lines.append("cache: disabled")
    if "total" in timings:
        lines.append(f"time: {timings['total']:.1f}s")
    if pipe.warnings_:
        lines.append(f"warnings: {len(pipe.warnings_)} (see training_results/logs/warnings.txt)")
    lines.append(f"outputs: {result.output_dir}")
    return "\n".join(lines) + "\n"
