"""Developer sessions: ``nox`` (tests), ``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``,
``nox -s docs``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

INSTALL = ("-c", "constraints.txt", "-e", ".[all,dev]")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the default (fast) test suite; pass ``-- -m slow`` for the slow one."""
    session.install(*INSTALL)
    session.run("pytest", *session.posargs, success_codes=[0, 5])


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff")
    paths = ("src", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy on the library sources."""
    session.install(*INSTALL)
    session.run("mypy", "src/intelligent_training")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark in ``benchmarks/`` (each prints its ratios against its baseline)."""
    session.install(*INSTALL)
    for script in (
        "bench_split.py",
        "bench_families.py",
        "bench_rank.py",
        "bench_select.py",
        "bench_peer_workload.py",
        "bench_memory.py",
    ):
        session.run("python", f"benchmarks/{script}", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into ``docs/_build/html``; warnings are errors.

    The gallery examples (``examples/plot_*.py``) run during the build; pass
    ``-- -D plot_gallery=0`` (or set ``INTELLIGENT_TRAINING_DOCS_FAST=1``) to skip them.
    """
    session.install("-c", "constraints.txt", "-e", ".[dask,docs]")
    session.run(
        "python", "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html",
        *session.posargs,
    )  # fmt: skip
