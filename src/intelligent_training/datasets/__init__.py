"""Synthetic panels with known truth (for tests, the demo and benchmarks)."""

from intelligent_training.datasets._synthetic import make_synthetic_panel, write_synthetic_data_dir
from intelligent_training.datasets._truth import SyntheticTruth

__all__ = ["SyntheticTruth", "make_synthetic_panel", "write_synthetic_data_dir"]
