"""One whole run from a :class:`PipelineConfig`: load → fit → write outputs atomically.

The console script is a thin layer over :func:`run_job`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from intelligent_training._version import __version__
from intelligent_training.config import PipelineConfig, dump_config
from intelligent_training.exceptions import ConfigError, DataError, MissingDependencyError

__all__ = ["JobResult", "build_pipeline", "run_job"]

logger = logging.getLogger(__name__)

_VERSIONED = ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "shap", "torch")


@dataclass
class JobResult:
    """What a run produced (the CLI prints its summary from ``manifest``)."""

    output_dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    def load_pipeline(self) -> Any:
        """The fitted :class:`IntelligentPipeline`, loaded from the outputs."""
        from intelligent_training.pipeline._pipeline import IntelligentPipeline

        return IntelligentPipeline.load(self.output_dir)


def _make(cls: type, **kwargs: Any) -> Any:
    """Build ``cls`` with the keyword arguments it accepts (others are logged and dropped)."""
    accepted = set(cls().get_params(deep=False))
    dropped = sorted(k for k in kwargs if k not in accepted)
    if dropped:
        logger.debug("%s does not take %s; ignored", cls.__name__, dropped)
    return cls(**{k: v for k, v in kwargs.items() if k in accepted})


def _cv(n_splits: int, embargo: Any = 0) -> Any:
    from intelligent_training.model_selection import PurgedTimeSeriesSplit

    return PurgedTimeSeriesSplit(n_splits=n_splits, embargo=embargo)


def build_pipeline(
    cfg: PipelineConfig,
    *,
    targets: list[str] | None = None,
    features: list[str] | None = None,
    memory: Any = None,
) -> Any:
    """The :class:`IntelligentPipeline` a configuration describes.

    Parameters
    ----------
    cfg : PipelineConfig
    targets, features : list of str, optional
        Candidate targets / features; used as is when the ranking / selection
        step is disabled in ``cfg``.
    memory : DiskCacheMemory or None

    Returns
    -------
    IntelligentPipeline
    """
    from intelligent_training.pipeline._pipeline import IntelligentPipeline
    from intelligent_training.ranking import TargetRanker
    from intelligent_training.selection import FeatureSelector
    from intelligent_training.training import ModelTrainer

    rt, tr, fs, tn = cfg.runtime, cfg.target_ranking, cfg.feature_selection, cfg.training
    verbose = None if rt.verbose >= 1 else False
    # One horizon per target for every stage: the ranking section's overrides and default.
    horizons = dict(tr.horizons) or None
    default_horizon = tr.default_horizon
    ranker = _make(
        TargetRanker,
        families=tr.families,
        cv=_cv(tr.n_splits, tr.embargo),
        top_n=tr.top_n,
        min_score=tr.min_score,
        n_jobs=rt.n_jobs,
        random_state=rt.random_state,
        horizons=horizons,
        default_horizon=default_horizon,
        verbose=verbose,
    )
    selector = _make(
        FeatureSelector,
        families=fs.families,
        importance=tuple(fs.importance),
        top_m=fs.top_m,
        require_min_models=fs.require_min_models,
        cv=_cv(fs.n_splits, tr.embargo),
        aggregate_symbols=fs.aggregate_symbols,
        random_state=rt.random_state,
        n_jobs=rt.n_jobs,
        horizons=horizons,
        default_horizon=default_horizon,
        verbose=verbose,
    )
    trainer = _make(
        ModelTrainer,
        families=tn.families,
        strategy=tn.strategy,
        cv=_cv(tn.n_splits, tr.embargo),
        n_jobs=rt.n_jobs,
        random_state=rt.random_state,
        cpu_only=rt.cpu_only,
        threads=rt.threads,
        max_rows_train=tn.max_rows_train,
        horizons=horizons,
        default_horizon=default_horizon,
        verbose=verbose,
    )
    return IntelligentPipeline(
        ranker,
        selector,
        trainer,
        targets=None if tr.enabled else targets,
        features=None if fs.enabled else features,
        memory=memory,
        target_patterns=cfg.data.target_patterns,
        verbose=verbose,
    )


def _restrict(frame: pd.DataFrame, names: list[str] | None, what: str) -> pd.DataFrame:
    if names is None:
        return frame
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(
            f"unknown {what} {missing} (not columns of the data); available {what}: "
            f"{', '.join(map(str, frame.columns[:30]))}"
        )
    return frame[list(names)]


def _versions() -> dict[str, str]:
    out = {"intelligent-training": __version__, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


class _LogBuffer(logging.Handler):
    """Collect the run's log records for ``training_results/logs/run.log``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.StringIO()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging must never break the run
            self.handleError(record)


def _results_config(cfg: PipelineConfig) -> dict[str, Any]:
    """The part of the configuration that can change results (the job's cache key)."""
    data = cfg.model_dump(mode="json")
    data.pop("cache")
    data["data"].pop("data_dir")
    for key in ("output_dir", "verbose"):
        data["runtime"].pop(key)
    return data


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
            }
        )
    return rows


def _fit_job(cfg: PipelineConfig, X: Any, Y: Any, memory: Any, job_key: str) -> dict[str, Any]:
    """Fit the pipeline and collect the files of its output layout (memoised per job)."""
    import tempfile

    from intelligent_training.pipeline._outputs import write_layout

    pipe = build_pipeline(
        cfg, targets=list(map(str, Y.columns)), features=list(map(str, X.columns)), memory=memory
    )
    pipe.fit(X, Y)
    with tempfile.TemporaryDirectory(prefix="intelligent-train-") as tmp:
        write_layout(pipe, tmp)
        root = Path(tmp)
        files = {
            str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }
    return {
        "files": files,
        "summary": _summary_rows(pipe),
        "data_fingerprint": pipe.data_fingerprint_,
        "selected_targets": list(pipe.selected_targets_),
        "n_selected_features": {t: len(f) for t, f in pipe.selected_features_.items()},
        "failed_targets": dict(pipe.failed_targets_),
        "warnings": list(pipe.warnings_),
        "fit_timings_s": {k: round(v, 4) for k, v in pipe.timings_.items()},
    }


