"""``DiskCacheMemory``: a ``joblib.Memory`` stand-in backed by diskcache.

Keys combine the function (module, name, a hash of its source), the library version,
the versions of the libraries that compute the results (:data:`KEYED_DEPENDENCIES`)
and a hash of the arguments. Values are pickles: a cache directory must only be
shared with people you trust. Files are created with the user's umask, but never
world-writable. A damaged store is a :class:`~intelligent_training.exceptions.CacheError`
naming its path; ``refresh=True`` (``--force-refresh``) rebuilds it instead. A full disk
(or quota) is a ``CacheError`` that says so and names the path, never "damaged".

A stored value is only trusted if it is what the function returns: each memoised
function may give a ``check`` (:meth:`DiskCacheMemory.cache`, :func:`memoize`), and a
value that fails it (a row replaced by another pickle) is a miss with a
:class:`~intelligent_training.exceptions.CacheWarning`: it is recomputed and replaced.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from intelligent_training._version import __version__
from intelligent_training.exceptions import CacheError, CacheWarning, ConfigError, is_disk_full
from intelligent_training.io._manifest import LIBRARIES, versions

__all__ = [
    "KEYED_DEPENDENCIES",
    "CachedFunction",
    "DiskCacheMemory",
    "as_memory",
    "dependency_versions",
    "instance_of",
    "memoize",
    "parse_ttl",
    "private_files",
]

logger = logging.getLogger(__name__)

_MISSING = object()

#: Libraries whose versions are part of every cache key: a result computed with
#: another version of one of them is recomputed (the ``io`` layer's one list).
KEYED_DEPENDENCIES = LIBRARIES
_STORE_FILES = re.compile(r"^(cache\.db(-wal|-shm|-journal)?|[0-9a-f]{2})$")


def dependency_versions() -> dict[str, str | None]:
    """Installed versions of :data:`KEYED_DEPENDENCIES` (:func:`intelligent_training.io.versions`)."""
    return versions()


def _versions_digest() -> str:
    text = json.dumps(dependency_versions(), sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


_UMASK_LOCK = threading.Lock()
_UMASK_DEPTH = 0
_UMASK_SAVED = 0


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Create files in the block with the user's umask plus ``o-w`` (never world-writable).

    The umask is process-wide; tightening it only ever removes write permission for
    others from files created meanwhile, and nested or concurrent blocks restore it
    once, when the last one ends.
    """
    global _UMASK_DEPTH, _UMASK_SAVED
    with _UMASK_LOCK:
        if _UMASK_DEPTH == 0:
            _UMASK_SAVED = os.umask(0o022)
            os.umask(_UMASK_SAVED | 0o002)
        _UMASK_DEPTH += 1
    try:
        yield
    finally:
        with _UMASK_LOCK:
            _UMASK_DEPTH -= 1
            if _UMASK_DEPTH == 0:
                os.umask(_UMASK_SAVED)


#: ``check(value, *args, **kwargs)``: None when a stored value of a call with these
#: arguments is usable, else what is wrong with it ("a dict, not a CellResult").
Check = Callable[..., str | None]


def instance_of(value: Any, expected: type | tuple[type, ...]) -> str | None:
    """None when ``value`` is an instance of ``expected``, else what it is instead.

    The building block of a cached function's ``check``.

    Examples
    --------
    >>> instance_of(3, int) is None
    True
    >>> instance_of({"pipeline": 42}, int)
    'a dict, not a int'
    """
    if isinstance(value, expected):
        return None
    names = expected if isinstance(expected, tuple) else (expected,)
    return f"a {type(value).__name__}, not a {' or '.join(t.__name__ for t in names)}"


#: Bytes written by :func:`_no_room` to tell a full disk from a damaged store.
_PROBE_BYTES = 1 << 20


