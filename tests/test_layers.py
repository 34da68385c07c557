"""The package's layers (docs/architecture.md): every import points down, none goes in a circle.

The imports are read from the source with ``ast`` (module-level and function-level ones
alike, absolute and relative), at the granularity of the subpackages and top-level modules
of ``intelligent_training``. A layer may import from any layer below it; modules of one
layer may import each other as long as that makes no circle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = "intelligent_training"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: Bottom to top; the one table of docs/architecture.md ("Layers").
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"exceptions", "_version", "_progress", "io"}),
    frozenset({"utils", "data", "model_selection", "cache", "stats"}),
    frozenset({"metrics"}),
    frozenset({"families", "datasets"}),
    frozenset({"evaluation"}),
    frozenset({"ranking", "selection", "training"}),
    frozenset({"config"}),
    frozenset({"report"}),
    frozenset({"pipeline"}),
    frozenset({"app"}),
    frozenset({"cli", "__main__", "discovery", "__init__"}),
)
RANK = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def _unit(module: str) -> str:
    """``intelligent_training.evaluation._run`` -> ``evaluation``; the package -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> set[str]:
    """Every ``intelligent_training`` module that ``path`` imports, anywhere in it."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.split(".")[0] != PACKAGE:
                continue
            if module == PACKAGE:  # ``from intelligent_training import stats``
                found.update(f"{PACKAGE}.{a.name}" for a in node.names)
            else:
                found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SOURCE.rglob("*.py"):
        source = _unit(_module_name(path))
        for module in _imported_modules(path):
            target = _unit(module)
            if target != source and target in RANK:  # a name, not a module: ignored
                edges[source].add(target)
            elif target != source and (SOURCE / target).with_suffix(".py").exists():
                edges[source].add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_unit_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in SOURCE.iterdir()}
    units = {u for u in units if not u.startswith((".", "__pycache__")) and u != "py"}
    units.discard("templates")
    code = {u for u in units if (SOURCE / u).is_dir() or (SOURCE / f"{u}.py").exists()}
    assert code - {"py.typed"} <= set(RANK), f"no layer for {sorted(code - set(RANK))}"


def test_imports_point_down():
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in _graph().items()
        for target in targets
        if RANK[target] > RANK[source]
    )
    assert upward == []


def test_no_import_circles():
    assert _cycle(_graph()) is None


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_the_circle_finder_finds_circles(edges, expected):
    assert _cycle(edges) == expected


def test_relative_and_package_level_imports_are_read(tmp_path, monkeypatch):
    # the reader must see the import forms the package uses, or the layer tests prove nothing
    graph = _graph()
    assert "evaluation" in graph["ranking"]  # absolute
    assert "stats" in graph["report"]  # ``from intelligent_training import stats``
    assert "cli" in graph["__main__"]
