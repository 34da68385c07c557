"""Parquet as this library reads and writes it: with page checksums.

Every parquet file the library writes (the synthetic data directories, the run's
predictions and skill tables) carries a CRC32 checksum per data page
(``write_page_checksum``), and every parquet file it reads has the checksums it carries
verified (``page_checksum_verification``): a flipped byte in such a file is an error
naming the file, not silently altered values.

What cannot be detected (see ``docs/data.md``): a file written without page checksums
(pyarrow's and pandas' default), where a byte changed inside a page's values (plain or
dictionary-encoded, uncompressed or where the codec still decodes) reads back as another
value; and CSV files, which have no checksums at all.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import pyarrow as pa

__all__ = ["read_parquet", "read_table", "write_parquet"]

PathLike = str | os.PathLike[str]


def read_table(path: PathLike, columns: list[str] | None = None) -> pa.Table:
    """``pyarrow.parquet.read_table`` with the file's page checksums verified.

    Raises
    ------
    OSError
        A page whose checksum does not match ("CRC checksum verification failed"), or
        another read failure (the callers name the file).
    """
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns, page_checksum_verification=True)


def read_parquet(path: PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """A parquet file as a DataFrame, its page checksums verified (see :func:`read_table`)."""
    return read_table(path, columns).to_pandas()


def write_parquet(data: pd.DataFrame | pa.Table, path: PathLike, **options: Any) -> None:
    """Write ``data`` (a DataFrame or an Arrow table) with a checksum on every page.

    ``options`` go to ``DataFrame.to_parquet`` / ``pyarrow.parquet.write_table``
    (e.g. ``index=False`` for a DataFrame).
    """
    if isinstance(data, pd.DataFrame):
        data.to_parquet(path, engine="pyarrow", write_page_checksum=True, **options)
        return
    import pyarrow.parquet as pq

    pq.write_table(data, path, write_page_checksum=True, **options)
