"""The output directory layout and its atomic publication.

::

    <output_dir>/
      cache/                                   (persistent; never written here)
      target_rankings/target_predictability_rankings.{csv,yaml}
      target_rankings/feature_importances/<target>.csv
      feature_selections/<target>/selected_features.txt
      feature_selections/<target>/feature_importance_multi_model.csv
      feature_selections/<target>/model_agreement_matrix.csv
      training_results/models/pipeline.joblib, <target>.joblib
      training_results/metrics/cv_metrics.csv, <target>.csv
      training_results/predictions/<target>.parquet   (out-of-fold predictions)
      training_results/logs/warnings.txt (+ run.log from the CLI)
      target_rankings/skill_by_timestamp.parquet, training_results/metrics/skill_by_timestamp.parquet
      feature_selections/<target>/fold_importances.csv   (the report's evidence)
      report.html, report.json                 (intelligent_training.report.write_report)
      resolved_config.yaml, manifest.json      (written by the CLI job)
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError
from intelligent_training.report._layout import write_report_evidence

__all__ = ["publish", "read_pipeline", "safe_name", "staging", "write_layout"]

logger = logging.getLogger(__name__)

PIPELINE_FILE = Path("training_results") / "models" / "pipeline.joblib"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")


def safe_name(name: str) -> str:
    """A file-system safe version of a target name (``/`` and spaces become ``_``)."""
    cleaned = _UNSAFE.sub("_", str(name)).strip(".")
    return cleaned or "_"


def publish(staged: Path, output_dir: Path) -> None:
    """Move every entry of ``staged`` into ``output_dir``, replacing older ones."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for entry in sorted(staged.iterdir()):
        dest = output_dir / entry.name
        if dest.is_dir() and not dest.is_symlink():
            old = output_dir / f".{entry.name}.old-{os.getpid()}"
            dest.rename(old)
            entry.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(entry, dest)


