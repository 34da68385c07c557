"""Leakage-free cross-validation for multi-symbol time-series panels.

:class:`PurgedTimeSeriesSplit` builds walk-forward folds of whole timestamps and purges
training rows whose labels overlap the test span; :class:`CombinatorialPurgedSplit` tests
every combination of folds, purged and embargoed on both sides; :func:`get_timestamps` decides
where the timestamps of a dataset come from; :func:`purged_folds` is the one fold rule every
stage uses (the splitter given a target's horizon, unlabelled rows removed).
"""

from intelligent_training.model_selection._combinatorial import CombinatorialPurgedSplit
from intelligent_training.model_selection._folds import purged_folds, with_horizon
from intelligent_training.model_selection._paths import BacktestPaths, backtest_paths
from intelligent_training.model_selection._purged import PurgedTimeSeriesSplit
from intelligent_training.model_selection._timestamps import get_timestamps

__all__ = [
    "BacktestPaths",
    "CombinatorialPurgedSplit",
    "PurgedTimeSeriesSplit",
    "backtest_paths",
    "get_timestamps",
    "purged_folds",
    "with_horizon",
]
