"""Fixtures of the project checks: the zipapp, built once per session (per xdist worker) and
shared by the pyz tests and the install pages' sh blocks (downloaded from IMDSCTL_PYZ_URL, a
loopback server standing in for a release); and the wheel, for the pipx test."""

from pathlib import Path

import pytest

from tests.lib.dist import build_pyz, build_wheel, serving


@pytest.fixture(scope="session")
def pyz(tmp_path_factory) -> Path:
    return build_pyz(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """imdsctl's wheel, built once per session (per xdist worker) without the index."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def pyz_url(pyz):
    """The session's pyz (and its .sha256 beside it) at an http://127.0.0.1 URL."""
    with serving(pyz.parent) as base:
        yield f"{base}/{pyz.name}"
