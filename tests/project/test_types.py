"""The typed seams: mypy is clean on the whole package and runs in ``make lint`` and
``make test``; the layers' Protocols cost a plain read nothing at start-up."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _recipe(target: str) -> str:
    """The recipe lines of a Makefile target."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n|[ \t]*#[^\n]*\n)*)", text, re.M)
    assert match, f"the Makefile has no {target} target"
    return match.group(1)


@pytest.mark.once
def test_mypy_is_clean_on_the_whole_package():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([sys.executable, "-m", "mypy", "imdsctl"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.once
@pytest.mark.parametrize("target", ["lint", "test"])
def test_make_runs_mypy_on_the_package(target):
    assert re.search(r"^\t\$\(BIN\)/mypy imdsctl$", _recipe(target), re.M), _recipe(target)


@pytest.mark.once
def test_mypy_is_configured_in_pyproject_and_installed_for_tests():
    import configparser

    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^\[tool\.mypy\]$", pyproject, re.M)
    for setting in ("check_untyped_defs", "warn_unused_ignores", "no_implicit_optional",
                    "warn_redundant_casts"):
        assert re.search(rf"^{setting} = true$", pyproject, re.M), setting
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extra = setup["options.extras_require"]["test"].split()
    assert any(line.startswith("mypy") for line in extra)


def test_the_protocols_exist_for_the_layers_seams():
    from imdsctl import protocols
    from imdsctl.imds import protocols as imds_protocols

    assert {"Client", "Imds"} <= set(vars(protocols))
    assert protocols.Client is imds_protocols.Client


def test_a_plain_read_does_not_import_the_protocols(imds_emulator):
    """The seams are typed under TYPE_CHECKING: a plain read loads neither the Protocols nor typing's."""
    code = ("import os, sys\n"
            "from imdsctl.fastpath import answer\n"
            "assert answer(['compute', 'vm-id'], os.environ) == 0\n"
            "sys.stderr.write(' '.join(name for name, module in sys.modules.items() if module))\n")
    result = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stderr.split())
    assert "imdsctl.instance" in loaded
    assert not loaded & {"imdsctl.protocols", "imdsctl.imds.protocols", "click", "httpx"}
