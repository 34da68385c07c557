"""Optional MLflow tracking of a finished run (``--mlflow-uri`` / ``runtime.mlflow_uri``).

After the run is published, one MLflow run (experiment ``intelligent-training``, named
after the run id) gets the resolved configuration as parameters, the per-target
metrics as metrics (the ranking score, each family's mean cross-validated metrics,
and with a model search its raw and deflated best trial), and the published run
directory as artefacts (``report.html``, ``report.json``, ``manifest.json``, the
metrics, the models). ``mlflow`` is the optional ``mlflow`` extra, imported only here.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from intelligent_training.exceptions import IntelligentTrainingError, MissingDependencyError

__all__ = ["EXPERIMENT", "import_mlflow", "log_to_mlflow"]

logger = logging.getLogger(__name__)

EXPERIMENT = "intelligent-training"
_METRICS = (
    "skill",
    "r2",
    "ic_mean",
    "icir",
    "auc",
    "logloss",
    "accuracy",
    "n_trials",
    "oof_skill",
    "oof_skill_deflated",
    "deflated_pvalue",
    "pbo",
)
_MAX_PARAM = 500  # MLflow's limit on a parameter value is larger; keep them readable


def import_mlflow() -> Any:
    """``mlflow``, or a :class:`MissingDependencyError` saying how to install it."""
    try:
        import mlflow
    except ImportError:
        raise MissingDependencyError(
            "--mlflow-uri (runtime.mlflow_uri) needs mlflow, which is not installed. Install "
            "the 'mlflow' extra: pip install 'intelligent-training[mlflow]' (or pip install "
            "mlflow), or leave out --mlflow-uri."
        ) from None
    return mlflow


def _flat(data: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    out[prefix.rstrip(".")] = str(data)[:_MAX_PARAM]
    return out


def _metric_key(*parts: str) -> str:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./ ")
    return "/".join("".join(c if c in allowed else "_" for c in str(p)) for p in parts)


def _metrics(pipe: Any) -> dict[str, float]:
    """Per-target metrics: the ranking score and each family's mean CV metrics."""
    import pandas as pd

    out: dict[str, float] = {}
    rankings = getattr(pipe, "rankings_", None)
    if isinstance(rankings, pd.DataFrame) and "score" in rankings.columns:
        for target, score in rankings["score"].items():
            out[_metric_key(str(target), "ranking_score")] = float(score)
    for trainer in (getattr(pipe, "trainers_", None) or {}).values():
        cv = getattr(trainer, "cv_metrics_", None)
        if not isinstance(cv, pd.DataFrame) or "fold" not in cv.columns:
            continue
        for row in cv[cv["fold"].astype(str) == "mean"].to_dict("records"):
            for name in _METRICS:
                value = row.get(name)
                if isinstance(value, int | float) and math.isfinite(value):
                    out[_metric_key(row["target"], row["family"], name)] = float(value)
    return out


def log_to_mlflow(
    uri: str, config: dict[str, Any], pipe: Any, run_dir: Path, manifest: dict[str, Any]
) -> str:
    """Log a published run to the MLflow tracking server at ``uri``; returns the MLflow run id.

    Raises
    ------
    MissingDependencyError
        mlflow is not installed.
    IntelligentTrainingError
        The tracking server refused or failed (the outputs are published all the same).
    """
    mlflow = import_mlflow()
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(EXPERIMENT)
        with mlflow.start_run(run_name=str(manifest.get("run_id") or "run")) as active:
            params = _flat(config)
            for start in range(0, len(params), 100):  # MLflow takes 100 per batch
                mlflow.log_params(dict(list(params.items())[start : start + 100]))
            mlflow.set_tags(
                {
                    "run_id": str(manifest.get("run_id")),
                    "job_key": str(manifest.get("job_key")),
                    "selected_targets": ",".join(map(str, getattr(pipe, "selected_targets_", []))),
                }
            )
            metrics = _metrics(pipe)
            if metrics:
                mlflow.log_metrics(metrics)
            mlflow.log_artifacts(str(run_dir))
            return str(active.info.run_id)
    except MissingDependencyError:
        raise
    except Exception as exc:
        raise IntelligentTrainingError(
            f"logging the run to MLflow at {uri!r} failed ({type(exc).__name__}: {exc}); the "
            f"outputs are published in {run_dir.parent.parent} all the same. Check the "
            "tracking URI (file:///path or http://host:5000) and the server."
        ) from None
