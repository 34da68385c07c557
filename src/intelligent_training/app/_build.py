"""The :class:`IntelligentPipeline` a :class:`PipelineConfig` describes."""

from __future__ import annotations

import logging
from typing import Any

from intelligent_training.config import PipelineConfig

__all__ = ["build_pipeline"]

logger = logging.getLogger(__name__)


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
    horizons = dict(tr.horizons) or None
    ranker = _make(
        TargetRanker,
        families=tr.families,
        cv=_cv(tr.n_splits, tr.embargo),
        top_n=tr.top_n,
        min_score=tr.min_score,
        n_jobs=rt.n_jobs,
        random_state=rt.random_state,
        horizons=horizons,
        default_horizon=tr.default_horizon,
        verbose=verbose,
    )
    selector = _make(
        FeatureSelector,
        families=fs.families,
        importance=tuple(fs.importance),
        top_m=fs.top_m,
        require_min_models=fs.require_min_models,
        # an int lets the selector purge with the horizon of each target's name
        cv=fs.n_splits if tr.embargo in (0, "0") else _cv(fs.n_splits, tr.embargo),
        aggregate_symbols=fs.aggregate_symbols,
        random_state=rt.random_state,
        n_jobs=rt.n_jobs,
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
        max_samples_per_symbol={
            "ranking": tr.max_samples_per_symbol,
            "selection": fs.max_samples_per_symbol,
        },
    )