def _no_room(location: Any, exc: BaseException) -> BaseException | None:
    """The error that shows the cache's disk is full, or None.

    SQLite reports a full disk as ``SQLITE_FULL``, but a write cut short by a quota or
    a file size limit as a plain "disk I/O error"; after such an error a probe file of
    :data:`_PROBE_BYTES` next to the store tells the two apart.
    """
    if is_disk_full(exc):
        return exc
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None or code & 0xFF != sqlite3.SQLITE_IOERR:
        return None
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=location) as probe:
            probe.write(b"\0" * _PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as probe_error:
        return probe_error if is_disk_full(probe_error) else None
    return None


def _damaged(location: Any, exc: BaseException) -> CacheError:
    full = _no_room(location, exc)
    if full is not None:
        return _full(location, full)
    return CacheError(
        f"the cache at {location} is damaged ({type(exc).__name__}: {exc}); rerun with "
        f"--force-refresh (DiskCacheMemory(refresh=True)) to rebuild it, or delete {location}"
    )


def _full(location: Any, exc: BaseException) -> CacheError:
    reason = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else str(exc)
    where = getattr(exc, "filename", None) or location
    return CacheError(
        f"the disk holding the cache at {location} is full ({reason}, writing {where}); "
        "free space on it, point the cache elsewhere (cache.directory, "
        "DiskCacheMemory(location)) or pass --no-cache; the cache itself is not damaged"
    )


def parse_ttl(ttl: str | int | float | timedelta | None) -> float | None:
    """Turn a time-to-live into seconds (``None`` means entries never expire).

    Parameters
    ----------
    ttl : str, int, float, timedelta or None
        Seconds as a number, a ``timedelta``, or a string such as ``"7d"``,
        ``"12h"``, ``"30min"`` or ``"90s"``.

    Returns
    -------
    float or None

    Examples
    --------
    >>> parse_ttl("2h")
    7200.0
    >>> parse_ttl(None) is None
    True
    """
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    elif isinstance(ttl, str):
        import pandas as pd

        try:
            seconds = pd.Timedelta(ttl.strip()).total_seconds()
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"cache ttl {ttl!r} is not a duration; use e.g. '7d', '12h', '30min' "
                "or a number of seconds"
            ) from exc
    else:
        raise ConfigError(f"cache ttl must be a duration string or seconds, got {ttl!r}")
    if seconds <= 0:
        raise ConfigError(f"cache ttl must be positive, got {ttl!r}")
    return seconds


def _function_identity(func: Callable[..., Any]) -> str:
    """Module, qualified name and a hash of the source (or bytecode) of ``func``."""
    target = inspect.unwrap(func)
    module = getattr(target, "__module__", None) or "?"
    qualname = getattr(target, "__qualname__", None) or repr(target)
    try:
        code = inspect.getsource(target)
    except (OSError, TypeError):
        code_obj = getattr(target, "__code__", None)
        code = repr(code_obj.co_code + repr(code_obj.co_consts).encode()) if code_obj else ""
    digest = hashlib.blake2b(code.encode(), digest_size=8).hexdigest()
    return f"{module}.{qualname}:{digest}"


class CachedFunction:
    """A function whose results are memoised in a :class:`DiskCacheMemory`.

    Calling it hashes the non-ignored arguments (``joblib.hash``) together with the
    function identity and the library version; a hit returns the stored result, a
    miss runs the function and stores its result only after it returned, in one
    SQLite transaction, so an interrupted call never leaves an entry behind.

    Parameters
    ----------
    func : callable
        The function to memoise.
    memory : DiskCacheMemory
        Where results are stored.
    ignore : list of str, optional
        Argument names left out of the key (large arrays represented by a
        fingerprint argument instead).
    check : callable, optional
        ``check(value, *args, **kwargs)`` -> None when a stored value is usable for
        this call, else what is wrong with it; an unusable value is a miss (with a
        :class:`~intelligent_training.exceptions.CacheWarning`) and is replaced.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        memory: DiskCacheMemory,
        ignore: Iterable[str] | None,
        check: Check | None = None,
    ) -> None:
        self.func = func
        self.memory = memory
        self.check = check
        self.ignore = list(ignore or [])
        self._signature = inspect.signature(func)
        unknown = [name for name in self.ignore if name not in self._signature.parameters]
        if unknown:
            raise ValueError(
                f"ignore={unknown} names arguments that {func.__qualname__} does not take"
            )
        self._identity = _function_identity(func)
        functools.update_wrapper(self, func)

    def key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key of a call with these arguments."""
        import joblib

        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        kept = {k: v for k, v in bound.arguments.items() if k not in self.ignore}
        return f"{self._identity}:{__version__}:{_versions_digest()}:{joblib.hash(kept)}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = self.key(*args, **kwargs)
        if not self.memory.refresh:
            value = self.memory._get(key)
            problem = None
            if value is not _MISSING and self.check is not None:
                problem = self.check(value, *args, **kwargs)
            if problem is not None:
                warnings.warn(
                    f"the cache at {self.memory.location} holds {problem} for "
                    f"{self.func.__qualname__}; that entry is ignored, recomputed and "
                    "replaced",
                    CacheWarning,
                    stacklevel=2,
                )
            elif value is not _MISSING:
                self.memory._hits += 1
                logger.debug("cache hit %s", key)
                return value
        self.memory._misses += 1
        logger.debug("cache miss %s", key)
        result = self.func(*args, **kwargs)
        self.memory._set(key, result, self.func.__qualname__)
        return result

    def clear(self) -> None:
        """Drop every stored result of this function (all argument values)."""
        cache = self.memory._open()
        prefix = f"{self._identity}:"
        for key in list(cache.iterkeys()):
            if isinstance(key, str) and key.startswith(prefix):
                cache.delete(key, retry=True)


