"""docs/install.md: its zipapp block really checks, installs and runs the pyz (against the
emulator, a local build standing in for the download), and its cloud-init ``runcmd`` is that
block's lines, so the two cannot drift."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import yaml

from tests.lib.dist import serving

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
#: Where the install lines begin: everything before is how the files reach the machine.
FIRST = "sha256sum -c"


def _blocks(lang: str) -> List[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", PAGE, re.S | re.M)


def _zipapp_block() -> str:
    (block,) = [block for block in _blocks("sh") if "IMDSCTL_PYZ_URL" in block]
    return block


def _from_first(lines: List[str]) -> List[str]:
    starts = [i for i, line in enumerate(lines) if line.startswith(FIRST)]
    assert starts, f"no {FIRST!r} line in {lines}"
    return lines[starts[0]:]


@pytest.fixture(scope="module")
def emulator():
    from imdsctl.emulator import Emulator

    with Emulator(throttle=False) as imds:
        yield imds


def _run(block: str, imds, pyz: Path, home: Path, shell: str = "sh") -> subprocess.CompletedProcess:
    """The block run as a VM would: the pyz (and its .sha256) downloaded from a loopback server."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home),
           "IMDSCTL_ENDPOINT": imds.url, "NO_COLOR": "1", "LANG": "C.UTF-8"}
    work = home / "work"
    work.mkdir()
    with serving(pyz.parent) as base:
        return subprocess.run([shell, "-c", "set -e\n" + block], cwd=work,
                              env={**env, "IMDSCTL_PYZ_URL": f"{base}/{pyz.name}"},
                              capture_output=True, text=True, timeout=120)


def test_the_zipapp_block_checks_installs_runs_and_installs_the_man_page(emulator, pyz, tmp_path):
    done = _run(_zipapp_block(), emulator, pyz, tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    vm_id = subprocess.run([sys.executable, "-I", str(pyz), "compute", "vm-id"], capture_output=True,
                           text=True, timeout=60, env={"IMDSCTL_ENDPOINT": emulator.url}).stdout
    assert vm_id.strip() and vm_id in done.stdout
    page = tmp_path / ".local" / "share" / "man" / "man1" / "imdsctl.1"
    assert page.read_bytes().startswith(b".")
    assert (tmp_path / ".local" / "lib" / "imdsctl" / "imdsctl.pyz").read_bytes() == pyz.read_bytes()
    if shutil.which("man"):
        assert str(page) in done.stdout


def test_the_zipapp_block_stops_before_running_a_pyz_that_fails_its_checksum(emulator, pyz, tmp_path):
    bad = tmp_path / "dist" / pyz.name
    bad.parent.mkdir()
    bad.write_bytes(pyz.read_bytes() + b"\0")
    shutil.copy(str(pyz) + ".sha256", str(bad) + ".sha256")
    home = tmp_path / "home"
    home.mkdir()
    done = _run(_zipapp_block(), emulator, bad, home)
    assert done.returncode != 0
    assert not (home / ".local" / "bin").exists()
    assert not (home / ".local" / "lib").exists()


def _cloud_config() -> dict:
    (text,) = [block for block in _blocks("yaml") if block.startswith("#cloud-config")]
    return yaml.safe_load(text)


def test_the_cloud_init_runcmd_runs_the_zipapp_block_s_lines():
    config = _cloud_config()
    runcmd = config["runcmd"]
    assert all(isinstance(line, str) for line in runcmd)
    block = [line for line in _zipapp_block().splitlines() if line and not line.startswith("#")]
    assert _from_first(runcmd) == _from_first(block)


def test_the_cloud_init_checksum_file_is_where_runcmd_downloads_the_pyz():
    config = _cloud_config()
    (sha,) = config["write_files"]
    runcmd = config["runcmd"]
    url = next(line.split("=", 1)[1] for line in runcmd if line.startswith("IMDSCTL_PYZ_URL="))
    name = url.rsplit("/", 1)[1]
    where = next(line[len("cd "):] for line in runcmd if line.startswith("cd "))
    assert sha["path"] == f"{where}/{name}.sha256"
    assert re.fullmatch(rf"[0-9a-f]{{64}}  {re.escape(name)}\n", sha["content"])
    assert re.fullmatch(r"imdsctl-[0-9.]+\.pyz", name)