@contextlib.contextmanager
def _parallel_backend(scheduler: str | None) -> Iterator[None]:
    """Send joblib work to a Dask cluster when a scheduler address is configured."""
    if not scheduler:
        yield
        return
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise MissingDependencyError(
            "runtime.dask_scheduler needs dask.distributed; install "
            "'intelligent-training[dask]' or remove the setting"
        ) from exc
    import joblib

    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at runtime.dask_scheduler={scheduler!r} ({exc}); "
            "check the address or remove the setting"
        ) from exc
    logger.info("running joblib work on the Dask cluster at %s", scheduler)
    try:
        with joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()


def run_job(cfg: PipelineConfig) -> JobResult:
    """Run the whole job a configuration describes and write its outputs.

    Loads the panel, fits an :class:`IntelligentPipeline` (cached under
    ``<output_dir>/cache`` unless disabled) and writes the output layout, the
    resolved configuration and a manifest. Everything except ``cache/`` is
    written into a temporary sibling directory and moved into place at the end.

    Two cache levels serve a rerun: the whole job (keyed by the data fingerprint
    and the result-relevant configuration; a hit rewrites the stored output files
    without loading any model), and inside the pipeline the ranking (per target x
    family x fold cell), each selection and each training, so a changed setting or
    an added target recomputes only what it affects.

    Parameters
    ----------
    cfg : PipelineConfig

    Returns
    -------
    JobResult

    Raises
    ------
    ConfigError, DataError, IntelligentTrainingError
        With a message naming the problem.
    """
    from intelligent_training.cache import DiskCacheMemory, fingerprint
    from intelligent_training.data import load_panel, split_features_targets
    from intelligent_training.pipeline._outputs import staging

    if cfg.data.data_dir is None:
        raise ConfigError("no data directory: pass --data-dir (or data.data_dir in the config)")
    output_dir = Path(cfg.runtime.output_dir).resolve()
    buffer = _LogBuffer()
    package_logger = logging.getLogger("intelligent_training")
    package_logger.addHandler(buffer)
    logging.getLogger("py.warnings").addHandler(buffer)
    old_level = package_logger.level
    if package_logger.getEffectiveLevel() > logging.INFO:
        package_logger.setLevel(logging.INFO)
    try:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        panel = load_panel(
            cfg.data.data_dir,
            cfg.data.symbols,
            time_column=cfg.data.time_column,
            min_cs=cfg.data.min_cs,
        )
        X, Y = split_features_targets(panel, cfg.data.target_patterns)
        del panel
        X = _restrict(X, cfg.data.features, "features")
        Y = _restrict(Y, cfg.data.targets, "targets")
        timings["load"] = time.perf_counter() - started
        logger.info("loaded %d rows, %d features, %d candidate targets", *X.shape, Y.shape[1])

        step = time.perf_counter()
        job_key = fingerprint(X, Y, json.dumps(_results_config(cfg), sort_keys=True))
        timings["fingerprint"] = time.perf_counter() - step

        memory = None
        fit_job = _fit_job
        if cfg.cache.enabled:
            location = Path(cfg.cache.directory) if cfg.cache.directory else output_dir / "cache"
            memory = DiskCacheMemory(location, ttl=cfg.cache.ttl, refresh=cfg.cache.force_refresh)
            fit_job = memory.cache(_fit_job, ignore=["cfg", "X", "Y", "memory"])
        step = time.perf_counter()
        with _parallel_backend(cfg.runtime.dask_scheduler):
            job = fit_job(cfg, X, Y, memory, job_key)
        timings["fit"] = time.perf_counter() - step

        step = time.perf_counter()
        symbols = sorted(map(str, X.index.get_level_values("symbol").unique()))
        manifest: dict[str, Any] = {
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv,
            "versions": _versions(),
            "data": {
                "data_dir": str(cfg.data.data_dir),
                "fingerprint": job["data_fingerprint"],
                "symbols": symbols,
                "n_rows": int(len(X)),
                "n_features": int(X.shape[1]),
                "n_candidate_targets": int(Y.shape[1]),
            },
            "job_key": job_key,
            "selected_targets": job["selected_targets"],
            "n_selected_features": job["n_selected_features"],
            "failed_targets": job["failed_targets"],
            "warnings": job["warnings"],
            "summary": job["summary"],
            "cache": {
                "enabled": memory is not None,
                "location": None if memory is None else memory.location,
                "hits": 0 if memory is None else memory.hits,
                "misses": 0 if memory is None else memory.misses,
                "force_refresh": cfg.cache.force_refresh,
            },
            "fit_timings_s": job["fit_timings_s"],
        }
        with staging(output_dir) as tmp:
            for rel, content in job["files"].items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            (tmp / "resolved_config.yaml").write_text(dump_config(cfg), encoding="utf-8")
            timings["write"] = time.perf_counter() - step
            timings["total"] = time.perf_counter() - started
            manifest["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            (tmp / "training_results" / "logs" / "run.log").write_text(
                buffer.stream.getvalue(), encoding="utf-8"
            )
        return JobResult(output_dir=output_dir, manifest=manifest)
    finally:
        package_logger.removeHandler(buffer)
        logging.getLogger("py.warnings").removeHandler(buffer)
        package_logger.setLevel(old_level)
