"""The library's import graph points one way: no circle, and no import from
a lower floor to a higher one. Read from the source with `ast`, so lazy
imports inside functions count too.

Floors, lowest first (a module may import its own floor and those below):
    0. `version`, `atomic`, `flops`, `layers`, `data`: the building blocks;
    1. `models`, `audio`: model families, audio I/O and datasets;
    2. `zoo`, `convert`: the registry, loading, the cache and the
       converters from peers' checkpoints;
    3. `inference`, `viz`: running and explaining a loaded model;
    4. `demo`, `cli`: what a person runs.
The package's own `__init__` is the facade above them all.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "keras_attention"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
FLOORS = {
    "version": 0,
    "atomic": 0,
    "flops": 0,
    "layers": 0,
    "data": 0,
    "models": 1,
    "audio": 1,
    "convert": 2,
    "zoo": 2,
    "inference": 3,
    "export": 3,
    "viz": 3,
    "demo": 4,
    "cli": 4,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, name: str | None, modules) -> str:
    """`from module import name` imports module.name when that is a
    module of the package, else `module` itself."""
    if name and f"{module}.{name}" in modules:
        return f"{module}.{name}"
    return module


def _imports(name: str, path: Path, modules) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                _resolve(base, alias.name, modules) for alias in node.names
            ]
        else:
            continue
        found.update(
            t for t in targets if t == PACKAGE or t.startswith(PACKAGE + ".")
        )
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, p, modules) for name, p in modules.items()}


def _floor(module: str) -> int:
    if module == PACKAGE:
        return max(FLOORS.values()) + 1
    top = module.split(".")[1]
    assert top in FLOORS, f"{module}: give `{top}` a floor in FLOORS"
    return FLOORS[top]


def test_every_module_has_a_floor():
    for module in _graph():
        _floor(module)


def test_no_import_reaches_a_higher_floor():
    wrong = [
        f"{module} (floor {_floor(module)}) imports {target} "
        f"(floor {_floor(target)})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if _floor(target) > _floor(module)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_circle():
    graph = _graph()
    # `from pkg import sibling` resolves to the sibling module itself, so
    # an edge into a package's __init__ is a real import of what it
    # defines or re-exports.
    state: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module):
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_the_checker_sees_imports(tmp_path):
    """The graph is not empty by accident: a known edge is found, and so
    are relative and function-level imports."""
    graph = _graph()
    assert (
        "keras_attention.layers.factory"
        in graph["keras_attention.models.blocks"]
    )
    source = tmp_path / "probe.py"
    source.write_text(
        "def f():\n    from ..zoo import api\n    import keras_attention.cli\n"
    )
    found = _imports("keras_attention.viz.probe", source, _modules())
    assert found == {"keras_attention.zoo.api", "keras_attention.cli"}


# ---------------------------------------------------------------- tests/

TESTS = Path(__file__).resolve().parent


def _test_module_imports(path: Path) -> list[str]:
    """The `test_*` modules that `path` imports (anywhere in the file)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
            names += [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found += [
            name
            for name in names
            if any(part.startswith("test_") for part in name.split("."))
        ]
    return sorted(set(found))


def test_no_test_module_imports_another():
    """Helpers shared by test modules live in `tests/helpers/`, never in a
    `test_*.py` file that another imports."""
    wrong = [
        f"{path.relative_to(TESTS)} imports {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for name in _test_module_imports(path)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_test_import_checker_sees_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import test_a as a\nfrom test_b import x\n"
        "def f():\n    from helpers import test_c\n    import helpers.zoo\n"
    )
    assert _test_module_imports(source) == [
        "helpers.test_c",
        "test_a",
        "test_b",
        "test_b.x",
    ]
    assert _test_module_imports(TESTS / "conftest.py") == []
