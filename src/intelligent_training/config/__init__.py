"""Configuration: pydantic models, packaged default YAML files, layered loading."""

from intelligent_training.config._load import PACKAGED_DEFAULTS, dump_config, load_config, read_yaml
from intelligent_training.config._models import (
    CacheConfig,
    DataConfig,
    FeatureSelectionConfig,
    PipelineConfig,
    ReportConfig,
    RuntimeConfig,
    TargetRankingConfig,
    TrainingConfig,
)

__all__ = [
    "PACKAGED_DEFAULTS",
    "CacheConfig",
    "DataConfig",
    "FeatureSelectionConfig",
    "PipelineConfig",
    "ReportConfig",
    "RuntimeConfig",
    "TargetRankingConfig",
    "TrainingConfig",
    "dump_config",
    "load_config",
    "read_yaml",
]
