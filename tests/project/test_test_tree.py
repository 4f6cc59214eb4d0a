"""The test tree's own shape: a test module imports shared builders from
tests/lib (and gets fixtures from conftest by name), never another test
module or a conftest, so that moving or renaming one never breaks another."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

import pytest

pytestmark = pytest.mark.once

TESTS = Path(__file__).resolve().parents[1]


def _imported(tree: ast.AST) -> List[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:  # from . import x / from .test_a import y: resolved by hand below
                names.append("." * node.level + node.module)
            else:
                names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.ImportFrom) and node.level:
            names += ["." * node.level + alias.name for alias in node.names]
    return names


def forbidden(source: str) -> List[str]:
    """The test modules and conftests ``source`` imports."""
    found = []
    for name in _imported(ast.parse(source)):
        parts = name.lstrip(".").split(".")
        ours = name.startswith(".") or parts[0] == "tests"
        if ours and any(p.startswith("test_") or p == "conftest" for p in parts):
            found.append(name)
    return sorted(set(found))


@pytest.mark.parametrize("source, expected", [
    ("from tests.events.test_scheduled import watcher", ["tests.events.test_scheduled",
                                                         "tests.events.test_scheduled.watcher"]),
    ("from tests.conftest import FakeTime", ["tests.conftest", "tests.conftest.FakeTime"]),
    ("import tests.cli.test_e2e_shell", ["tests.cli.test_e2e_shell"]),
    ("def f():\n    from tests.conftest import CLOSED_PORT\n",
     ["tests.conftest", "tests.conftest.CLOSED_PORT"]),
    ("from .test_document import pem_file", [".test_document"]),
    ("from tests.attested import test_document", ["tests.attested.test_document"]),
    ("from tests.lib.events import watcher\nfrom tests.lib import helpers\nimport pytest", []),
])
def test_the_check_sees_every_spelling(source, expected):
    assert forbidden(source) == expected


def test_no_test_module_imports_another_or_a_conftest():
    offenders = {str(path.relative_to(TESTS.parent)): forbidden(path.read_text(encoding="utf-8"))
                 for path in sorted(TESTS.rglob("*.py")) if path.name.startswith("test_")
                 or path.name == "conftest.py" or path.parent.name == "lib"}
    assert {path: names for path, names in offenders.items() if names} == {}
