"""The application layer: one whole run of the console script from a configuration.

``run_job`` loads the data, fits an :class:`~intelligent_training.IntelligentPipeline`
built by ``build_pipeline`` and writes the output layout; the console script
``intelligent-train`` is a thin layer over it. ``predict_data_dir`` scores a data
directory with a finished run (``intelligent-train predict``); ``write_predictions`` /
``read_predictions`` are its file.
"""

from intelligent_training.app._build import build_pipeline
from intelligent_training.app._job import JobResult, run_job
from intelligent_training.app._predict import (
    predict_data_dir,
    read_predictions,
    write_predictions,
)

__all__ = [
    "JobResult",
    "build_pipeline",
    "predict_data_dir",
    "read_predictions",
    "run_job",
    "write_predictions",
]
