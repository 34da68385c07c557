"""On-disk memoisation (``DiskCacheMemory``) and fast data fingerprints."""

from intelligent_training.cache._fingerprint import fingerprint
from intelligent_training.cache._memory import (
    CachedFunction,
    DiskCacheMemory,
    as_memory,
    dependency_versions,
    instance_of,
    memoize,
    parse_ttl,
    private_files,
)

__all__ = [
    "CachedFunction",
    "DiskCacheMemory",
    "as_memory",
    "dependency_versions",
    "fingerprint",
    "instance_of",
    "memoize",
    "parse_ttl",
    "private_files",
]
