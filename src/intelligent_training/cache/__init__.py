"""On-disk memoisation (``DiskCacheMemory``) and fast data fingerprints."""

from intelligent_training.cache._fingerprint import fingerprint
from intelligent_training.cache._memory import (
    CachedFunction,
    DiskCacheMemory,
    as_memory,
    parse_ttl,
)

__all__ = ["CachedFunction", "DiskCacheMemory", "as_memory", "fingerprint", "parse_ttl"]
