"""Train many model families on the chosen targets, with purged out-of-fold metrics.

:class:`ModelTrainer` runs the ``single_task``, ``multi_task`` and ``cascade``
strategies, keeps out-of-fold predictions and metrics, refits final models and saves
them in their libraries' native formats. With ``tuning=`` it first searches each
family's parameters over the same purged folds (:class:`TuningSettings`).
"""

from intelligent_training.training._search_space import TuningSettings, packaged_search_spaces
from intelligent_training.training._trainer import ModelTrainer

__all__ = ["ModelTrainer", "TuningSettings", "packaged_search_spaces"]
