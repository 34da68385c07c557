"""The argument parser of ``intelligent-train`` and its mapping onto config overrides."""

from __future__ import annotations

import argparse
from typing import Any

from intelligent_training._version import __version__

__all__ = ["build_parser", "overrides_from_args"]

_DESCRIPTION = (
    "Rank candidate targets by out-of-sample predictability, select features per target by "
    "multi-model consensus and train model families, under purged time-series CV. "
    "Settings come from (highest first): these flags, --config, --target-ranking-config / "
    "--multi-model-config, the packaged defaults; every flag has a config key. List flags "
    "take names separated by spaces or commas (--symbols AAPL MSFT or --symbols AAPL,MSFT)."
)


class _Names(argparse.Action):
    """A list flag: space-separated (``--symbols A B``), comma-separated (``A,B``) or both."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        items = [v.strip() for value in values for v in str(value).split(",") if v.strip()]
        if not items:
            parser.error(f"{option_string} expects one or more names")
        setattr(namespace, self.dest, list(dict.fromkeys(items)))


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _fdr(value: str) -> float | str:
    """``--fdr``: a number in (0, 1), or ``none`` (no significance test)."""
    if value.strip().lower() in {"none", "off"}:
        return "none"
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a number in (0, 1) such as 0.1, or none, got {value!r}"
        )
    return number


def _duration(value: str) -> float:
    """``--time-budget``: seconds, or a duration such as ``90s``, ``10min``, ``1h``."""
    from intelligent_training.training._search_space import parse_seconds

    try:
        seconds = parse_seconds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert seconds is not None
    return seconds


def build_parser() -> argparse.ArgumentParser:
    """The ``intelligent-train`` argument parser."""
    p = argparse.ArgumentParser(prog="intelligent-train", description=_DESCRIPTION)
    p.epilog = (
        "intelligent-train report OUTPUT_DIR re-renders the report of a finished run; "
        "intelligent-train predict OUTPUT_DIR --data-dir NEW --out FILE scores new bars."
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    data = p.add_argument_group("data")
    data.add_argument(
        "--data-dir", help="directory with one table per symbol (or data.data_dir in --config)"
    )
    data.add_argument(
        "--symbols", nargs="+", action=_Names, metavar="SYM", help="symbols (default: all)"
    )
    data.add_argument("--time-column", help="name of the time column (default: auto-detect)")
    data.add_argument(
        "--min-cs", type=_positive_int, help="drop timestamps with fewer symbols than this"
    )
    data.add_argument(
        "--targets", nargs="+", action=_Names, metavar="NAME", help="candidate targets"
    )
    data.add_argument(
        "--features", nargs="+", action=_Names, metavar="NAME", help="candidate features"
    )

    steps = p.add_argument_group("steps")
    steps.add_argument(
        "--auto-targets",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rank the candidate targets and keep the top N (--no-auto-targets: use all "
        "candidates as given)",
    )
    steps.add_argument("--top-n-targets", type=_positive_int, help="targets to keep")
    steps.add_argument(
        "--fdr",
        type=_fdr,
        metavar="RATE",
        help="false-discovery rate of the kept targets: only targets whose "
        "Benjamini-Yekutieli q-value is at most RATE are kept (default 0.1; none: keep the "
        "top N by score alone)",
    )
    steps.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stop evaluating targets that cannot reach the top N between folds (default; "
        "--no-early-stopping: evaluate every fold of every target)",
    )
    steps.add_argument(
        "--sample-weight",
        choices=["uniqueness", "none"],
        help="weights of the rows in every stage's fits: uniqueness (average uniqueness of "
        "each row's overlapping label over its symbol) or none (default: unweighted)",
    )
    steps.add_argument(
        "--auto-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="select features per target (--no-auto-features: use all candidates)",
    )
    steps.add_argument("--top-m-features", type=_positive_int, help="features per target")
    steps.add_argument(
        "--families",
        nargs="+",
        action=_Names,
        metavar="FAMILY",
        help="model families of the training stage (training.families), e.g. lightgbm xgboost "
        "mlp; ranking and selection keep their own (target_ranking.families, "
        "feature_selection.families)",
    )
    steps.add_argument(
        "--strategy",
        choices=["single_task", "multi_task", "cascade"],
        help="training strategy (training.strategy): single_task, one model per target and "
        "family; multi_task, one model with a head per target; cascade, later targets get "
        "earlier targets' out-of-fold predictions as features",
    )
    steps.add_argument(
        "--tune-trials",
        type=_positive_int,
        metavar="N",
        help="search each trained family's parameters with N Optuna trials per target over "
        "the same purged folds, pruned fold by fold, before training (training.tuning."
        "n_trials; needs the 'tune' extra); the study is kept in <output-dir>/tuning",
    )
    steps.add_argument(
        "--time-budget",
        type=_duration,
        metavar="DURATION",
        help="time budget of the parameter search, e.g. 90s, 10min, 1h: no trial starts "
        "that would end after it (training.tuning.timeout; alone, it turns the search "
        "on with 20 trials per target and family)",
    )

    run = p.add_argument_group("run")
    run.add_argument("--output-dir", help="output directory (default: intelligent_output)")
    run.add_argument("--config", help="YAML config file (any section)")
    run.add_argument("--target-ranking-config", help="YAML file with the target_ranking section")
    run.add_argument(
        "--multi-model-config",
        help="YAML file with the feature_selection (and optionally training) section",
    )
    run.add_argument(
        "--force-refresh", action="store_true", help="recompute and overwrite cached results"
    )
    run.add_argument("--no-cache", action="store_true", help="neither read nor write a cache")
    run.add_argument("--max-rows-train", type=_positive_int, help="cap on training rows")
    run.add_argument("--threads", type=_positive_int, help="threads per model")
    run.add_argument("--cpu-only", action="store_true", default=None, help="never use a GPU")
    run.add_argument("--seed", type=int, help="random_state of every model (default: 0)")
    run.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run every stage's cells on this Dask scheduler (tcp://host:8786), or on "
        "'local' / 'local:N' worker processes started for the run",
    )
    run.add_argument(
        "--mlflow-uri",
        metavar="URI",
        help="log the run's parameters, per-target metrics, report and artefacts to this "
        "MLflow tracking URI (file:///path or http://host:5000; needs the 'mlflow' extra)",
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="write the synthetic demo data set into <output-dir>/demo_data and run on it",
    )

    out = p.add_argument_group("output")
    out.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    out.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    out.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    return p


def overrides_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Nested ``{section: {key: value}}`` overrides from the flags that were given."""
    mapping = {
        "data_dir": ("data", "data_dir"),
        "symbols": ("data", "symbols"),
        "time_column": ("data", "time_column"),
        "min_cs": ("data", "min_cs"),
        "targets": ("data", "targets"),
        "features": ("data", "features"),
        "auto_targets": ("target_ranking", "enabled"),
        "top_n_targets": ("target_ranking", "top_n"),
        "fdr": ("target_ranking", "fdr"),
        "early_stopping": ("target_ranking", "early_stopping"),
        "sample_weight": ("target_ranking", "sample_weight"),
        "auto_features": ("feature_selection", "enabled"),
        "top_m_features": ("feature_selection", "top_m"),
        "families": ("training", "families"),
        "strategy": ("training", "strategy"),
        "max_rows_train": ("training", "max_rows_train"),
        "output_dir": ("runtime", "output_dir"),
        "threads": ("runtime", "threads"),
        "cpu_only": ("runtime", "cpu_only"),
        "seed": ("runtime", "random_state"),
        "dask_scheduler": ("runtime", "dask_scheduler"),
        "mlflow_uri": ("runtime", "mlflow_uri"),
    }
    out: dict[str, dict[str, Any]] = {}
    for attr, (section, key) in mapping.items():
        value = getattr(args, attr, None)
        if value is not None:
            out.setdefault(section, {})[key] = value
    tuning = {
        key: getattr(args, attr)
        for attr, key in (("tune_trials", "n_trials"), ("time_budget", "timeout"))
        if getattr(args, attr, None) is not None
    }
    if tuning:  # merged into training.tuning of the config files (key by key)
        out.setdefault("training", {})["tuning"] = {"enabled": True, **tuning}
    if args.force_refresh:
        out.setdefault("cache", {})["force_refresh"] = True
    if args.no_cache:
        out.setdefault("cache", {})["enabled"] = False
    if args.quiet:
        out.setdefault("runtime", {})["verbose"] = 0
    elif args.verbose:
        out.setdefault("runtime", {})["verbose"] = 1 + args.verbose
    return out
