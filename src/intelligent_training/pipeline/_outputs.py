"""The output layout of a fitted pipeline: what is written where, and loading it back.

::

    <run>/                                   (published atomically, see io/_publish)
      target_rankings/target_predictability_rankings.{csv,yaml}
      target_rankings/feature_importances/<stem>.csv
      feature_selections/<stem>/selected_features.txt
      feature_selections/<stem>/feature_importance_multi_model.csv
      feature_selections/<stem>/model_agreement_matrix.csv
      training_results/models/pipeline.joblib, <stem>/ (a saved ModelTrainer)
      training_results/metrics/cv_metrics.csv, <stem>.csv
      training_results/predictions/<stem>.parquet   (out-of-fold predictions)
      training_results/logs/warnings.txt (+ run.log from the CLI)
      target_rankings/skill_by_timestamp.parquet, training_results/metrics/skill_by_timestamp.parquet
      feature_selections/<stem>/fold_importances.csv   (the report's evidence)
      report.html, report.json                 (intelligent_training.report.write_report)
      resolved_config.yaml (CLI), manifest.json

``<stem>`` is a target's file name (:func:`~intelligent_training.io.file_stem`:
the name itself when it is plain lower-case, else a slug plus a short hash), unique
per target; ``manifest.json`` (the ``io`` layer's format) maps every target to its
paths (``paths``) and lists every file with its SHA-256 (``artefacts``).
:func:`write_run` is the one writing sequence of ``IntelligentPipeline.save`` and the
console script; :func:`read_pipeline` checks the manifest's schema and the checksums
before it unpickles anything, and the type of everything it unpickled.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import ArtefactError
from intelligent_training.io import (
    MANIFEST,
    confined,
    dump_json,
    file_stem,
    finish_manifest,
    header,
    read_run_manifest,
    reading,
    resolve_run,
    unique_stems,
    verify_files,
)
from intelligent_training.report._layout import write_report_evidence

__all__ = [
    "MANIFEST",
    "PIPELINE_FILE",
    "read_pipeline",
    "safe_name",
    "write_layout",
    "write_run",
]

PIPELINE_FILE = "training_results/models/pipeline.joblib"
_MODELS = "training_results/models"


def safe_name(name: str) -> str:
    """The file name of a target's artefacts (see :func:`file_stem`)."""
    return file_stem(name)


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


def rankings_frame(pipe: Any) -> pd.DataFrame:
    """The rankings table written to ``target_predictability_rankings.csv``."""
    rankings = getattr(pipe, "rankings_", None)
    if rankings is None:  # manual targets: record the choice instead of a ranking
        chosen = list(getattr(pipe, "selected_targets_", None) or [])
        rankings = pd.DataFrame(
            {"rank": np.arange(1, len(chosen) + 1), "selected": True},
            index=pd.Index(chosen, name="target"),
        )
    rankings = rankings.copy()
    if rankings.index.name is None:
        rankings.index.name = "target"
    return rankings


def write_rankings(pipe: Any, root: Path, stems: dict[str, str]) -> dict[str, str]:
    """The ``target_rankings/`` folder; returns ``{target: importance file}``."""
    import yaml

    out = root / "target_rankings"
    (out / "feature_importances").mkdir(parents=True, exist_ok=True)
    rankings = rankings_frame(pipe)
    rankings.to_csv(out / "target_predictability_rankings.csv")
    doc = {
        "selected_targets": list(getattr(pipe, "selected_targets_", None) or []),
        "failed_targets": dict(getattr(pipe, "failed_targets_", None) or {}),
        "rankings": _json_records(rankings),
    }
    (out / "target_predictability_rankings.yaml").write_text(
        yaml.safe_dump(doc, sort_keys=False), encoding="utf-8"
    )
    files: dict[str, str] = {}
    imp = getattr(pipe.ranker_, "feature_importances_", None) if pipe.ranker_ is not None else None
    if isinstance(imp, dict):
        for target, table in imp.items():
            frame = _frame(table)
            if frame is not None:
                rel = f"target_rankings/feature_importances/{stems[str(target)]}.csv"
                frame.to_csv(root / rel)
                files[str(target)] = rel
    elif isinstance(imp, pd.DataFrame):
        imp.to_csv(out / "feature_importances" / "feature_importances.csv")
    if not files and not isinstance(imp, pd.DataFrame):
        for target, selector in getattr(pipe, "selectors_", {}).items():
            table = _consensus(selector)
            if table is not None:  # fall back to the selectors' consensus importances
                rel = f"target_rankings/feature_importances/{stems[target]}.csv"
                table.to_csv(root / rel)
                files[target] = rel
    return files


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


def selection_table(pipe: Any, target: str) -> pd.DataFrame:
    """``feature_importance_multi_model.csv`` of one target."""
    features = pipe.selected_features_[target]
    selector = pipe.selectors_.get(target)
    table = _importance_table(_consensus(selector), getattr(selector, "importances_", None))
    votes = getattr(selector, "votes_", None)
    if table is not None and isinstance(votes, pd.Series) and votes.index.equals(table.index):
        table = table.assign(votes=votes)
    shadows = getattr(selector, "shadow_wins_", None)  # relevance="shadow"
    if table is not None and isinstance(shadows, pd.DataFrame):
        table = table.join(shadows, how="left")
    if table is None:  # selection skipped or failed: say so instead of an empty file
        reason = "features given by the user" if selector is None else "no importances"
        table = pd.DataFrame({"feature": features, "note": reason}).set_index("feature")
    return table


