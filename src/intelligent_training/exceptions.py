"""Exceptions and warnings raised by intelligent-training.

Every error a user can cause (bad data, bad configuration, a missing optional
dependency) is an :class:`IntelligentTrainingError`. Messages say what was wrong,
where (file, column, symbol, config key) and what to do about it. The CLI turns
these into one clear line and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

from sklearn.utils._param_validation import InvalidParameterError as _SklearnInvalidParameterError


class IntelligentTrainingError(Exception):
    """Base class of every error raised on purpose by this library."""


class DataError(IntelligentTrainingError, ValueError):
    """The input data is unusable (missing file/column, NaN/inf, duplicates, ...)."""


class SplitError(DataError):
    """A cross-validation split cannot be built (e.g. folds would be empty)."""


class ConfigError(IntelligentTrainingError, ValueError):
    """A configuration file or argument is invalid (unknown key, wrong type, ...)."""


class ParameterError(ConfigError, _SklearnInvalidParameterError):
    """An estimator parameter has an invalid type or value (checked at ``fit``).

    Both a :class:`ConfigError` and scikit-learn's ``InvalidParameterError``, so
    either ``except`` clause catches it.
    """


class FamilyError(IntelligentTrainingError, RuntimeError):
    """A model family is unknown, unsupported for a task, or failed to fit."""


class MissingDependencyError(IntelligentTrainingError, ImportError):
    """An optional dependency (torch, dask, ngboost, ...) is needed but not installed."""


class ArtefactError(DataError):
    """A saved artefact is missing, truncated, modified or points outside its directory."""


class CacheError(IntelligentTrainingError, RuntimeError):
    """The on-disk cache is damaged or unusable (the message names its path)."""


class OutputLockedError(IntelligentTrainingError, RuntimeError):
    """Another run holds the output directory (the message names its process and host)."""


class DataWarning(UserWarning):
    """Something in the data was suspicious and was handled (e.g. a column dropped)."""


class DriftWarning(DataWarning):
    """A feature of new data is distributed unlike the training data (see ``feature_drift``)."""


class LeakageWarning(UserWarning):
    """A target or feature looks leaky (implausibly high out-of-sample skill)."""


__all__ = [
    "ArtefactError",
    "CacheError",
    "ConfigError",
    "DataError",
    "DataWarning",
    "DriftWarning",
    "FamilyError",
    "IntelligentTrainingError",
    "LeakageWarning",
    "MissingDependencyError",
    "OutputLockedError",
    "ParameterError",
    "SplitError",
]
