"""pydantic models of the pipeline configuration (one model per YAML section)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CacheConfig",
    "DataConfig",
    "FeatureSelectionConfig",
    "PipelineConfig",
    "RuntimeConfig",
    "TargetRankingConfig",
    "TrainingConfig",
]

#: ``families=`` everywhere: registry names, ``{name: {param: value}}`` or ``None`` (defaults).
FamiliesSpec = list[str] | dict[str, dict[str, Any] | None] | None
#: A horizon or embargo: bars (int) or a duration string such as ``"15min"``.
Duration = int | str


ImportanceMethod = Literal["native", "shap", "permutation"]
_ALL_IMPORTANCE: tuple[ImportanceMethod, ...] = ("native", "shap", "permutation")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Where the panel comes from and which columns are candidates."""

    data_dir: str | None = None
    symbols: list[str] | None = None
    time_column: str | None = None
    min_cs: int | None = Field(default=None, ge=1)
    target_patterns: list[str] | None = None
    targets: list[str] | None = None
    features: list[str] | None = None


class TargetRankingConfig(_Section):
    """Target ranking: which targets are predictable out of sample."""

    enabled: bool = True
    top_n: int = Field(default=5, ge=1)
    min_score: float | None = None
    families: FamiliesSpec = None
    n_splits: int = Field(default=5, ge=2)
    embargo: Duration = 0
    horizons: dict[str, Duration] = Field(default_factory=dict)
    default_horizon: Duration | None = None
    #: Rank on at most this many most recent rows per symbol (whole timestamps).
    max_samples_per_symbol: int | None = Field(default=None, ge=1)


class FeatureSelectionConfig(_Section):
    """Consensus feature selection per selected target (the multi-model config)."""

    enabled: bool = True
    top_m: int = Field(default=50, ge=1)
    families: FamiliesSpec = None
    importance: list[ImportanceMethod] = Field(default_factory=lambda: list(_ALL_IMPORTANCE))
    require_min_models: int = Field(default=2, ge=1)
    n_splits: int = Field(default=3, ge=2)
    aggregate_symbols: bool = False
    #: Select on at most this many most recent rows per symbol (whole timestamps).
    max_samples_per_symbol: int | None = Field(default=None, ge=1)


class TrainingConfig(_Section):
    """Final training of the model families on the selected targets and features."""

    families: FamiliesSpec = None
    strategy: Literal["single_task", "multi_task", "cascade"] = "single_task"
    n_splits: int = Field(default=5, ge=2)
    max_rows_train: int | None = Field(default=None, ge=1)


class CacheConfig(_Section):
    """On-disk cache (diskcache) of ranking, selection and training results."""

    enabled: bool = True
    directory: str | None = None
    ttl: str | int | None = "7d"
    force_refresh: bool = False


class RuntimeConfig(_Section):
    """Where outputs go and how much hardware to use."""

    output_dir: str = "intelligent_output"
    threads: int | None = Field(default=None, ge=1)
    n_jobs: int | None = None
    cpu_only: bool = False
    random_state: int | None = 0
    verbose: int = Field(default=1, ge=0)
    dask_scheduler: str | None = None


class PipelineConfig(_Section):
    """The whole configuration; every section has code defaults.

    Examples
    --------
    >>> PipelineConfig().target_ranking.top_n
    5
    """

    data: DataConfig = Field(default_factory=DataConfig)
    target_ranking: TargetRankingConfig = Field(default_factory=TargetRankingConfig)
    feature_selection: FeatureSelectionConfig = Field(default_factory=FeatureSelectionConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
