"""The shape of the code, as tests: imports run one way, each library has its
one home, and no module or function outgrows a reader.

The import graph is built from the source (every ``import`` statement, those
inside functions and under ``if TYPE_CHECKING`` included), not from what a
run happens to load. A package's ``__init__`` that re-exports lazily (a PEP 562
``__getattr__``) is a facade, not a layer: the imports inside that function
are left out.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Dict, List, Set

import pytest

#: What this checks is the same on every Python: the oldest-Python pass leaves it out.
pytestmark = pytest.mark.once

PACKAGE = Path(__file__).resolve().parents[2] / "imdsctl"

#: Where each third-party library may be imported (module name prefixes).
HOMES = {
    "click": ("imdsctl.cli", "imdsctl._docgen"),
    "httpx": ("imdsctl.imds.client", "imdsctl.imds.transport", "imdsctl.imds.endpoint",
              "imdsctl.imds.internet"),
    "rich": ("imdsctl.ui.terminal", "imdsctl.ui.render", "imdsctl.ui.tables"),
    "prometheus_client": ("imdsctl.events.metrics",),
}
#: What each part of the package may import of the others (its own modules aside), by
#: the part's name: a subpackage of imdsctl or a top-level module. "imdsctl" is the
#: package's __init__ (``__version__``). Imports run one way: cli -> domain -> (imds, ui,
#: catalog) -> errors; the emulator serves what the catalog describes, beside the client.
MAY_IMPORT: Dict[str, Set[str]] = {
    "errors": set(),
    "catalog": {"errors"},
    "result": set(),
    "reporter": set(),
    "files": set(),
    "imds": {"imdsctl", "errors", "catalog", "files"},
    "ui": {"errors", "result", "imds", "reporter"},
    "session": {"errors", "catalog", "imds", "reporter"},
    # the seams as Protocols, for type checkers only (imported under TYPE_CHECKING)
    "protocols": {"imds", "reporter", "session"},
    "instance": {"errors", "catalog", "result", "imds", "ui", "session", "protocols"},
    "wait": {"errors", "catalog", "result", "imds", "ui", "session", "protocols"},
    "identity": {"errors", "catalog", "result", "imds", "ui", "session", "protocols"},
    "events": {"imdsctl", "errors", "catalog", "result", "imds", "ui", "session", "protocols", "reporter",
               "files"},
    "attested": {"errors", "catalog", "result", "imds", "ui", "session", "protocols", "files"},
    "support": {"imdsctl", "errors", "catalog", "result", "imds", "ui", "session", "protocols", "instance",
                "files"},
    "emulator": {"errors", "catalog", "imds", "ui", "support", "files"},  # files: read_capped
    "cli": {"imdsctl", "errors", "catalog", "result", "imds", "ui", "session", "instance", "wait", "identity",
            "events", "attested", "support", "emulator", "_docgen", "files"},  # files: man --install
    "fastpath": {"errors", "catalog", "result", "imds", "ui", "session", "instance", "cli",
                 "fastpath_options"},
    "fastpath_options": set(),
    "_docgen": {"imdsctl", "errors", "catalog", "result", "ui", "session", "cli", "emulator", "fastpath"},
    "__main__": {"fastpath"},
    "pyzcache": set(),  # the pyz's bytecode cache: stdlib only, loaded before anything else
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: Dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, target: str) -> str:
    if level == 0:
        return target
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


class _Imports(ast.NodeVisitor):
    """Every module an AST imports, outside a facade's ``__getattr__``."""

    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package = module, is_package
        self.found: Set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if not (self.is_package and node.name == "__getattr__"):
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(self.module, self.is_package, node.level, node.module or "")
        for alias in node.names:
            child = f"{base}.{alias.name}"
            self.found.add(child if child in MODULES else base)


@functools.cache
def imports_of(module: str) -> Set[str]:
    path = MODULES[module]
    visitor = _Imports(module, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
    return visitor.found


GRAPH: Dict[str, Set[str]] = {m: {i for i in imports_of(m) if i in MODULES and i != m} for m in MODULES}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_package():
    assert {"imdsctl.cli", "imdsctl.imds.client", "imdsctl.emulator.service"} <= set(GRAPH)
    assert "imdsctl.instance" in GRAPH["imdsctl.cli.instance"]
    assert "imdsctl.emulator.families" in GRAPH["imdsctl.emulator.service"]


def test_no_import_circles():
    assert _cycles(GRAPH) == []


def test_the_circle_finder_finds_circles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_library_has_its_home(library):
    outside = sorted(m for m in MODULES if any(i == library or i.startswith(library + ".")
                                               for i in imports_of(m))
                     and not any(m == home or m.startswith(home + ".") for home in HOMES[library]))
    assert outside == [], f"{library} imported outside {HOMES[library]}"


def test_the_domain_does_not_reach_up_into_the_command_layer():
    reaching = sorted(m for m, deps in GRAPH.items()
                      if not m.startswith(("imdsctl.cli", "imdsctl._docgen")) and m != "imdsctl.fastpath"
                      and any(d == "imdsctl.cli" or d.startswith("imdsctl.cli.") for d in deps))
    assert reaching == []


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "imdsctl"


def test_every_part_has_a_rule():
    assert {_part(m) for m in MODULES} - {"imdsctl"} == set(MAY_IMPORT)


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_each_part_imports_only_what_its_rule_allows(part):
    reaching = sorted(f"{m} -> {d}" for m, deps in GRAPH.items() if _part(m) == part
                      for d in deps if _part(d) != part and _part(d) not in MAY_IMPORT[part])
    assert reaching == [], f"{part} may import only {sorted(MAY_IMPORT[part])}"


def test_the_rules_catch_a_reach_upwards(monkeypatch):
    monkeypatch.setitem(GRAPH, "imdsctl.imds.client", GRAPH["imdsctl.imds.client"] | {"imdsctl.cli"})
    with pytest.raises(AssertionError):
        test_each_part_imports_only_what_its_rule_allows("imds")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_stay_small(module):
    source = MODULES[module].read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_every_module_is_in_the_architectures_module_map():
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    coded = [path for path in MODULES.values()  # a package's __init__ that is only its docstring aside
             if not (path.name == "__init__.py" and len(ast.parse(path.read_text()).body) <= 1)]
    missing = sorted(str(path.relative_to(PACKAGE.parent)) for path in coded
                     if f"`{path.relative_to(PACKAGE.parent).as_posix()}`" not in text)
    assert missing == [], "ARCHITECTURE.md's module map does not name these"


def test_no_two_classes_share_a_name():
    """One Budget, one Malformed (issue #16): a class name says which thing it is, package-wide."""
    where: Dict[str, List[str]] = {}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(module)
    assert {name: found for name, found in where.items() if len(found) > 1} == {}
