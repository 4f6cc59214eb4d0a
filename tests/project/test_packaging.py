"""An install without warnings (issue #17, point 6): every directory of the
package that Python can import (data directories such as
imdsctl/emulator/profiles/ are namespace packages to it) is in setuptools'
``packages``, so setuptools' "Package would be ignored" warning never fires."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_importable_directory_is_a_configured_package():
    setuptools = pytest.importorskip("setuptools")
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options"]["packages"].strip() == "find_namespace:"
    found = config["options.packages.find"]
    include = [p.strip() for p in found["include"].split(",")]
    exclude = [p.strip() for p in found.get("exclude", "").split(",") if p.strip()]
    packages = set(setuptools.find_namespace_packages(str(ROOT), include=include, exclude=exclude))
    directories = {".".join(d.relative_to(ROOT).parts) for d in (ROOT / "imdsctl").rglob("*")
                   if d.is_dir() and d.name != "__pycache__" and "__pycache__" not in d.parts}
    assert directories | {"imdsctl"} == packages
    assert config["options.package_data"]["imdsctl.emulator.profiles"].strip() == "*.json"
