"""Rank candidate targets by out-of-sample predictability (:class:`TargetRanker`).

The composite score, eligibility rules and leakage sentinel are documented in
``docs/ranking.md`` and in :class:`TargetRanker`.
"""

from intelligent_training.ranking._ranker import DEFAULT_RANKER_FAMILIES, TargetRanker
from intelligent_training.ranking._score import composite_score

__all__ = ["DEFAULT_RANKER_FAMILIES", "TargetRanker", "composite_score"]
