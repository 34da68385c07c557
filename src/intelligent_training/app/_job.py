"""One whole run from a :class:`PipelineConfig`: check → lock → load → fit → publish.

The console script is a thin layer over :func:`run_job`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intelligent_training.app._build import build_pipeline
from intelligent_training.app._preflight import check_config, check_symbols
from intelligent_training.app._runtime import collect_logs, parallel_backend
from intelligent_training.config import PipelineConfig, dump_config
from intelligent_training.io import (
    OutputLock,
    check_ownership,
    clean_leftovers,
    new_run_id,
    no_space,
    publish,
    versions,
    writable_dir,
)

__all__ = ["JobResult", "run_job"]

logger = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What a run produced (the CLI prints its summary from ``manifest``)."""

    output_dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    def load_pipeline(self) -> Any:
        """The fitted :class:`IntelligentPipeline`, loaded (and verified) from the outputs."""
        from intelligent_training.pipeline._pipeline import IntelligentPipeline

        return IntelligentPipeline.load(self.output_dir)


def _results_config(cfg: PipelineConfig) -> dict[str, Any]:
    """The part of the configuration that can change results (the job's cache key)."""
    data = cfg.model_dump(mode="json")
    data.pop("cache")
    data.pop("report")  # read when the report is written, after the (cached) fit
    data["data"].pop("data_dir")
    for key in ("output_dir", "verbose", "mlflow_uri"):
        data["runtime"].pop(key)
    return data


def _ok_rows(trainer: Any, *, summary: bool) -> Any:
    """Training rows of the trainer's successful fits: the final fits (``n_final`` of the
    ``fold == "mean"`` rows; a failed family's final fit has 0 rows) or the folds'
    (``n_train`` of the fold rows), or None."""
    metrics: Any = getattr(trainer, "cv_metrics_", None)
    try:
        rows = (metrics["fold"].astype(str) == "mean") == summary
        if "status" in metrics:
            rows &= metrics["status"] == "ok"
        return metrics.loc[rows, "n_final" if summary else "n_train"].dropna()
    except (AttributeError, KeyError, TypeError):
        return None


def _final_rows(trainer: Any) -> int | None:
    """Rows of the trainer's final fit (``n_final`` of its successful ``"mean"`` rows)."""
    final = _ok_rows(trainer, summary=True)
    return int(final.min()) if final is not None and len(final) else None


def _final_fit_warnings(pipe: Any) -> list[str]:
    """Targets whose final models saw fewer rows than their cross-validation folds did
    because ``training.max_rows_train`` capped them (a failed family is not one: the
    pipeline reports it as the failure it is)."""
    out = []
    for key, trainer in pipe.trainers_.items():
        if getattr(trainer, "max_rows_train", None) is None:
            continue
        final = _final_rows(trainer)
        folds = _ok_rows(trainer, summary=False)
        if folds is None:
            continue
        if final is None or not len(folds) or final >= int(folds.min()):
            continue
        targets = pipe.training_groups_.get(key, ([key], []))[0]
        out.append(
            f"the final model(s) of {targets} were fitted on {final} rows (training."
            f"max_rows_train), fewer than the {int(folds.min())} rows of the smallest "
            "cross-validation training fold: their CV metrics describe models trained on "
            "more data; raise --max-rows-train"
        )
    return out


def _summary_rows(pipe: Any) -> list[dict[str, Any]]:
    from intelligent_training.pipeline._pipeline import JOINT

    rankings = pipe.rankings_
    rows = []
    for target in pipe.selected_targets_:
        score = None
        if rankings is not None and "score" in rankings.columns and target in rankings.index:
            score = float(rankings.loc[target, "score"])
        key = target if target in pipe.trainers_ else JOINT
        models = getattr(pipe.trainers_[key], "models_", None) or {}
        families = sorted({str(k[-1] if isinstance(k, tuple) else k) for k in models})
        rows.append(
            {
                "target": target,
                "score": score,
                "n_features": len(pipe.selected_features_[target]),
                "families": families,
                "n_rows_final": _final_rows(pipe.trainers_[key]),
            }
        )
    return rows


def _fit_job(pipe: Any, X: Any, Y: Any, job_key: str) -> dict[str, Any]:
    """Fit the pipeline (memoised per job: the key is ``job_key``)."""
    pipe.fit(X, Y)
    return {"pipeline": pipe, "versions": versions()}


def _judge_on(pipe: Any, Y: Any, column: str) -> None:
    """Recompute the tearsheet's evidence with ``report.return_column`` (outside the cached fit)."""
    from intelligent_training.report._tearsheet import signal_evidence

    pipe.signal_evidence_ = signal_evidence(pipe, Y, return_column=column)


