"""The tables a report is built from, read from a fitted pipeline or an output directory.

Both readers return the same :class:`ReportInputs`; tables of mixed types (the
rankings, the CV metrics) taken from a pipeline go through the same CSV form as the
files of an output directory, so a report built either way holds the same numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import ArtefactError, DataError
from intelligent_training.io import confined, reading, resolve_run, verify_files
from intelligent_training.report import _layout as layout

__all__ = ["ReportInputs", "Selection", "inputs_from_directory", "inputs_from_pipeline"]


@dataclass
class Selection:
    """The feature selection of one target."""

    features: list[str]
    importance: pd.DataFrame | None = None  # index feature; consensus, family/method, votes
    agreement: pd.DataFrame | None = None  # family x family
    fold_importances: pd.DataFrame | None = None  # feature, family, method, fold, importance


@dataclass
class ReportInputs:
    """Everything the report shows, as plain tables."""

    rankings: pd.DataFrame | None
    selected_targets: list[str]
    failed_targets: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    skill: pd.DataFrame | None = None
    selections: dict[str, Selection] = field(default_factory=dict)
    cv_metrics: pd.DataFrame | None = None
    run: dict[str, Any] = field(default_factory=dict)
    config: str | None = None
    source: str = ""
    signals: dict[str, Any] | None = None  # report._tearsheet.signal_evidence


def _via_csv(frame: pd.DataFrame, **read: Any) -> pd.DataFrame:
    buffer = io.StringIO()
    frame.to_csv(buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, **read)


def _rankings_from(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    frame = frame.copy()
    if frame.index.name is None:
        frame.index.name = "target"
    return _via_csv(frame, index_col=0, keep_default_na=False, na_values=[""])


# ------------------------------------------------------------------ from a pipeline
def _importance_from(selector: Any) -> pd.DataFrame | None:
    if selector is None:
        return None
    imp = getattr(selector, "feature_importances_", None)
    if imp is None:
        return None
    names = getattr(selector, "feature_names_in_", None)
    if isinstance(imp, pd.Series):
        table = imp.rename("consensus_importance").to_frame()
    else:
        index = names if names is not None else range(len(imp))
        table = pd.DataFrame({"consensus_importance": np.asarray(imp, dtype=np.float64)}, index)
    table.index = pd.Index([str(i) for i in table.index], name="feature")
    per = getattr(selector, "importances_", None)
    if isinstance(per, pd.DataFrame) and per.index.isin(table.index).all():
        per = per.copy()
        per.columns = ["/".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in per]
        per.index = pd.Index([str(i) for i in per.index], name="feature")
        table = table.join(per, how="left")
    votes = getattr(selector, "votes_", None)
    if isinstance(votes, pd.Series) and len(votes) == len(table):
        table = table.assign(votes=np.asarray(votes))
    return _via_csv(table, index_col=0)


def _frame_or_none(obj: Any) -> pd.DataFrame | None:
    return obj.copy() if isinstance(obj, pd.DataFrame) and obj.size else None


def inputs_from_pipeline(pipe: Any) -> ReportInputs:
    """The report inputs of a fitted :class:`~intelligent_training.IntelligentPipeline`.

    Parameters
    ----------
    pipe : IntelligentPipeline
        Fitted (or loaded with ``IntelligentPipeline.load``).

    Returns
    -------
    ReportInputs
    """
    if not hasattr(pipe, "selected_targets_"):
        raise DataError("the pipeline is not fitted; call fit before report()")

    selections = {}
    for target in pipe.selected_targets_:
        selector = (getattr(pipe, "selectors_", None) or {}).get(target)
        agreement = _frame_or_none(getattr(selector, "agreement_matrix_", None))
        folds = _frame_or_none(getattr(selector, "fold_importances_", None))
        selections[target] = Selection(
            features=[str(f) for f in pipe.selected_features_.get(target, [])],
            importance=_importance_from(selector),
            agreement=None if agreement is None else _via_csv(agreement, index_col=0),
            fold_importances=None if folds is None else _via_csv(folds, index_col=0),
        )
    metrics = []
    for key, trainer in (getattr(pipe, "trainers_", None) or {}).items():
        cv = getattr(trainer, "cv_metrics_", None)
        if isinstance(cv, pd.DataFrame):
            metrics.append(cv.assign(group=key))
    cv_metrics = _via_csv(pd.concat(metrics), index_col=0) if metrics else None
    skill = getattr(pipe, "skill_by_timestamp_", None)
    from intelligent_training.io import header

    run = {
        "data": {
            "fingerprint": getattr(pipe, "data_fingerprint_", None),
            **(getattr(pipe, "data_summary_", None) or {}),
        },
        "versions": header("run")["versions"],
        "fit_timings_s": {k: round(float(v), 4) for k, v in pipe.timings_.items()},
        "n_features": int(getattr(pipe, "n_features_in_", 0)),
    }
    return ReportInputs(
        rankings=_rankings_from(getattr(pipe, "rankings_", None)),
        selected_targets=[str(t) for t in pipe.selected_targets_],
        failed_targets={str(k): str(v) for k, v in pipe.failed_targets_.items()},
        warnings=[str(w) for w in pipe.warnings_],
        skill=skill.copy() if isinstance(skill, pd.DataFrame) else None,
        selections=selections,
        cv_metrics=cv_metrics,
        run=run,
        config=None,
        source="fitted pipeline",
        signals=getattr(pipe, "signal_evidence_", None),
    )


# ---------------------------------------------------------------- from a directory
class _RunFiles:
    """The files of one run directory, each checked before it is parsed.

    When the manifest lists the run's files (``artefacts``: every published run), a
    file is read only after its SHA-256 matched, and a file it does not list is
    refused, as ``IntelligentPipeline.load`` does; a file that cannot be parsed is an
    :class:`~intelligent_training.exceptions.ArtefactError` naming it, never a
    traceback.
    """

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = root
        listed = manifest.get("artefacts")
        self.listing = listed if isinstance(listed, dict) else None
        self.where = str(root / layout.MANIFEST)

    def path(self, rel: str | Path) -> Path | None:
        """The verified path of ``rel``, or None when the run has no such file."""
        rel = Path(rel).as_posix()
        path = confined(self.root, rel, what="file")
        if not path.exists() and (self.listing is None or rel not in self.listing):
            return None
        if self.listing is not None:
            verify_files(self.root, self.listing, [rel], where=self.where)
        return path

    def read(self, rel: str | Path, parse: Any) -> Any:
        """``parse(path)`` of the verified file ``rel`` (None when absent)."""
        path = self.path(rel)
        if path is None:
            return None
        with reading(path):
            return parse(path)

    def text(self, rel: str | Path) -> str | None:
        return self.read(rel, lambda p: p.read_text(encoding="utf-8"))

    def csv(self, rel: str | Path, **kwargs: Any) -> pd.DataFrame | None:
        """A table, or None for a missing file or one without rows (an empty selection)."""

        def parse(path: Path) -> pd.DataFrame | None:
            if path.stat().st_size == 0:
                return None
            frame = pd.read_csv(path, **kwargs)
            return frame if frame.size else None

        return self.read(rel, parse)


def _read_skill(files: _RunFiles) -> pd.DataFrame | None:
    parts = [files.read(rel, pd.read_parquet) for rel in layout.SKILL_FILES.values()]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    columns = ("stage", "target", "family")
    skill = pd.concat([p.astype({c: str for c in columns}) for p in parts], ignore_index=True)
    return skill.astype({c: "category" for c in columns})


def _read_signals(root: Path) -> dict[str, Any] | None:
    """The tearsheet's evidence written by ``write_report_evidence`` (None when absent)."""
    import json

    if not (root / layout.SIGNAL_META).is_file() or not (root / layout.SIGNAL_ROWS).is_file():
        return None
    meta = json.loads((root / layout.SIGNAL_META).read_text(encoding="utf-8"))
    trials = root / layout.SIGNAL_TRIALS
    return {
        "rows": pd.read_parquet(root / layout.SIGNAL_ROWS),
        "trials": pd.read_parquet(trials) if trials.is_file() else None,
        "targets": dict(meta.get("targets") or {}),
        "n_trials": int(meta.get("n_trials") or 0),
    }


