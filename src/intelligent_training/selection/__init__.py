"""Consensus feature selection across model families (:class:`FeatureSelector`)."""

from __future__ import annotations

from intelligent_training.selection._selector import FeatureSelector

__all__ = ["FeatureSelector"]
