"""Exceptions and warnings raised by intelligent-training.

Every error a user can cause (bad data, bad configuration, a missing optional
dependency) is an :class:`IntelligentTrainingError`. Messages say what was wrong,
where (file, column, symbol, config key) and what to do about it. The CLI turns
these into one clear line and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import errno
import reprlib
import sqlite3
from typing import Any

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


class CacheWarning(UserWarning):
    """A cached value was unusable (e.g. of the wrong type) and was recomputed."""


class DataWarning(UserWarning):
    """Something in the data was suspicious and was handled (e.g. a column dropped)."""


class DriftWarning(DataWarning):
    """A feature of new data is distributed unlike the training data (see ``feature_drift``)."""


class LeakageWarning(UserWarning):
    """A target or feature looks leaky (implausibly high out-of-sample skill)."""


#: How values are quoted in messages: a few items per container, a few levels deep.
_QUOTE = reprlib.Repr()
_QUOTE.maxlevel, _QUOTE.maxdict, _QUOTE.maxlist, _QUOTE.maxtuple, _QUOTE.maxset = 3, 4, 6, 6, 6
_QUOTE.maxstring, _QUOTE.maxlong, _QUOTE.maxother = 60, 40, 60
#: The longest quoted value in a message, in characters.
EXCERPT_CHARS = 80


def excerpt(value: Any) -> str:
    """``repr(value)`` cut to a short excerpt: how every error message quotes a value.

    A value that a user gave (a YAML alias bomb, a list nested thousands deep, a
    100 MB string) is quoted at most :data:`EXCERPT_CHARS` characters long, containers
    at most a few items and levels deep, so that a message stays one readable line.

    Examples
    --------
    >>> excerpt("abc")
    "'abc'"
    >>> excerpt(list(range(100)))
    '[0, 1, 2, 3, 4, 5, ...]'
    >>> len(excerpt("x" * 10_000)) <= EXCERPT_CHARS
    True
    """
    try:
        text = _QUOTE.repr(value)
    except Exception:  # a user object whose __repr__ fails: its type is still a quote
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 4] + " ..."
    return text


#: ``errno`` values that mean "no room left to write": a full disk, a quota, a size limit.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: How libraries that drop ``errno`` (pyarrow) word the same failures.
_NO_SPACE_TEXT = ("no space left", "disk quota", "file too large")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says that the disk (or quota) is full, not that a file is damaged.

    An ``OSError`` with one of :data:`NO_SPACE_ERRNOS` (or, from libraries that drop the
    error number such as pyarrow, worded as one), or SQLite's ``SQLITE_FULL`` ("database or
    disk is full", what the cache database reports).
    """
    if isinstance(exc, OSError):
        text = str(exc).lower()
        return exc.errno in NO_SPACE_ERRNOS or any(t in text for t in _NO_SPACE_TEXT)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return False


__all__ = [
    "EXCERPT_CHARS",
    "NO_SPACE_ERRNOS",
    "ArtefactError",
    "CacheError",
    "CacheWarning",
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
    "excerpt",
    "is_disk_full",
]
