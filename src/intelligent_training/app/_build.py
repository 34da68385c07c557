"""The :class:`IntelligentPipeline` a :class:`PipelineConfig` describes."""

from __future__ import annotations

import logging
from typing import Any

from intelligent_training.config import PipelineConfig

__all__ = ["build_pipeline"]

logger = logging.getLogger(__name__)


def _make(cls: type, **kwargs: Any) -> Any:
    """Build ``cls`` from configuration values.

    ``None`` means "the estimator's default" (the argument is left out); a key the
    estimator does not take is an error, never silently dropped.
    """
    from intelligent_training.exceptions import ConfigError

    accepted = set(cls().get_params(deep=False))
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown:
        raise ConfigError(
            f"{cls.__name__} does not take {unknown}; the configuration and the estimator "
            f"disagree (it takes {', '.join(sorted(accepted))})"
        )
    return cls(**{k: v for k, v in kwargs.items() if v is not None})


def _cv(n_splits: int, embargo: Any = 0) -> Any:
    from intelligent_training.model_selection import PurgedTimeSeriesSplit

    return PurgedTimeSeriesSplit(n_splits=n_splits, embargo=embargo)


def _stage_cv(n_splits: int | None, embargo: Any, default_n_splits: int, *, splitter: bool) -> Any:
    """The ``cv`` of a stage: ``n_splits`` None means the stage's own default.

    Without an embargo the stage gets an int (or None) when ``splitter`` is false;
    an embargo always needs a splitter object.
    """
    no_embargo = embargo in (0, "0", None)
    if no_embargo and (n_splits is None or not splitter):
        return n_splits
    return _cv(default_n_splits if n_splits is None else n_splits, embargo or 0)


def _study_path(cfg: PipelineConfig) -> Any:
    """``<output_dir>/tuning/study.db``: the Optuna studies of the model search."""
    from pathlib import Path

    return Path(cfg.runtime.output_dir).expanduser().resolve() / "tuning" / "study.db"


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
    from intelligent_training.ranking._ranker import DEFAULT_N_SPLITS as RANK_SPLITS
    from intelligent_training.selection import FeatureSelector
    from intelligent_training.selection._selector import DEFAULT_N_SPLITS as SELECT_SPLITS
    from intelligent_training.training import ModelTrainer
    from intelligent_training.training._trainer import _DEFAULT_N_SPLITS as TRAIN_SPLITS

    rt, tr, fs, tn = cfg.runtime, cfg.target_ranking, cfg.feature_selection, cfg.training
    verbose = None if rt.verbose >= 1 else False
    # One horizon per target for every stage: the ranking section's overrides and default.
    horizons = dict(tr.horizons) or None
    default_horizon = tr.default_horizon
    # One weighting for every stage (None and "none": unweighted, the stages' default).
    sample_weight = None if tr.sample_weight in (None, "none") else tr.sample_weight
    ranker = _make(
        TargetRanker,
        families=tr.families,
        cv=_stage_cv(tr.n_splits, tr.embargo, RANK_SPLITS, splitter=True),
        top_n=tr.top_n,
        min_score=tr.min_score,
        early_stopping=tr.early_stopping,
        n_jobs=rt.n_jobs,
        random_state=rt.random_state,
        horizons=horizons,
        default_horizon=default_horizon,
        sample_weight=sample_weight,
        verbose=verbose,
    )
    if tr.fdr is not None:  # "none": no significance test (None is the ranker's default)
        ranker.set_params(fdr=None if tr.fdr == "none" else tr.fdr)
    selector = _make(
        FeatureSelector,
        families=fs.families,
        importance=None if fs.importance is None else tuple(fs.importance),
        top_m=fs.top_m,
        require_min_models=fs.require_min_models,
        cv=_stage_cv(fs.n_splits, tr.embargo, SELECT_SPLITS, splitter=False),
        aggregate_symbols=fs.aggregate_symbols,
        explain_rows=fs.explain_rows,
        random_state=rt.random_state,
        n_jobs=rt.n_jobs,
        horizons=horizons,
        default_horizon=default_horizon,
        sample_weight=sample_weight,
        verbose=verbose,
    )
    tuning = tn.tuning.settings() if tn.tuning is not None else None
    if tuning is not None:
        from intelligent_training.training._tuning import import_optuna

        import_optuna()  # a missing optuna fails now, not after the ranking
    trainer = _make(
        ModelTrainer,
        families=tn.families,
        strategy=tn.strategy,
        cv=_stage_cv(tn.n_splits, tr.embargo, TRAIN_SPLITS, splitter=True),
        n_jobs=rt.n_jobs,
        random_state=rt.random_state,
        cpu_only=rt.cpu_only,
        threads=rt.threads,
        max_rows_train=tn.max_rows_train,
        horizons=horizons,
        default_horizon=default_horizon,
        sample_weight=sample_weight,
        verbose=verbose,
        tuning=tuning,
        # the studies survive the run (and a killed run) beside runs/ and cache/
        tuning_storage=None if tuning is None else str(_study_path(cfg)),
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
        max_samples_per_symbol={
            "ranking": tr.max_samples_per_symbol,
            "selection": fs.max_samples_per_symbol,
        },
    )