def _check_job(value: Any, pipe: Any, X: Any, Y: Any, job_key: str) -> str | None:
    """A stored job is ``{"pipeline": <pipe's class>, "versions": dict}`` (``cache.memoize``)."""
    from intelligent_training.cache import instance_of

    problem = instance_of(value, dict)
    if problem is None:
        problem = instance_of(value.get("pipeline"), type(pipe))
        if problem is None:
            problem = instance_of(value.get("versions"), dict)
        if problem is not None:
            problem = f"a job whose entry is {problem}"
    return problem


def _nothing_selected(pipe: Any, exc: BaseException) -> bool:
    """Whether ``exc`` is the ranking leaving no target (rankings exist, no selection ran)."""
    from intelligent_training.exceptions import DataError

    return (
        isinstance(exc, DataError)
        and getattr(pipe, "rankings_", None) is not None
        and not hasattr(pipe, "selectors_")
    )


def _describe(
    manifest: dict[str, Any], cfg: PipelineConfig, pipe: Any, facts: dict[str, Any]
) -> dict[str, Any]:
    """The console script's fields of the manifest (command, data, cache, timings, ...)."""
    manifest = {
        **manifest,
        "command": sys.argv,
        "data": {**facts["data"], "fingerprint": getattr(pipe, "data_fingerprint_", None)},
        "job_key": facts["job_key"],
        "n_selected_features": {
            t: len(f) for t, f in (getattr(pipe, "selected_features_", None) or {}).items()
        },
        "failed_targets": dict(getattr(pipe, "failed_targets_", None) or {}),
        # why the ranking kept fewer than top_n targets ("" when it kept top_n)
        "ranking_note": str(getattr(getattr(pipe, "ranker_", None), "selection_note_", "")),
        "warnings": list(getattr(pipe, "warnings_", None) or []) + facts["warnings"],
        "summary": _summary_rows(pipe) if getattr(pipe, "trainers_", None) else [],
        "cache": facts["cache"],
        "run_id": facts["run_id"],
    }
    if facts.get("error"):
        manifest["status"] = "no_target_selected"
        manifest["error"] = facts["error"]
    timings = facts["timings"]
    timings["write"] = time.perf_counter() - facts["write_started"]
    timings["total"] = time.perf_counter() - facts["started"]
    manifest["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
    return manifest


def _publish_run(
    output_dir: Path,
    cfg: PipelineConfig,
    pipe: Any,
    facts: dict[str, Any],
    log: Any,
    lock: OutputLock,
    memory: Any = None,
) -> dict[str, Any]:
    """Write the run into ``runs/<id>/`` and publish it; returns the manifest."""
    from intelligent_training.pipeline._outputs import write_run

    facts["write_started"] = time.perf_counter()
    facts["run_id"] = new_run_id()

    def write(run: Path) -> dict[str, Any]:
        (run / "resolved_config.yaml").write_text(dump_config(cfg), encoding="utf-8")

        def write_log(run: Path) -> None:
            logs = run / "training_results" / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            (logs / "run.log").write_text(log.getvalue(), encoding="utf-8")

        return write_run(
            pipe,
            run,
            describe=lambda manifest: _describe(manifest, cfg, pipe, facts),
            after_report=write_log,
            memory=memory,
        )

    return publish(
        output_dir, write, lock=lock, run_id=facts["run_id"], hint="choose another --output-dir"
    )


def _mirror(memory: Any, pipe: Any, facts: dict[str, Any]) -> None:
    if memory is None:
        return
    from intelligent_training.app._mirrors import write_mirrors

    about = {
        "job_key": facts["job_key"],
        "data_fingerprint": getattr(pipe, "data_fingerprint_", None),
        "computed_with": facts["cache"].get("computed_with"),
    }
    try:
        write_mirrors(memory.location, pipe, about)
    except OSError as exc:
        full = no_space(exc, memory.location, hint="choose another cache.directory")
        if full is not None:
            raise full from None
        raise


def run_job(cfg: PipelineConfig) -> JobResult:
    """Run the whole job a configuration describes and publish its outputs.

    Order: the checks that need no work (settings, families, the output and cache
    directories, the symbols), then the output directory's lock (one run at a time;
    a second run fails naming the holder), the cleanup of dead runs' leftovers, the
    data (only the needed columns), the fit, and the publication: every file is
    written once into ``runs/<id>/`` and published by switching ``current`` (see
    :mod:`intelligent_training.io._publish`), with ``manifest.json`` listing each
    file's SHA-256.

    Two cache levels serve a rerun: the whole job (keyed by the data fingerprint,
    the result-relevant configuration and the dependency versions; a hit skips the
    fit), and inside the pipeline the ranking (per target x family x fold cell),
    each selection and each training. With the cache, readable mirrors of the
    rankings and selections are written into the cache directory.

    Parameters
    ----------
    cfg : PipelineConfig

    Returns
    -------
    JobResult

    Raises
    ------
    ConfigError, DataError, IntelligentTrainingError
        With a message naming the problem; when the ranking selects no target the
        rankings are published first and the message gives each target's reason.
    """
    from intelligent_training.cache import (
        DiskCacheMemory,
        fingerprint,
        memoize,
        private_files,
    )
    from intelligent_training.data import load_xy

    check_config(cfg)
    if cfg.runtime.mlflow_uri is not None:
        from intelligent_training.app._tracking import import_mlflow

        import_mlflow()  # a missing mlflow fails now, not after the fit
    output_dir = Path(cfg.runtime.output_dir).resolve()
    location = None
    if cfg.cache.enabled:
        location = Path(cfg.cache.directory) if cfg.cache.directory else output_dir / "cache"
    with collect_logs() as log, OutputLock(output_dir) as lock:
        if location is not None:
            with private_files():  # the cache directory is never world-writable
                writable_dir(location, "cache directory")
        check_symbols(cfg)
        check_ownership(output_dir)  # a user's own manifest.json: refused before any work
        clean_leftovers(output_dir, lock=lock)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        X, Y = load_xy(
            cfg.data.data_dir,  # type: ignore[arg-type]  # checked by check_config
            cfg.data.symbols,
            time_column=cfg.data.time_column,
            min_cs=cfg.data.min_cs,
            target_patterns=cfg.data.target_patterns,
            features=cfg.data.features,
            targets=cfg.data.targets,
        )
        timings["load"] = time.perf_counter() - started
        if cfg.report.return_column is not None and cfg.report.return_column not in Y.columns:
            from intelligent_training.exceptions import ConfigError

            raise ConfigError(
                f"report.return_column: {cfg.report.return_column!r} is not a candidate target "
                "of the data; name a forward-return column that data.target_patterns (or "
                "data.targets) selects"
            )
        logger.info("loaded %d rows, %d features, %d candidate targets", *X.shape, Y.shape[1])

        step = time.perf_counter()
        results = json.dumps(_results_config(cfg), sort_keys=True)
        job_key = fingerprint(X, Y, results, versions())
        timings["fingerprint"] = time.perf_counter() - step

        memory = None
        fit_job = _fit_job
        if location is not None:
            memory = DiskCacheMemory(location, ttl=cfg.cache.ttl, refresh=cfg.cache.force_refresh)
            fit_job = memoize(memory, _fit_job, ignore=["pipe", "X", "Y"], check=_check_job)
        pipe = build_pipeline(
            cfg,
            targets=list(map(str, Y.columns)),
            features=list(map(str, X.columns)),
            memory=memory,
        )
        facts: dict[str, Any] = {
            "started": started,
            "timings": timings,
            "job_key": job_key,
            "warnings": [],
            "data": {
                "data_dir": str(cfg.data.data_dir),
                "symbols": sorted(map(str, X.index.get_level_values("symbol").unique())),
                "n_rows": int(len(X)),
                "n_features": int(X.shape[1]),
                "n_candidate_targets": int(Y.shape[1]),
            },
        }
        step = time.perf_counter()
        error = None
        try:
            with parallel_backend(cfg.runtime.dask_scheduler, cfg.runtime.threads_per_task):
                job = fit_job(pipe, X, Y, job_key)
            pipe = job["pipeline"]
        except Exception as exc:
            if not _nothing_selected(pipe, exc):
                raise
            error = exc
            job = {"versions": versions()}
        timings["fit"] = time.perf_counter() - step
        if error is None and cfg.report.return_column is not None:
            _judge_on(pipe, Y, cfg.report.return_column)
        del X, Y
        facts["cache"] = {
            "enabled": memory is not None,
            "location": None if memory is None else memory.location,
            "hits": 0 if memory is None else memory.hits,
            "misses": 0 if memory is None else memory.misses,
            "force_refresh": cfg.cache.force_refresh,
            "computed_with": job["versions"],
        }
        if error is None:
            for message in _final_fit_warnings(pipe):
                logger.warning(message)
                facts["warnings"].append(message)
        else:
            facts["error"] = str(error)
        manifest = _publish_run(output_dir, cfg, pipe, facts, log, lock, memory)
        _mirror(memory, pipe, facts)
        if cfg.runtime.mlflow_uri is not None and error is None:
            from intelligent_training.app._publish import resolve_run
            from intelligent_training.app._tracking import log_to_mlflow

            config = cfg.model_dump(mode="json")
            run_dir = resolve_run(output_dir)
            manifest["mlflow_run_id"] = log_to_mlflow(
                cfg.runtime.mlflow_uri, config, pipe, run_dir, manifest
            )
            logger.info(
                "logged to MLflow at %s (run %s)", cfg.runtime.mlflow_uri, manifest["mlflow_run_id"]
            )
    if error is not None:
        raise error
    return JobResult(output_dir=output_dir, manifest=manifest)
