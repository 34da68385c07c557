"""The application layer: one whole run of the console script from a configuration.

``run_job`` loads the data, fits an :class:`~intelligent_training.IntelligentPipeline`
built by ``build_pipeline`` and writes the output layout; the console script
``intelligent-train`` is a thin layer over it.
"""

from intelligent_training.app._build import build_pipeline
from intelligent_training.app._job import JobResult, run_job

__all__ = ["JobResult", "build_pipeline", "run_job"]