class DiskCacheMemory:
    """A ``joblib.Memory`` stand-in that stores results with diskcache.

    Use it wherever an estimator takes ``memory=`` (including
    ``sklearn.pipeline.Pipeline(memory=...)``) or as a decorator factory.

    Parameters
    ----------
    location : str, path-like or None
        The cache directory (created on first use). ``None`` disables caching:
        :meth:`cache` returns the function unchanged.
    ttl : str, int, float, timedelta or None, default="7d"
        Time to live of each entry; ``None`` keeps entries until cleared.
    refresh : bool, default=False
        Recompute every call and overwrite the stored results (``--force-refresh``).

    Attributes
    ----------
    hits, misses : int
        Lookups served from the cache and computed, in this process.

    Examples
    --------
    >>> import tempfile
    >>> memory = DiskCacheMemory(tempfile.mkdtemp())
    >>> @memory.cache
    ... def square(x):
    ...     return x * x
    >>> square(3), square(3), memory.hits
    (9, 9, 1)
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None,
        *,
        ttl: str | int | float | timedelta | None = "7d",
        refresh: bool = False,
    ) -> None:
        self.location = None if location is None else os.fspath(location)
        self.ttl = ttl
        self.refresh = refresh
        self.ttl_seconds_ = parse_ttl(ttl)
        self._cache: Any = None
        self._hits = 0
        self._misses = 0

    @property
    def hits(self) -> int:
        """Number of calls served from the cache in this process."""
        return self._hits

    @property
    def misses(self) -> int:
        """Number of calls computed (and stored) in this process."""
        return self._misses

    def _open(self) -> Any:
        if self._cache is None:
            import diskcache

            assert self.location is not None
            try:
                with private_files():
                    Path(self.location).mkdir(parents=True, exist_ok=True)
                    self._cache = diskcache.Cache(
                        self.location, size_limit=2**40, eviction_policy="none"
                    )
            except OSError as exc:  # permissions, space, a file in the way
                if is_disk_full(exc):
                    raise _full(self.location, exc) from None
                raise CacheError(
                    f"cannot open the cache at {self.location} ({exc}); check the path and "
                    "its permissions, or pass --no-cache"
                ) from None
            except sqlite3.DatabaseError as exc:
                if not self.refresh or _no_room(self.location, exc) is not None:
                    raise _damaged(self.location, exc) from None
                self._rebuild(exc)
        return self._cache

    def _rebuild(self, exc: BaseException) -> None:
        """Remove the store's own files (nothing else) and open an empty one."""
        import diskcache

        logger.warning("the cache at %s is damaged (%s); rebuilding it", self.location, exc)
        if self._cache is not None:
            with contextlib.suppress(Exception):
                self._cache.close()
            self._cache = None
        root = Path(str(self.location))
        for entry in root.iterdir():
            if _STORE_FILES.match(entry.name):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        with private_files():
            self._cache = diskcache.Cache(self.location, size_limit=2**40, eviction_policy="none")

    def _get(self, key: str) -> Any:
        cache = self._open()
        try:
            return cache.get(key, default=_MISSING, retry=True)
        except Exception as exc:  # a value that cannot be read back: the store is damaged
            raise _damaged(self.location, exc) from None

    def _set(self, key: str, value: Any, name: str) -> None:
        cache = self._open()
        for attempt in (0, 1):
            try:
                with private_files():
                    cache.set(key, value, expire=self.ttl_seconds_, retry=True)
                return
            except sqlite3.DatabaseError as exc:
                if not self.refresh or attempt or _no_room(self.location, exc) is not None:
                    raise _damaged(self.location, exc) from None  # a full disk says so
                self._rebuild(exc)
                cache = self._cache
            except OSError as exc:
                if is_disk_full(exc):
                    raise _full(self.location, exc) from None
                raise CacheError(
                    f"cannot write to the cache at {self.location} ({exc}); fix the "
                    "permissions or pass --no-cache"
                ) from None
            except Exception as exc:  # an unpicklable result is still a valid result
                logger.warning("could not cache the result of %s: %s", name, exc)
                return

    def cache(
        self,
        func: Callable[..., Any] | None = None,
        *,
        ignore: Iterable[str] | None = None,
        verbose: int | None = None,
        mmap_mode: str | None = None,
        check: Check | None = None,
    ) -> Any:
        """Wrap ``func`` so that its results are memoised.

        Parameters
        ----------
        func : callable, optional
            The function; when omitted a decorator is returned
            (``@memory.cache(ignore=["X"])``).
        ignore : list of str, optional
            Argument names that are not part of the key.
        verbose, mmap_mode
            Accepted for ``joblib.Memory`` compatibility; unused.
        check : callable, optional
            ``check(value, *args, **kwargs)``: None when a stored value is usable, else
            what is wrong with it (see :class:`CachedFunction`).

        Returns
        -------
        CachedFunction or callable
            ``func`` itself when ``location`` is None.
        """
        if func is None:
            return functools.partial(self.cache, ignore=ignore, check=check)
        if self.location is None:
            return func
        return CachedFunction(func, self, ignore, check)

    def clear(self, warn: bool = True) -> None:
        """Delete every stored result."""
        if self.location is None:
            return
        self._open().clear(retry=True)

    def expire(self) -> int:
        """Remove expired entries now; returns how many were removed."""
        if self.location is None:
            return 0
        return int(self._open().expire(retry=True))

    def close(self) -> None:
        """Close the underlying database connection (reopened on next use)."""
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __len__(self) -> int:
        if self.location is None:
            return 0
        return len(self._open())

    def __repr__(self) -> str:
        return f"DiskCacheMemory(location={self.location!r}, ttl={self.ttl!r})"

    # The open database handle is not part of the object's value: copies, pickles
    # (joblib workers, sklearn.clone) and hashes see only the settings.
    def __getstate__(self) -> dict[str, Any]:
        return {"location": self.location, "ttl": self.ttl, "refresh": self.refresh}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["location"], ttl=state["ttl"], refresh=state["refresh"])  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any]) -> DiskCacheMemory:
        return DiskCacheMemory(self.location, ttl=self.ttl, refresh=self.refresh)


