"""Developer sessions: ``nox`` (tests), ``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``,
``nox -s docs``, ``nox -s newest`` and ``nox -s lowest`` (the default suite on the newest and on
the oldest dependency releases the metadata allows)."""

from __future__ import annotations

import re
from pathlib import Path

import nox
import tomllib

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

INSTALL = ("-c", "constraints.txt", "-e", ".[all,dev]")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the default (fast) test suite; pass ``-- -m slow`` for the slow one."""
    session.install(*INSTALL)
    session.run("pytest", *session.posargs, success_codes=[0, 5])


#: Extras of the newest-releases session. ``ngboost`` is left out: it pulls in lifelines, which
#: caps pandas below 3, so with it the resolver would never pick the newest pandas.
NEWEST_EXTRAS = "torch,dask,report,dev"


@nox.session
def newest(session: nox.Session) -> None:
    """The default suite on the newest release of every dependency (pandas 3 included)."""
    session.install("-c", "constraints.txt", "--upgrade", "--upgrade-strategy", "eager",
                    "-e", f".[{NEWEST_EXTRAS}]")  # fmt: skip
    session.run("python", "-m", "pip", "list", "--format=freeze")
    session.run("pytest", *session.posargs, success_codes=[0, 5])


def lowest_pins() -> list[str]:
    """``name==version`` for every ``name>=version`` requirement of the package."""
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = []
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)\s*", requirement)
        if match is None:
            raise ValueError(f"not a 'name>=version' requirement: {requirement!r}")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


@nox.session
def lowest(session: nox.Session) -> None:
    """The default suite on the oldest release of every dependency the metadata allows.

    The core requirements are pinned to their lower bounds and installed together with the
    optional extras (torch from ``constraints.txt``, dask, report) so that the pins hold; ngboost
    is left out (it is an optional family whose own requirements set their floors).
    """
    session.install("-c", "constraints.txt", *lowest_pins(), "-e", ".[torch,dask,report]")
    session.install("pytest", "pytest-timeout", "hypothesis")
    session.run("python", "-m", "pip", "list", "--format=freeze")
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
