"""``IntelligentPipeline`` (rank → select → train) and its output layout.

Resolved lazily, so that the console script's cached path (``intelligent_training.app``)
does not pay for importing scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from intelligent_training.pipeline._pipeline import IntelligentPipeline

__all__ = ["IntelligentPipeline"]


def __getattr__(name: str) -> Any:
    if name == "IntelligentPipeline":
        from intelligent_training.pipeline._pipeline import IntelligentPipeline

        return IntelligentPipeline
    raise AttributeError(f"module 'intelligent_training.pipeline' has no attribute {name!r}")
