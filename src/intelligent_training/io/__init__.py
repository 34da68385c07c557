"""Files on disk: the one manifest format, atomic writes, the output lock, publication.

The layer below the pipeline and the console script. It knows files, checksums and
the run layout (``runs/<id>``, ``current``, ``.lock``), never an estimator:

- :mod:`~intelligent_training.io._files`: names per target, SHA-256, confined paths,
  :func:`atomic_write`, reads that never follow a symbolic link, the full-disk error;
- :mod:`~intelligent_training.io._manifest`: the manifest header and its schema, the
  one :func:`versions`;
- :mod:`~intelligent_training.io._lock`: :class:`OutputLock`;
- :mod:`~intelligent_training.io._publish`: :func:`publish` (lock, cleanup of what this
  library provably left, write, atomic switch of ``current``), :func:`resolve_run`.
"""

from __future__ import annotations

from intelligent_training.io._files import (
    atomic_write,
    checksum_listing,
    confined,
    dump_json,
    file_stem,
    no_space,
    open_regular,
    read_json,
    reading,
    require,
    sha256_file,
    unique_stems,
    verify_files,
    writable_dir,
)
from intelligent_training.io._lock import LOCK_FILE, OutputLock
from intelligent_training.io._manifest import (
    FORMAT_VERSION,
    MARKER,
    check_header,
    finish_manifest,
    header,
    listing,
    read_run_manifest,
    versions,
)
from intelligent_training.io._publish import (
    CURRENT,
    LINKED,
    RUNS,
    check_ownership,
    clean_leftovers,
    new_run_id,
    publish,
    publishing,
    resolve_run,
)

#: The file name of every manifest (a run's and a saved trainer's).
MANIFEST = "manifest.json"

__all__ = [
    "CURRENT",
    "FORMAT_VERSION",
    "LINKED",
    "LOCK_FILE",
    "MANIFEST",
    "MARKER",
    "RUNS",
    "OutputLock",
    "atomic_write",
    "check_header",
    "check_ownership",
    "checksum_listing",
    "clean_leftovers",
    "confined",
    "dump_json",
    "file_stem",
    "finish_manifest",
    "header",
    "listing",
    "new_run_id",
    "no_space",
    "open_regular",
    "publish",
    "publishing",
    "read_json",
    "read_run_manifest",
    "reading",
    "require",
    "resolve_run",
    "sha256_file",
    "unique_stems",
    "verify_files",
    "versions",
    "writable_dir",
]
