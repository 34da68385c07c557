"""Where the report's inputs live in an output directory (the one place that knows).

The report reads only plain artefacts (CSV, parquet, JSON, YAML, text), never the
pickled pipeline. Two small artefacts exist for the report alone and are written by
:func:`write_report_evidence` from ``write_layout``:

- ``target_rankings/skill_by_timestamp.parquet`` and
  ``training_results/metrics/skill_by_timestamp.parquet``: the per-timestamp
  out-of-fold skill of the ranking and training stages (``skill_by_timestamp_``);
- ``feature_selections/<target>/fold_importances.csv``: the selector's per-fold
  importances (``fold_importances_``), behind the selection stability figure;
- ``training_results/metrics/signal_evidence.parquet`` (the selected targets'
  out-of-fold signals and the returns they are judged on), ``signal_trials.parquet``
  (every trial's per-rebalance long-short return and turnover) and
  ``signal_evidence.json`` (per target: task, horizon, return column, stem siblings;
  the number of trials): the pipeline's ``signal_evidence_``, behind the tearsheet.
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
SIGNAL_ROWS = Path("training_results") / "metrics" / "signal_evidence.parquet"
SIGNAL_TRIALS = Path("training_results") / "metrics" / "signal_trials.parquet"
SIGNAL_META = Path("training_results") / "metrics" / "signal_evidence.json"


def read_manifest(root: Path) -> dict[str, Any]:
    """``manifest.json`` of a run directory (empty when absent).

    A damaged file, a symbolic link or JSON nested too deeply is an
    :class:`~intelligent_training.exceptions.ArtefactError` naming it.
    """
    from intelligent_training.io import read_json

    path = root / MANIFEST
    if not path.exists() and not path.is_symlink():
        return {}
    return read_json(path)


def selection_dir(root: Path, target: str, manifest: dict[str, Any] | None = None) -> Path:
    """The ``feature_selections`` folder of ``target``.

    A manifest that records the per-target folders (``{"paths": {"feature_selections":
    {target: folder}}}``) wins; otherwise the file-system safe target name is used.
    """
    from intelligent_training.io import confined, file_stem

    paths = (manifest or {}).get("paths")
    recorded = (paths.get("feature_selections") if isinstance(paths, dict) else None) or {}
    if isinstance(recorded, dict) and target in recorded:
        return confined(root, recorded[target], what="selection folder")
    return root / SELECTIONS / file_stem(target)


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
    evidence = getattr(pipe, "signal_evidence_", None)
    if isinstance(evidence, dict) and evidence.get("targets"):
        from intelligent_training.data import write_parquet

        (root / SIGNAL_META).parent.mkdir(parents=True, exist_ok=True)
        write_parquet(evidence["rows"], root / SIGNAL_ROWS)
        if evidence.get("trials") is not None:
            write_parquet(evidence["trials"], root / SIGNAL_TRIALS, index=False)
        meta = {"targets": evidence["targets"], "n_trials": evidence["n_trials"]}
        (root / SIGNAL_META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    locate = selection_dirs or (lambda target: selection_dir(root, target))
    for target, selector in (getattr(pipe, "selectors_", None) or {}).items():
        folds = getattr(selector, "fold_importances_", None)
        if isinstance(folds, pd.DataFrame) and len(folds):
            folder = Path(locate(target))
            folder.mkdir(parents=True, exist_ok=True)
            folds.to_csv(folder / FOLD_IMPORTANCES, index=False)
