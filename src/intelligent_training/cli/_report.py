"""``intelligent-train report OUTPUT_DIR``: re-render the report of a finished run.

Reads the run's CSV/parquet/JSON files (no refit, no unpickling) and writes
``report.json`` and ``report.html`` into the output directory (or ``--out``). In place,
the published run is rewritten under the directory's lock and the manifest's checksums
of the two report files are updated (see :func:`intelligent_training.app._report.rerender_report`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_report_parser", "report_main"]


def build_report_parser() -> argparse.ArgumentParser:
    """The parser of the ``report`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="intelligent-train report",
        description=(
            "Write report.html (self-contained, opens offline) and report.json (the numbers "
            "behind every figure) from a finished output directory, without refitting."
        ),
    )
    parser.add_argument(
        "output_dir",
        metavar="OUTPUT_DIR",
        type=Path,
        help="output directory of an intelligent-train run",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="write the report here instead of into OUTPUT_DIR"
    )
    parser.add_argument(
        "--json-only",
        action="store_true",
        help="write report.json only (needs no plotting library)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return parser


def report_main(argv: Sequence[str]) -> int:
    """Run the ``report`` subcommand.

    Parameters
    ----------
    argv : sequence of str
        The arguments after ``report``.

    Returns
    -------
    int
        0 on success, 1 for a bad output directory or a missing dependency, 2 for
        usage errors.
    """
    parser = build_report_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help (0) and usage errors (2)
        return int(exc.code or 0)
    from intelligent_training.exceptions import IntelligentTrainingError
    from intelligent_training.report import write_report

    try:
        if args.out is None:  # in place: a published run is rewritten under its lock
            from intelligent_training.app._report import rerender_report

            path = rerender_report(args.output_dir, html=not args.json_only)
        else:
            path = write_report(args.output_dir, args.out, html=not args.json_only)
    except IntelligentTrainingError as exc:
        sys.stderr.write(f"error: {str(exc).strip()}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"error: cannot write the report: {exc}\n")
        return 1
    if not args.quiet:
        sys.stdout.write(f"report: {path}\n")
    return 0
