"""Re-render the report of a published output directory in place (``intelligent-train report``).

A published run (``runs/<id>`` behind ``current``) is checksummed: every file is listed
with its SHA-256 in ``manifest.json``. Re-rendering writes ``report.json`` /
``report.html`` into that run directory under the output directory's lock, each file
replaced atomically, and updates the manifest's entries of those two files only (a
changed model file is never re-blessed by a re-render).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["rerender_report"]


def rerender_report(output_dir: str | os.PathLike[str], *, html: bool = True) -> Path:
    """Rewrite ``report.json`` (and ``report.html``) of a finished output directory.

    Every file the report reads is checked against its SHA-256 in the manifest first
    (a damaged file is an error naming it, see ``report._inputs``).

    Parameters
    ----------
    output_dir : path
        An output directory of ``intelligent-train`` (published runs) or of
        ``IntelligentPipeline.save``; a flat directory is written as it is.
    html : bool, default=True
        Also write ``report.html`` (needs the ``report`` extra).

    Returns
    -------
    pathlib.Path
        The user-facing path of the report written (``<output_dir>/report.html``, or
        ``report.json`` when ``html=False``).
    """
    from intelligent_training.io import (
        CURRENT,
        MANIFEST,
        OutputLock,
        dump_json,
        read_json,
        resolve_run,
        sha256_file,
    )
    from intelligent_training.report import write_report
    from intelligent_training.report._layout import REPORT_HTML, REPORT_JSON

    output_dir = Path(output_dir)
    if not (output_dir / CURRENT).is_symlink():  # a flat directory: no runs, no lock
        path = write_report(output_dir, output_dir, html=html)
        assert path is not None
        return path
    with OutputLock(output_dir):
        run = resolve_run(output_dir)
        path = write_report(run, run, html=html)
        assert path is not None
        manifest_path = run / MANIFEST
        if manifest_path.is_file():
            manifest = read_json(manifest_path)
            listing = dict(manifest.get("artefacts") or {})
            for name in (REPORT_JSON, REPORT_HTML):
                if (run / name).is_file():
                    digest, size = sha256_file(run / name, fsync=True)
                    listing[name] = {"sha256": digest, "bytes": size}
            manifest["artefacts"] = listing
            dump_json(manifest_path, manifest)
        for name in (REPORT_JSON, REPORT_HTML):  # a run published without a report
            link = output_dir / name
            if (run / name).is_file() and not link.is_symlink() and not link.exists():
                tmp = output_dir / f".{name}.link-{secrets.token_hex(4)}"
                os.symlink(f"{CURRENT}/{name}", tmp)
                os.replace(tmp, link)
    return output_dir / path.name
