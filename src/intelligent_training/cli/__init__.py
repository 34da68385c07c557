"""The console script ``intelligent-train`` (also ``python -m intelligent_training``)."""

from intelligent_training.cli._main import main

__all__ = ["main"]
