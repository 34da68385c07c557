"""Panel data: loading a data directory, the feature/target split, horizons and tasks.

A *panel* is a DataFrame indexed by ``("timestamp", "symbol")``, sorted, one row per
pair; features are float32 and targets (columns matching the target patterns) float64.
See ``docs/data.md`` for the data contract.
"""

from intelligent_training.data._columns import (
    DEFAULT_TARGET_PATTERNS,
    is_target,
    split_features_targets,
)
from intelligent_training.data._horizon import (
    Horizon,
    grid_step,
    horizon_in_bars,
    parse_horizon,
    resolve_horizons,
)
from intelligent_training.data._loading import (
    TIME_COLUMN_CANDIDATES,
    discover_tables,
    load_panel,
    load_xy,
)
from intelligent_training.data._parquet import read_parquet, write_parquet
from intelligent_training.data._recent import recent_rows
from intelligent_training.data._tasks import infer_task
from intelligent_training.data._validation import validate_panel

__all__ = [
    "DEFAULT_TARGET_PATTERNS",
    "TIME_COLUMN_CANDIDATES",
    "Horizon",
    "discover_tables",
    "grid_step",
    "horizon_in_bars",
    "infer_task",
    "is_target",
    "load_panel",
    "load_xy",
    "parse_horizon",
    "read_parquet",
    "recent_rows",
    "resolve_horizons",
    "split_features_targets",
    "validate_panel",
    "write_parquet",
]