def memoize(
    memory: Any, func: Callable[..., Any], *, ignore: Iterable[str] | None = None, check: Check
) -> Callable[..., Any]:
    """``memory.cache(func, ignore=ignore)`` whose stored values are checked by ``check``.

    Every memoisation level of the library goes through here (cells, stage fits, the
    whole job), so no level trusts a value of the wrong type. A
    :class:`DiskCacheMemory` treats an unusable value as a miss (recomputed, with a
    :class:`~intelligent_training.exceptions.CacheWarning`); another memoizer
    (``joblib.Memory``) cannot be told to drop one entry, so there it is a
    :class:`~intelligent_training.exceptions.CacheError` naming the function.

    Parameters
    ----------
    memory : DiskCacheMemory or object with ``.cache``
    func : callable
    ignore : list of str, optional
    check : callable
        ``check(value, *args, **kwargs)`` -> None or what is wrong (see :func:`instance_of`).
    """
    if isinstance(memory, DiskCacheMemory):
        return memory.cache(func, ignore=ignore, check=check)  # type: ignore[no-any-return]
    cached = memory.cache(func, ignore=ignore)
    if cached is func:
        return func

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        value = cached(*args, **kwargs)
        problem = check(value, *args, **kwargs)
        if problem is not None:
            raise CacheError(
                f"{type(memory).__name__} {getattr(memory, 'location', '')} returned "
                f"{problem} for {func.__qualname__}; clear that cache (memory.clear())"
            )
        return value

    return checked


def as_memory(memory: Any) -> Any:
    """Normalise a ``memory=`` argument: a path becomes a :class:`DiskCacheMemory`.

    ``None`` becomes a pass-through ``DiskCacheMemory(None)``; objects with a
    ``.cache`` method (``joblib.Memory``, ``DiskCacheMemory``) are returned as is.
    """
    if memory is None or isinstance(memory, (str, os.PathLike)):
        return DiskCacheMemory(memory)
    if not hasattr(memory, "cache"):
        raise ConfigError(
            f"memory must be None, a cache directory or an object with a .cache method "
            f"(DiskCacheMemory, joblib.Memory); got {type(memory).__name__}"
        )
    return memory
