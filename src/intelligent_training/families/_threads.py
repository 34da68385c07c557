"""Thread-count resolution shared by the family builders."""

from __future__ import annotations

from joblib import effective_n_jobs


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Turn an sklearn-style ``n_jobs`` into a positive thread count.

    ``None`` means 1 (unless inside a ``joblib.parallel_backend`` context that says
    otherwise), ``-1`` all cores, ``-2`` all but one, and so on.
    """
    return int(effective_n_jobs(n_jobs))
