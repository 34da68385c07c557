"""``intelligent-train predict OUTPUT_DIR --data-dir NEW --out FILE``: score new bars.

A thin layer over :func:`intelligent_training.app._predict.predict_data_dir` (which is
``IntelligentPipeline.load(OUTPUT_DIR).predict_all`` of the new data) and
:func:`~intelligent_training.app._predict.write_predictions` (atomic: nothing is written
on failure).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from intelligent_training.cli._parser import _Names

__all__ = ["build_predict_parser", "predict_main"]


def _threshold(value: str) -> float | None:
    """``--drift-threshold``: a positive number, or ``none`` (no drift check)."""
    if value.strip().lower() in {"none", "off"}:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number or none, got {value!r}")
    return number


def build_predict_parser() -> argparse.ArgumentParser:
    """The parser of the ``predict`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="intelligent-train predict",
        description=(
            "Score new bars with the models of a finished run: every selected target x "
            "trained family and the ensemble, indexed (timestamp, symbol), written to "
            "FILE (.parquet, .csv or .csv.gz) with the run id and model versions in its "
            "metadata. Sequence families read their history from NEW's earlier rows."
        ),
    )
    parser.add_argument(
        "output_dir", metavar="OUTPUT_DIR", type=Path, help="output directory of a finished run"
    )
    parser.add_argument(
        "--data-dir",
        required=True,
        type=Path,
        metavar="NEW",
        help="new data, in the layout of the training data; target columns are ignored",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="FILE",
        help="predictions file: *.parquet, *.csv or *.csv.gz (replaced atomically)",
    )
    parser.add_argument(
        "--symbols", nargs="+", action=_Names, default=None, help="only these symbols"
    )
    parser.add_argument(
        "--start",
        default=None,
        metavar="TIMESTAMP",
        help=(
            "score the rows at or after this time; earlier rows are history only (default: "
            "all rows but each symbol's first history rows)"
        ),
    )
    parser.add_argument(
        "--time-column", default=None, help="time column of NEW (default: the run's, or auto)"
    )
    parser.add_argument(
        "--drift-threshold",
        type=_threshold,
        default=0.25,
        metavar="PSI",
        help="warn about features whose population stability index exceeds PSI (default "
        "0.25; none: no check)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print warnings only")
    parser.add_argument("--debug", action="store_true", help="full tracebacks")
    return parser


def predict_main(argv: Sequence[str]) -> int:
    """Run the ``predict`` subcommand.

    Parameters
    ----------
    argv : sequence of str
        The arguments after ``predict``.

    Returns
    -------
    int
        0 on success, 1 for a bad run directory or bad new data (one ``error:`` line,
        nothing written), 2 for usage errors, 130 when interrupted.
    """
    parser = build_predict_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help (0) and usage errors (2)
        return int(exc.code or 0)
    from intelligent_training.app._predict import predictions_format
    from intelligent_training.cli._main import _setup_logging, _teardown_logging, report_error
    from intelligent_training.exceptions import ConfigError

    try:
        predictions_format(args.out)
    except ConfigError as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"intelligent-train predict: error: --out: {exc}\n")
        return 2
    handler, shower = _setup_logging(0 if args.quiet else 1, args.debug)
    try:
        with warnings.catch_warnings():
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            return _run(args)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; nothing was written\n")
        return 130
    except Exception as exc:
        if args.debug:
            raise
        return report_error(exc, os_error=f"cannot write {args.out}")
    finally:
        _teardown_logging(handler, shower)


def _run(args: argparse.Namespace) -> int:
    from intelligent_training.app._predict import predict_data_dir, write_predictions
    from intelligent_training.exceptions import ConfigError

    if not args.out.parent.is_dir():  # before any work
        raise ConfigError(
            f"cannot write {args.out}: the directory {args.out.parent} does not exist"
        )
    frame = predict_data_dir(
        args.output_dir,
        args.data_dir,
        symbols=args.symbols,
        start=args.start,
        time_column=args.time_column,
        drift_threshold=args.drift_threshold,
    )
    path = write_predictions(frame, args.out)
    if not args.quiet:
        meta = frame.attrs["intelligent_training"]
        targets = frame.columns.get_level_values("target").unique()
        sys.stdout.write(
            f"predictions: {len(frame)} rows x {frame.shape[1]} columns ({len(targets)} "
            f"targets) of run {meta['run_id']} -> {path}\n"
        )
    return 0