def _selected_from(
    files: _RunFiles, rankings: pd.DataFrame | None, manifest: dict[str, Any]
) -> tuple[list[str], dict[str, str]]:
    import yaml

    if "selected_targets" in manifest:
        selected, failed = manifest["selected_targets"], manifest.get("failed_targets") or {}
        if not isinstance(selected, list) or not isinstance(failed, dict):
            raise ArtefactError(f"{files.where}: selected_targets / failed_targets modified")
        return [str(t) for t in selected], {str(k): str(v) for k, v in failed.items()}
    doc = files.read(layout.RANKINGS_YAML, lambda p: yaml.safe_load(p.read_text("utf-8")))
    if doc is not None:
        with reading(files.root / layout.RANKINGS_YAML):
            return list(doc.get("selected_targets") or []), dict(doc.get("failed_targets") or {})
    if rankings is not None and "selected" in rankings:
        return [str(t) for t in rankings.index[rankings["selected"].astype(bool)]], {}
    return [], {}


def inputs_from_directory(path: str | Path) -> ReportInputs:
    """The report inputs of a finished output directory (no refit, no unpickling).

    A published directory is read through ``current`` (resolved once). Every file is
    checked against its SHA-256 in the manifest before it is parsed.

    Parameters
    ----------
    path : str or Path
        An output directory of ``intelligent-train`` or ``IntelligentPipeline.save``.

    Returns
    -------
    ReportInputs

    Raises
    ------
    DataError
        When ``path`` is not such a directory; an
        :class:`~intelligent_training.exceptions.ArtefactError` (a ``DataError``)
        naming the file when one is damaged, modified or cannot be parsed.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root} is not a directory; pass the output directory of a run")
    root = resolve_run(root)
    manifest = layout.read_manifest(root)
    files = _RunFiles(root, manifest)
    rankings = files.csv(layout.RANKINGS_CSV, index_col=0, keep_default_na=False, na_values=[""])
    if rankings is None and files.path(layout.RANKINGS_CSV) is not None:
        raise ArtefactError(f"{root / layout.RANKINGS_CSV} is empty; rerun to rewrite it")
    if rankings is None and not manifest:
        raise DataError(
            f"{root} holds neither {layout.RANKINGS_CSV} nor {layout.MANIFEST}; pass the output "
            "directory of an intelligent-train run or of IntelligentPipeline.save"
        )
    selected, failed = _selected_from(files, rankings, manifest)
    selections = {}
    for target in selected:
        folder = layout.selection_dir(root, target, manifest).relative_to(root)
        text = files.text(folder / layout.SELECTED_FEATURES)
        importance = files.csv(folder / layout.IMPORTANCE, index_col=0)
        if importance is not None and "consensus_importance" not in importance.columns:
            importance = None  # the selection was skipped: the file holds a note only
        selections[target] = Selection(
            features=[line for line in (text or "").splitlines() if line],
            importance=importance,
            agreement=files.csv(folder / layout.AGREEMENT, index_col=0),
            fold_importances=files.csv(folder / layout.FOLD_IMPORTANCES),
        )
    warnings = manifest.get("warnings")
    if warnings is None:
        text = files.text(layout.WARNINGS)
        warnings = [w for w in (text or "").splitlines() if w]
    return ReportInputs(
        rankings=rankings,
        selected_targets=selected,
        failed_targets=failed,
        warnings=[str(w) for w in warnings or []],
        skill=_read_skill(files),
        selections=selections,
        cv_metrics=files.csv(layout.CV_METRICS, index_col=0),
        run=manifest,
        config=files.text(layout.CONFIG),
        source="output directory",
        signals=_read_signals(root),
    )
