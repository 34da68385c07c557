"""pydantic models of the pipeline configuration (one model per YAML section)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "CacheConfig",
    "DataConfig",
    "FeatureSelectionConfig",
    "PipelineConfig",
    "ReportConfig",
    "RuntimeConfig",
    "TargetRankingConfig",
    "TrainingConfig",
    "TuningConfig",
]

#: ``families=`` everywhere: registry names, ``{name: {param: value}}`` or ``None`` (defaults).
FamiliesSpec = list[str] | dict[str, dict[str, Any] | None] | None
#: A horizon or embargo: bars (int) or a duration string such as ``"15min"``.
Duration = int | str


ImportanceMethod = Literal["native", "shap", "permutation"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_families(value: Any) -> Any:
    """Family names and their parameter names must exist: a typo fails at load time."""
    if value is None:
        return value
    from intelligent_training.exceptions import FamilyError
    from intelligent_training.families import resolve_families

    try:
        resolve_families(value)
    except FamilyError as exc:
        raise PydanticCustomError("model_family", "{message}", {"message": str(exc)}) from None
    return value


class _FamiliesSection(_Section):
    """A section with a ``families`` key, checked against the family registry."""

    @field_validator("families", check_fields=False)
    @classmethod
    def _families_exist(cls, value: Any) -> Any:
        return _check_families(value)


class DataConfig(_Section):
    """Where the panel comes from and which columns are candidates."""

    data_dir: str | None = None
    symbols: list[str] | None = None
    time_column: str | None = None
    min_cs: int | None = Field(default=None, ge=1)
    target_patterns: list[str] | None = None
    targets: list[str] | None = None
    features: list[str] | None = None


class TargetRankingConfig(_FamiliesSection):
    """Target ranking: which targets are predictable out of sample.

    A ``None`` field means the :class:`~intelligent_training.ranking.TargetRanker`
    default (the packaged YAML sets only deliberate CLI overrides).
    """

    enabled: bool = True
    top_n: int | None = Field(default=None, ge=1)
    min_score: float | None = None
    families: FamiliesSpec = None
    n_splits: int | None = Field(default=None, ge=2)
    embargo: Duration = 0
    horizons: dict[str, Duration] = Field(default_factory=dict)
    default_horizon: Duration | None = None
    #: Rank on at most this many most recent rows per symbol (whole timestamps).
    max_samples_per_symbol: int | None = Field(default=None, ge=1)
    #: False-discovery rate of the selected targets (Benjamini-Yekutieli q-value <= fdr);
    #: ``None``: TargetRanker's default (0.1); ``"none"`` (or ``false``): no significance
    #: test, select on the score alone.
    fdr: float | Literal["none"] | None = None
    #: Stop hopeless targets between fold waves (``None``: TargetRanker's default, True).
    early_stopping: bool | None = None
    #: Sample weights of every stage's fits, like ``horizons`` one setting for all stages:
    #: ``"uniqueness"`` (average uniqueness of each row's label span over its symbol) or
    #: ``None`` / ``"none"`` (unweighted).
    sample_weight: Literal["uniqueness", "none"] | None = None

    @field_validator("fdr", mode="before")
    @classmethod
    def _fdr_in_range(cls, value: Any) -> Any:
        if value is None:
            return None
        if value is False or (
            isinstance(value, str) and value.strip().lower() in {"none", "off", "false"}
        ):
            return "none"
        number = float("nan")
        if not isinstance(value, bool):
            try:
                number = float(value)
            except (TypeError, ValueError):
                pass
        if not 0.0 < number < 1.0:
            raise PydanticCustomError(
                "fdr",
                "fdr must be a number in (0, 1) such as 0.1, 'none' (select on the score "
                "alone) or null (the default, 0.1)",
                {},
            )
        return number


class FeatureSelectionConfig(_FamiliesSection):
    """Consensus feature selection per selected target (the multi-model config).

    A ``None`` field means the :class:`~intelligent_training.selection.FeatureSelector`
    default.
    """

    enabled: bool = True
    top_m: int | None = Field(default=None, ge=1)
    families: FamiliesSpec = None
    importance: list[ImportanceMethod] | None = None
    require_min_models: int | None = Field(default=None, ge=1)
    n_splits: int | None = Field(default=None, ge=2)
    aggregate_symbols: bool | None = None
    #: Row budget of SHAP and permutation importance per (family, fold): a
    #: stratified-in-time sample of each test fold (``FeatureSelector(explain_rows=)``).
    explain_rows: int | None = Field(default=None, ge=1)
    #: Select on at most this many most recent rows per symbol (whole timestamps).
    max_samples_per_symbol: int | None = Field(default=None, ge=1)


class TuningConfig(_Section):
    """Model search of the training families (``ModelTrainer(tuning=...)``).

    A ``None`` field means the default of
    :class:`~intelligent_training.training.TuningSettings`; the values are checked by
    it (one owner of the rules), so a bad search space fails when the file is read.
    """

    enabled: bool = True
    n_trials: int | None = Field(default=None, ge=1)
    #: Seconds, or a duration such as "10min" (the whole search, every target).
    timeout: float | str | None = None
    #: A YAML file, or {family: {parameter: {type: int|float|log-float|categorical, ...}}}.
    search_spaces: str | dict[str, Any] | None = None
    families: list[str] | None = None
    pruner: Literal["median", "successive_halving", "none"] | None = None
    n_startup_trials: int | None = Field(default=None, ge=0)
    pruner_startup_trials: int | None = Field(default=None, ge=0)

    def settings(self) -> dict[str, Any] | None:
        """The trainer's ``tuning`` argument (``None`` when disabled)."""
        if not self.enabled:
            return None
        fields = self.model_dump(exclude={"enabled"})
        return {k: v for k, v in fields.items() if v is not None}

    @model_validator(mode="after")
    def _valid(self) -> TuningConfig:
        from intelligent_training.exceptions import ConfigError
        from intelligent_training.training._search_space import resolve_tuning

        try:
            resolve_tuning(self.settings(), "training.tuning")
        except ConfigError as exc:
            raise PydanticCustomError("tuning", "{message}", {"message": str(exc)}) from None
        return self


