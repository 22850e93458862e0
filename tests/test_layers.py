"""The architecture of core/: every import, including those inside functions, points down
the layers, and no module or package imports itself back through others."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"

#: core's top-level packages and modules, lowest first. A module may import its own
#: layer and the layers below it, never one above.
LAYERS = (
    {
        "exceptions",
        "durations",
        "conf",
        "validation",
        "legacy",
        "signals",
        "checks",
        "faults",
        "readiness",
    },
    {"models", "migrations"},
    {"drivers"},
    {"durable"},
    {"jobs"},
    {"scheduling", "streams"},
    {"insights"},
    {"maintenance"},
    {"worker"},
    {"queue", "handlers", "backend"},
    {"api", "admin", "templatetags", "http"},
    {"dashboard"},
    {"mcp"},
    {"management", "bench"},
    {"demo", "apps", "urls"},
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
#: The public import paths: they re-export and define nothing.
FACADES = ("queue.py", "handlers.py", "backend.py")


def _module_name(path: Path) -> str:
    parts = ["core", *path.relative_to(CORE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(CORE.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The core modules ``name`` imports anywhere in its file (function bodies too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return {module for module in found if module == "core" or module.startswith("core.")}


GRAPH = {name: _imports(name, path) - {name} for name, path in MODULES.items()}


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path of nodes, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_package_and_module_of_core_has_a_layer():
    tops = {_top(name) for name in MODULES if name != "core"}
    assert sorted(tops - set(RANK)) == []


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name != "core"
        for target in sorted(targets)
        if target != "core" and RANK[_top(target)] > RANK[_top(name)]
    ]
    assert upward == []


def test_no_import_cycle_between_modules():
    assert _cycle(GRAPH) is None


def test_no_import_cycle_between_packages():
    packages: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        if name != "core":
            packages.setdefault(_top(name), set()).update(
                _top(t) for t in targets if t != "core" and _top(t) != _top(name)
            )
    assert _cycle(packages) is None


@pytest.mark.parametrize("facade", FACADES)
def test_public_import_paths_only_re_export(facade):
    tree = ast.parse((CORE / facade).read_text())
    defined = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert defined == []
    assert all(
        isinstance(node, ast.ImportFrom | ast.Import | ast.Assign | ast.Expr) for node in tree.body
    )


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from core.queue import enqueue\n    import core.models\n")
    assert _imports("core.x.m", source) == {"core.queue", "core.models"}


def test_every_package_says_in_its_docstring_what_it_owns():
    silent = [
        name
        for name, path in MODULES.items()
        if path.name == "__init__.py"
        and ".migrations" not in name
        and not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert silent == []
