"""The layout's promises, read from the source: no import cycles (imports inside functions
count too: a cycle hidden in a function is still a cycle), no module over 450 lines, and the
layers in order: settings below the domain, the store below ingest, the dashboard beside the
routes, never on them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"leadtime.tracer": ROOT / "tracer", "leadtime.server": ROOT / "server"}
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:
                continue  # Alembic's revisions, kept as generated
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module of ours this file imports, at the top or inside a function."""
    named = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            named.add(node.module)
            named.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in named if name in MODULES}


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in GRAPH:
        if module not in index:
            visit(module)
    return groups


def test_the_walk_sees_the_imports():
    assert "leadtime.server.store" in GRAPH["leadtime.server.recording"]
    assert len(MODULES) > 60


def test_no_import_cycles():
    assert _cycles() == []


def test_a_cycle_would_be_found(monkeypatch):
    monkeypatch.setitem(
        GRAPH,
        "leadtime.server.settings",
        {*GRAPH["leadtime.server.settings"], "leadtime.server.domain.oncall"},
    )
    assert any("leadtime.server.settings" in group for group in _cycles())


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_450_lines(module):
    assert len(MODULES[module].read_text().splitlines()) <= MAX_LINES


def test_settings_import_nothing_of_the_domain_or_the_orm():
    below = _reachable("leadtime.server.settings")
    assert not [
        m for m in below if m.startswith(("leadtime.server.domain", "leadtime.server.store"))
    ]
    assert "leadtime.server.models" not in below


@pytest.mark.parametrize(
    "module", ["leadtime.server.store", "leadtime.server.models", "leadtime.server.db"]
)
def test_nothing_below_the_domain_imports_ingest(module):
    below = {module, *_reachable(module)}
    assert not [m for m in below if m.startswith("leadtime.server.ingest")]


def test_the_dashboard_imports_no_route():
    dashboard = [m for m in MODULES if m.startswith("leadtime.server.dashboard")]
    routes = {m for m in MODULES if m.startswith("leadtime.server.api.")} - {
        "leadtime.server.api.deps"
    }
    assert not [(m, GRAPH[m] & routes) for m in dashboard if GRAPH[m] & routes]


def test_the_tracer_imports_nothing_of_the_server():
    tracer = [m for m in MODULES if m.startswith("leadtime.tracer")]
    assert not [m for m in tracer if any(t.startswith("leadtime.server") for t in GRAPH[m])]


def test_test_modules_do_not_import_each_other():
    """Shared helpers live in conftest.py, factories.py and the like, never in a test module."""
    tests = Path(__file__).resolve().parent
    importing = []
    for path in tests.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name.split(".")[-1].startswith("test_") for name in names):
                importing.append(str(path.relative_to(tests)))
    assert importing == []