class TrainingConfig(_FamiliesSection):
    """Final training of the model families on the selected targets and features.

    A ``None`` field means the :class:`~intelligent_training.training.ModelTrainer`
    default.
    """

    families: FamiliesSpec = None
    strategy: Literal["single_task", "multi_task", "cascade"] | None = None
    n_splits: int | None = Field(default=None, ge=2)
    max_rows_train: int | None = Field(default=None, ge=1)
    #: Model search before training (``null``: none); see docs/training.md.
    tuning: TuningConfig | None = None


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
    cpu_only: bool | None = None
    random_state: int | None = None
    verbose: int = Field(default=1, ge=0)
    dask_scheduler: str | None = None
    threads_per_task: int | None = Field(default=None, ge=1)
    #: Log the run (parameters, per-target metrics, report, artefacts) to this MLflow
    #: tracking URI (``file:///path``, ``http://host:5000``); needs the ``mlflow`` extra.
    mlflow_uri: str | None = None


class ReportConfig(_Section):
    """The report's signal tearsheet (see ``docs/report.md``)."""

    quantiles: int = Field(default=5, ge=2, le=20)
    cost_bps: float = Field(default=5.0, ge=0.0)
    return_column: str | None = None


class PipelineConfig(_Section):
    """The whole configuration; every section has code defaults.

    An estimator setting left at ``None`` means that estimator's own default: the
    estimators' signatures are the one source of defaults, and the packaged YAML files
    hold only the deliberate CLI overrides (see ``docs/configuration.md``).

    Examples
    --------
    >>> PipelineConfig().target_ranking.top_n is None  # TargetRanker's default (5)
    True
    >>> PipelineConfig(target_ranking={"top_n": 3}).target_ranking.top_n
    3
    """

    data: DataConfig = Field(default_factory=DataConfig)
    target_ranking: TargetRankingConfig = Field(default_factory=TargetRankingConfig)
    feature_selection: FeatureSelectionConfig = Field(default_factory=FeatureSelectionConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
