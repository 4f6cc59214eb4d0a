"""A pipx install (a current pipx, from this venv) gives ``man imdsctl``: pipx links the wheel's
share/man/man1/imdsctl.1 into PIPX_MAN_DIR. Nothing comes from the index: the session-built
wheel is installed with --no-index, its dependencies from a wheelhouse repacked from this venv,
and pipx's shared pip is not upgraded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from tests.lib.dist import wheelhouse

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]


def _pipx_env(tmp_path: Path) -> Dict[str, str]:
    dirs = {name: tmp_path / name.lower() for name in ("PIPX_HOME", "PIPX_BIN_DIR", "PIPX_MAN_DIR")}
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
            "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "NO_COLOR": "1",
            # no upgrade of pipx's shared pip from the index: the bundled pip installs a wheel
            "PIPX_DISABLE_SHARED_LIBS_AUTO_UPGRADE": "1", "PIPX_DEFAULT_PYTHON": sys.executable,
            "LANG": os.environ.get("LANG", "C.UTF-8"), **{k: str(v) for k, v in dirs.items()}}


@pytest.fixture(scope="module")
def pipx_install(wheel, tmp_path_factory):
    if not shutil.which("pipx", path=str(Path(sys.executable).parent)):
        pytest.skip("pipx is not installed in this venv (it is in setup.cfg's test extra)")
    tmp_path = tmp_path_factory.mktemp("pipx")
    env = _pipx_env(tmp_path)
    house = wheelhouse(tmp_path / "wheelhouse")
    done = subprocess.run([str(Path(sys.executable).parent / "pipx"), "install",
                           f"--pip-args=--no-index --find-links={house}", str(wheel)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return env


def test_pipx_install_gives_man_imdsctl(pipx_install):
    if not shutil.which("man"):
        pytest.skip("man is not installed (apt-get install man-db)")
    found = subprocess.run(["man", "-M", pipx_install["PIPX_MAN_DIR"], "-w", "imdsctl"],
                           capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    page = Path(found.stdout.strip())
    assert page.read_bytes() == (ROOT / "man" / "imdsctl.1").read_bytes()


def test_the_pipx_installed_command_prints_the_same_page(pipx_install):
    done = subprocess.run([str(Path(pipx_install["PIPX_BIN_DIR"]) / "imdsctl"), "man"],
                          env=pipx_install, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "imdsctl" / "cli" / "imdsctl.1").read_bytes()