def _write_selections(pipe: Any, root: Path, stems: dict[str, str]) -> dict[str, str]:
    folders = {}
    for target, features in pipe.selected_features_.items():
        rel = f"feature_selections/{stems[target]}"
        out = root / rel
        out.mkdir(parents=True, exist_ok=True)
        (out / "selected_features.txt").write_text("\n".join(features) + "\n", encoding="utf-8")
        selection_table(pipe, target).to_csv(out / "feature_importance_multi_model.csv")
        selector = pipe.selectors_.get(target)
        agreement = _frame(getattr(selector, "agreement_matrix_", None))
        if agreement is None:
            agreement = pd.DataFrame()
        agreement.to_csv(out / "model_agreement_matrix.csv")
        folders[target] = rel
    return folders


def _save_trainer(trainer: Any, root: Path, stem: str) -> dict[str, str]:
    """Write one trainer: its own native-format directory when it can, else joblib."""
    import joblib

    save = getattr(trainer, "save", None)
    if callable(save) and callable(getattr(type(trainer), "load", None)):
        save(root / _MODELS / stem)
        return {"format": "trainer_dir", "path": f"{_MODELS}/{stem}"}
    joblib.dump(trainer, root / _MODELS / f"{stem}.joblib")
    return {"format": "joblib", "path": f"{_MODELS}/{stem}.joblib"}