@contextlib.contextmanager
def staging(output_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``output_dir``; publish it on success, drop it on error."""
    output_dir = Path(output_dir).resolve()
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        yield tmp
        publish(tmp, output_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _frame(obj: Any) -> pd.DataFrame | None:
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pd.Series):
        return obj.to_frame(obj.name if obj.name is not None else "value")
    if isinstance(obj, np.ndarray):
        return pd.DataFrame(obj)
    return None


def _json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.reset_index().to_json(orient="records", date_format="iso"))


def _write_rankings(pipe: Any, root: Path) -> None:
    import yaml

    out = root / "target_rankings"
    (out / "feature_importances").mkdir(parents=True, exist_ok=True)
    rankings = pipe.rankings_
    if rankings is None:  # manual targets: record the choice instead of a ranking
        rankings = pd.DataFrame(
            {"rank": np.arange(1, len(pipe.selected_targets_) + 1), "selected": True},
            index=pd.Index(pipe.selected_targets_, name="target"),
        )
    rankings = rankings.copy()
    if rankings.index.name is None:
        rankings.index.name = "target"
    rankings.to_csv(out / "target_predictability_rankings.csv")
    doc = {
        "selected_targets": list(pipe.selected_targets_),
        "failed_targets": dict(pipe.failed_targets_),
        "rankings": _json_records(rankings),
    }
    (out / "target_predictability_rankings.yaml").write_text(
        yaml.safe_dump(doc, sort_keys=False), encoding="utf-8"
    )
    written = _write_ranker_importances(pipe.ranker_, out / "feature_importances")
    if not written:  # fall back to the selectors' consensus importances
        for target, selector in pipe.selectors_.items():
            imp = _consensus(selector)
            if imp is not None:
                imp.to_csv(out / "feature_importances" / f"{safe_name(target)}.csv")


def _write_ranker_importances(ranker: Any, out: Path) -> bool:
    imp = getattr(ranker, "feature_importances_", None) if ranker is not None else None
    if isinstance(imp, dict):
        for target, table in imp.items():
            frame = _frame(table)
            if frame is not None:
                frame.to_csv(out / f"{safe_name(target)}.csv")
        return bool(imp)
    frame = _frame(imp)
    if frame is not None and isinstance(imp, pd.DataFrame):
        frame.to_csv(out / "feature_importances.csv")
        return True
    return False


def _consensus(selector: Any) -> pd.DataFrame | None:
    if selector is None:
        return None
    imp = getattr(selector, "feature_importances_", None)
    if imp is None:
        return None
    if isinstance(imp, pd.Series):
        return imp.rename("consensus_importance").rename_axis("feature").to_frame()
    names = getattr(selector, "feature_names_in_", None)
    return pd.DataFrame(
        {"consensus_importance": np.asarray(imp)},
        index=pd.Index(names if names is not None else range(len(imp)), name="feature"),
    )


def _importance_table(consensus: pd.DataFrame | None, per_family: Any) -> pd.DataFrame | None:
    """One row per feature: the consensus importance beside each family x method column."""
    per = _frame(per_family)
    if per is None:
        return consensus
    if consensus is None:
        return per
    if not per.index.isin(consensus.index).all() and per.columns.isin(consensus.index).all():
        per = per.T  # families/methods as rows: turn them into columns
    if per.index.isin(consensus.index).all():
        per = per.copy()
        per.columns = [
            "/".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in per.columns
        ]
        return consensus.join(per, how="left")
    return per


def _write_selections(pipe: Any, root: Path) -> None:
    for target, features in pipe.selected_features_.items():
        out = root / "feature_selections" / safe_name(target)
        out.mkdir(parents=True, exist_ok=True)
        (out / "selected_features.txt").write_text("\n".join(features) + "\n", encoding="utf-8")
        selector = pipe.selectors_.get(target)
        table = _importance_table(_consensus(selector), getattr(selector, "importances_", None))
        votes = getattr(selector, "votes_", None)
        if table is not None and isinstance(votes, pd.Series) and votes.index.equals(table.index):
            table = table.assign(votes=votes)
        if table is None:  # selection skipped or failed: say so instead of an empty file
            reason = "features given by the user" if selector is None else "no importances"
            table = pd.DataFrame({"feature": features, "note": reason}).set_index("feature")
        table.to_csv(out / "feature_importance_multi_model.csv")
        agreement = _frame(getattr(selector, "agreement_matrix_", None))
        if agreement is None:
            agreement = pd.DataFrame()
        agreement.to_csv(out / "model_agreement_matrix.csv")


def _save_trainer(trainer: Any, models: Path, name: str) -> dict[str, str]:
    """Write one trainer: its own native-format directory when it can, else joblib."""
    import joblib

    save = getattr(trainer, "save", None)
    if callable(save) and callable(getattr(type(trainer), "load", None)):
        save(models / name)
        return {"format": "trainer_dir", "path": name}
    joblib.dump(trainer, models / f"{name}.joblib")
    return {"format": "joblib", "path": f"{name}.joblib"}


def _write_training(pipe: Any, root: Path) -> None:
    import joblib

    base = root / "training_results"
    for sub in ("models", "metrics", "predictions", "logs"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    metrics = []
    files: dict[str, dict[str, str]] = {}
    for key, trainer in pipe.trainers_.items():
        name = safe_name(key)
        files[key] = _save_trainer(trainer, base / "models", name)
        cv = _frame(getattr(trainer, "cv_metrics_", None))
        if cv is not None:
            cv.to_csv(base / "metrics" / f"{name}.csv")
            metrics.append(cv.assign(group=key))
        oof = _frame(getattr(trainer, "oof_predictions_", None))
        if oof is not None:
            oof = oof.copy()
            oof.columns = [str(c) for c in oof.columns]
            oof.to_parquet(base / "predictions" / f"{name}.parquet")
    if metrics:
        pd.concat(metrics).to_csv(base / "metrics" / "cv_metrics.csv")
    (base / "logs" / "warnings.txt").write_text(
        "".join(f"{w}\n" for w in pipe.warnings_), encoding="utf-8"
    )
    # The pipeline itself without its trainers (they are in their own files above).
    shell = copy.copy(pipe)
    shell.trainers_ = {}
    shell._trainer_files = files
    joblib.dump(shell, root / PIPELINE_FILE)


def write_layout(pipe: Any, root: str | Path) -> None:
    """Write a fitted pipeline's results into ``root`` (a staging directory)."""
    root = Path(root)
    _write_rankings(pipe, root)
    _write_selections(pipe, root)
    _write_training(pipe, root)
    write_report_evidence(pipe, root)  # per-timestamp skill, per-fold importances


def read_pipeline(output_dir: str | Path) -> Any:
    """Load the pipeline saved under ``output_dir`` (and each of its trainers)."""
    import joblib

    path = Path(output_dir) / PIPELINE_FILE
    if not path.is_file():
        raise DataError(
            f"{path} not found; pass the output directory of IntelligentPipeline.save "
            "or of an intelligent-train run"
        )
    pipe = joblib.load(path)
    models = path.parent
    trainers = {}
    for key, info in getattr(pipe, "_trainer_files", {}).items():
        if info["format"] == "trainer_dir":
            from intelligent_training.training import ModelTrainer

            trainers[key] = ModelTrainer.load(models / info["path"])
        else:
            trainers[key] = joblib.load(models / info["path"])
    pipe.trainers_ = trainers
    del pipe._trainer_files
    return pipe
