"""``intelligent-train``: parse flags, resolve the config, run the job, print a summary."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from intelligent_training.cli._parser import build_parser, overrides_from_args

__all__ = ["main"]

logger = logging.getLogger("intelligent_training.cli")


class _OneLineWarnings:
    """Show warnings as one log line: ``WARNING: DataWarning: message``, no source path,
    each distinct message once per run (every stage resolving the same target's horizon
    warns about it; the user needs to read it once)."""

    def __init__(self) -> None:
        self._saved = warnings.showwarning
        self._shown: set[tuple[str, str]] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        text = " ".join(str(message).split())
        if (category.__name__, text) in self._shown:
            return
        self._shown.add((category.__name__, text))
        logging.getLogger("py.warnings").warning("%s: %s", category.__name__, text)

    def restore(self) -> None:
        warnings.showwarning = self._saved


def _setup_logging(verbosity: int, debug: bool) -> tuple[logging.Handler, _OneLineWarnings]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    level = logging.DEBUG if debug or verbosity >= 2 else logging.INFO
    handler.setLevel(logging.WARNING if verbosity == 0 else level)
    package = logging.getLogger("intelligent_training")
    package.addHandler(handler)
    package.setLevel(min(level, logging.INFO))
    package.propagate = False
    shower = _OneLineWarnings()
    warnings.showwarning = shower
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.addHandler(handler)
    warnings_logger.propagate = False
    return handler, shower


def _teardown_logging(handler: logging.Handler, shower: _OneLineWarnings) -> None:
    package = logging.getLogger("intelligent_training")
    package.removeHandler(handler)
    package.setLevel(logging.NOTSET)
    package.propagate = True
    shower.restore()
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.removeHandler(handler)
    warnings_logger.propagate = True


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    sys.stderr.write(f"intelligent-train: error: {message}\n")
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for data/config/model errors, 2 for usage errors,
        130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:  # `intelligent-train report OUTPUT_DIR`
        from intelligent_training.cli._report import report_main

        return report_main(argv[1:])
    if argv[:1] == ["predict"]:  # `intelligent-train predict OUTPUT_DIR --data-dir NEW --out F`
        from intelligent_training.cli._predict import predict_main

        return predict_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) and usage errors (2)
        return int(exc.code or 0)
    if args.force_refresh and args.no_cache:
        return _usage_error(parser, "--force-refresh and --no-cache exclude each other")

    verbosity = 0 if args.quiet else 1 + args.verbose
    handler, shower = _setup_logging(verbosity, args.debug)
    try:
        with warnings.catch_warnings():
            # Deprecation notices from dependencies are for developers, not users.
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            cfg = _config(args)
            if cfg.data.data_dir is None:
                return _usage_error(
                    parser, "pass --data-dir DIR (or data.data_dir in --config, or --demo)"
                )
            return _run(args, cfg)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; nothing was published\n")
        return 130
    except Exception as exc:
        if args.debug:
            raise
        return report_error(exc)
    finally:
        _teardown_logging(handler, shower)


def report_error(exc: BaseException, *, os_error: str | None = None) -> int:
    """Write ``exc`` as one ``error:`` line on stderr and return the exit status 1.

    The library's own errors are written as they are; an ``OSError`` as ``os_error``
    (``"cannot write FILE"``) when given; anything else as unexpected, with a pointer to
    ``--debug``. The one policy of every subcommand.
    """
    from intelligent_training.exceptions import IntelligentTrainingError

    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, IntelligentTrainingError):
        sys.stderr.write(f"error: {message}\n")
    elif os_error is not None and isinstance(exc, OSError):
        sys.stderr.write(f"error: {os_error}: {message}\n")
    else:
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {message} "
            "(rerun with --debug for the traceback)\n"
        )
    return 1


def _config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The resolved configuration: flags over --config over the section files and defaults."""
    from intelligent_training.config import load_config

    cfg = load_config(
        args.config,
        target_ranking_config=args.target_ranking_config,
        multi_model_config=args.multi_model_config,
        overrides=overrides_from_args(args),
        profile="demo" if args.demo else None,
    )
    if args.demo and cfg.data.data_dir is None:
        cfg.data.data_dir = str(_write_demo_data(Path(cfg.runtime.output_dir)))
    return cfg


def _run(args: argparse.Namespace, cfg) -> int:  # type: ignore[no-untyped-def]
    from intelligent_training.app import run_job
    from intelligent_training.data._memory import bound_freed_blocks

    bound_freed_blocks()  # the process is the job's: large freed buffers leave it at once

    if not cfg.cache.enabled and (Path(cfg.runtime.output_dir) / "cache").exists():
        logger.info("caching is off: the existing cache directory is neither read nor written")
    result = run_job(cfg)
    from intelligent_training.cli._summary import format_summary

    if not args.quiet:
        sys.stdout.write(format_summary(result))
    return 0


def _write_demo_data(output_dir: Path) -> Path:
    """Write the synthetic demo panel once into ``<output_dir>/demo_data``."""
    from intelligent_training.datasets import write_synthetic_data_dir

    root = output_dir / "demo_data"
    data_dir = root / "interval=5m"
    if not data_dir.is_dir():
        logger.info("writing the synthetic demo data set to %s", root)
        write_synthetic_data_dir(root, interval="5m", random_state=0)
    return data_dir