def _write_training(pipe: Any, root: Path, stems: dict[str, str]) -> dict[str, Any]:
    import joblib

    base = root / "training_results"
    for sub in ("models", "metrics", "predictions", "logs"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    metrics = []
    trainers: dict[str, dict[str, str]] = {}
    paths: dict[str, dict[str, str]] = {"metrics": {}, "predictions": {}}
    for key, trainer in pipe.trainers_.items():
        stem = stems[key]
        trainers[key] = _save_trainer(trainer, root, stem)
        cv = _frame(getattr(trainer, "cv_metrics_", None))
        if cv is not None:
            rel = f"training_results/metrics/{stem}.csv"
            cv.to_csv(root / rel)
            paths["metrics"][key] = rel
            metrics.append(cv.assign(group=key))
        oof = _frame(getattr(trainer, "oof_predictions_", None))
        if oof is not None:
            oof = oof.copy()
            oof.columns = [str(c) for c in oof.columns]
            rel = f"training_results/predictions/{stem}.parquet"
            from intelligent_training.data import write_parquet

            write_parquet(oof, root / rel)  # with page checksums
            paths["predictions"][key] = rel
    if metrics:
        pd.concat(metrics).to_csv(base / "metrics" / "cv_metrics.csv")
    (base / "logs" / "warnings.txt").write_text(
        "".join(f"{w}\n" for w in pipe.warnings_), encoding="utf-8"
    )
    # The pipeline itself without its trainers (they are in their own files above).
    shell = copy.copy(pipe)
    shell.trainers_ = {}
    joblib.dump(shell, root / PIPELINE_FILE)
    return {"pipeline": PIPELINE_FILE, "trainers": trainers, **paths}


def write_layout(pipe: Any, root: str | Path) -> dict[str, Any]:
    """Write a fitted pipeline's results into ``root`` (a run being written).

    Returns
    -------
    dict
        The ``paths`` of the manifest: ``pipeline``, ``trainers`` (key -> format and
        path), ``feature_selections``, ``feature_importances``, ``metrics``,
        ``predictions`` (key -> path), all relative to ``root``.
    """
    root = Path(root)
    names: list[str] = list(getattr(pipe, "trainers_", {}))
    rankings = getattr(pipe, "rankings_", None)
    if rankings is not None:
        names += [str(t) for t in rankings.index]
    names += list(pipe.selected_features_)
    stems = unique_stems(dict.fromkeys(names))
    importances = write_rankings(pipe, root, stems)
    selections = _write_selections(pipe, root, stems)
    training = _write_training(pipe, root, stems)
    # the report's evidence: per-timestamp skill, per-fold importances
    write_report_evidence(
        pipe,
        root,
        selection_dirs=lambda t: root / selections.get(t, f"feature_selections/{stems[t]}"),
    )
    return {
        **training,
        "feature_selections": selections,
        "feature_importances": importances,
        "targets": {t: stems[t] for t in pipe.selected_features_},
    }


def base_manifest(pipe: Any | None, paths: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest fields every run has (the console script adds its own)."""
    return {
        **header("run"),
        "status": "ok",
        "selected_targets": list(getattr(pipe, "selected_targets_", None) or []),
        "data": {"fingerprint": getattr(pipe, "data_fingerprint_", None)},
        "fit_timings_s": {
            k: round(v, 4) for k, v in (getattr(pipe, "timings_", None) or {}).items()
        },
        "paths": paths or {},
    }


def write_run(
    pipe: Any,
    run: str | Path,
    *,
    describe: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    after_report: Callable[[Path], None] | None = None,
    report_source: Any = None,
    memory: Any = None,
) -> dict[str, Any]:
    """Write every file of a run: layout → manifest (provisional) → report → manifest.

    Parameters
    ----------
    pipe : IntelligentPipeline
        Fitted; or with rankings only (the ranking kept no target): then only the
        rankings are written.
    run : path
        The run directory being written (``io.publishing``).
    describe : callable, optional
        ``manifest -> manifest``: the caller's fields (the console script's command,
        data, cache, timings), added before the report reads the manifest.
    after_report : callable, optional
        Writes files that must come after the report (the run's log).
    report_source : IntelligentPipeline, optional
        What the report is built from: by default the run directory itself (its
        provisional manifest gives the run's facts); ``IntelligentPipeline.save``
        passes the pipeline.
    memory : DiskCacheMemory, optional
        Caches the report's figures.

    Returns
    -------
    dict
        The final manifest (every file listed with its SHA-256).
    """
    from intelligent_training.report import write_report

    run = Path(run)
    if getattr(pipe, "trainers_", None):
        paths = write_layout(pipe, run)
    else:  # the ranking selected nothing: the rankings and why
        stems = unique_stems(str(t) for t in pipe.rankings_.index)
        paths = {"feature_importances": write_rankings(pipe, run, stems)}
    manifest = {**base_manifest(pipe, paths), "run_id": run.name.removeprefix(".incomplete-")}
    if describe is not None:
        manifest = describe(manifest)
    dump_json(run / MANIFEST, manifest)  # provisional: readable by the report
    # -- report hook: files written into `run` here are checksummed and published --
    source = run if report_source is None else report_source
    write_report(source, run, html=None, memory=memory)  # report.json (+ report.html)
    if after_report is not None:
        after_report(run)
    return finish_manifest(run, manifest)


def _loaded(obj: Any, kind: type, path: Path, where: str) -> Any:
    """``obj`` when it is a ``kind``, else an error naming the file and the manifest."""
    if not isinstance(obj, kind):
        raise ArtefactError(
            f"{path} holds a {type(obj).__name__}, not a {kind.__name__} (listed in {where}); "
            "the manifest was modified — restore it or rerun"
        )
    return obj


def read_pipeline(output_dir: str | Path) -> Any:
    """Load the pipeline saved under ``output_dir`` (and each of its trainers).

    The manifest is checked against its schema, every file against its SHA-256 in
    ``manifest.json`` before it is read, paths are confined to the directory, and
    what is unpickled must be what the manifest says (a pipeline, a trainer for the
    targets of its group). The joblib files are pickles: load only output
    directories from a source you trust.
    """
    import joblib

    from intelligent_training.pipeline._pipeline import IntelligentPipeline
    from intelligent_training.training import ModelTrainer

    run = resolve_run(output_dir)
    where = run / MANIFEST
    if not where.is_file() and not where.is_symlink():
        raise ArtefactError(
            f"{where} not found; pass the output directory of IntelligentPipeline.save or of "
            "an intelligent-train run (older versions' directories cannot be verified: "
            "rerun or save them again)"
        )
    manifest = read_run_manifest(where)
    paths, listing = manifest["paths"], manifest["artefacts"]
    trainers: dict[str, dict[str, str]] = paths["trainers"]
    check = [paths["pipeline"]]
    for info in trainers.values():
        rel = info["path"]
        check.append(f"{rel}/manifest.json" if info["format"] == "trainer_dir" else rel)
    verify_files(run, listing, check, where=str(where))
    pipe_path = confined(run, paths["pipeline"])
    with reading(pipe_path, what="pickle"):
        pipe = _loaded(joblib.load(pipe_path), IntelligentPipeline, pipe_path, str(where))
    groups = getattr(pipe, "training_groups_", None) or {}
    if set(trainers) != set(groups or trainers):
        raise ArtefactError(
            f"{where} lists trainers {sorted(trainers)} but the pipeline trained "
            f"{sorted(groups)}; the directory mixes two runs"
        )
    loaded = {}
    for key, info in trainers.items():
        path = confined(run, info["path"], what="trainer path")
        if info["format"] == "trainer_dir":
            trainer = ModelTrainer.load(path)
        else:
            with reading(path, what="pickle"):
                trainer = joblib.load(path)
            if isinstance(trainer, IntelligentPipeline) or not hasattr(trainer, "predict"):
                _loaded(trainer, ModelTrainer, path, f"{where} paths.trainers[{key!r}]")
        targets = [str(t) for t in (groups.get(key) or ([key], []))[0]]
        found = [str(t) for t in getattr(trainer, "targets_", targets)]
        if sorted(found) != sorted(targets):
            raise ArtefactError(
                f"{path} holds the trainer of {found}, but {where} lists it for {key!r} "
                f"(targets {targets}); the manifest was modified — restore it or rerun"
            )
        loaded[key] = trainer
    pipe.trainers_ = loaded
    return pipe
