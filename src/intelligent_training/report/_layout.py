"""Where the report's inputs live in an output directory (the one place that knows).

The report reads only plain artefacts (CSV, parquet, JSON, YAML, text), never the
pickled pipeline. Two small artefacts exist for the report alone and are written by
:func:`write_report_evidence` from ``write_layout``:

- ``target_rankings/skill_by_timestamp.parquet`` and
  ``training_results/metrics/skill_by_timestamp.parquet``: the per-timestamp
  out-of-fold skill of the ranking and training stages (``skill_by_timestamp_``);
- ``feature_selections/<target>/fold_importances.csv``: the selector's per-fold
  importances (``fold_importances_``), behind the selection stability figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "REPORT_HTML",
    "REPORT_JSON",
    "read_manifest",
    "selection_dir",
    "write_report_evidence",
]

REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
MANIFEST = "manifest.json"
CONFIG = "resolved_config.yaml"
RANKINGS_CSV = Path("target_rankings") / "target_predictability_rankings.csv"
RANKINGS_YAML = Path("target_rankings") / "target_predictability_rankings.yaml"
SKILL_FILES = {
    "ranking": Path("target_rankings") / "skill_by_timestamp.parquet",
    "training": Path("training_results") / "metrics" / "skill_by_timestamp.parquet",
}
CV_METRICS = Path("training_results") / "metrics" / "cv_metrics.csv"
WARNINGS = Path("training_results") / "logs" / "warnings.txt"
SELECTIONS = Path("feature_selections")
SELECTED_FEATURES = "selected_features.txt"
IMPORTANCE = "feature_importance_multi_model.csv"
AGREEMENT = "model_agreement_matrix.csv"
FOLD_IMPORTANCES = "fold_importances.csv"


def read_manifest(root: Path) -> dict[str, Any]:
    """``manifest.json`` of an output directory (empty when absent)."""
    path = root / MANIFEST
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def selection_dir(root: Path, target: str, manifest: dict[str, Any] | None = None) -> Path:
    """The ``feature_selections`` folder of ``target``.

    A manifest that records the per-target folders (``{"paths": {"feature_selections":
    {target: folder}}}``) wins; otherwise the file-system safe target name is used.
    """
    recorded = ((manifest or {}).get("paths") or {}).get("feature_selections") or {}
    if target in recorded:
        return root / recorded[target]
    from intelligent_training.pipeline._outputs import safe_name

    return root / SELECTIONS / safe_name(target)


def write_report_evidence(pipe: Any, root: str | Path, selection_dirs: Any = None) -> None:
    """Write the report's own artefacts of a fitted pipeline into ``root``.

    Parameters
    ----------
    pipe : IntelligentPipeline
        Fitted; ``skill_by_timestamp_`` and the selectors' ``fold_importances_`` are
        written when present.
    root : str or Path
        The (staging) output directory.
    selection_dirs : callable, optional
        ``target -> folder`` of that target's selection files (default
        :func:`selection_dir`).
    """
    root = Path(root)
    skill = getattr(pipe, "skill_by_timestamp_", None)
    if isinstance(skill, pd.DataFrame) and len(skill):
        for stage, rel in SKILL_FILES.items():
            part = skill[skill["stage"] == stage]
            if len(part):
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                from intelligent_training.data import write_parquet

                write_parquet(part.reset_index(drop=True), root / rel, index=False)
    locate = selection_dirs or (lambda target: selection_dir(root, target))
    for target, selector in (getattr(pipe, "selectors_", None) or {}).items():
        folds = getattr(selector, "fold_importances_", None)
        if isinstance(folds, pd.DataFrame) and len(folds):
            folder = Path(locate(target))
            folder.mkdir(parents=True, exist_ok=True)
            folds.to_csv(folder / FOLD_IMPORTANCES, index=False)
