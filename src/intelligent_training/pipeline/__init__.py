"""``IntelligentPipeline`` (rank → select → train) and its output layout."""

from intelligent_training.pipeline._pipeline import IntelligentPipeline

__all__ = ["IntelligentPipeline"]
