"""Fixtures of the project checks: the zipapp, built once per session (per xdist worker) and
shared by the pyz tests and the install page's sh block (as IMDSCTL_PYZ)."""

from pathlib import Path

import pytest

from tests.lib.dist import build_pyz


@pytest.fixture(scope="session")
def pyz(tmp_path_factory) -> Path:
    return build_pyz(tmp_path_factory.mktemp("dist"))
