"""The README's Install section is the front door the issue asked for (a VM first: the zipapp
with its checksum, then pipx, uv and pip; then a workstation), and what it and docs/install.md
say about distro packages follows from setup.cfg's floors and what the distros ship."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Dict, Set

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
#: What each distro release's own python3-* packages are (packages.ubuntu.com noble,
#: packages.debian.org bookworm), by the project name setup.cfg uses.
DISTROS: Dict[str, Dict[str, str]] = {
    "Ubuntu 24.04": {"click": "8.1.6", "httpx": "0.26.0", "rich": "13.7.1", "jmespath": "1.0.1",
                     "PyYAML": "6.0.1", "cryptography": "41.0.7"},
    "Debian 12": {"click": "8.1.3", "httpx": "0.23.3", "rich": "13.3.1", "jmespath": "1.0.1",
                  "PyYAML": "6.0", "cryptography": "38.0.4"},
}


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    level = heading.split(" ")[0]
    rest = text[start + len(heading) + 2:]
    end = re.search(rf"^{level} ", rest, re.M)
    return rest[:end.start()] if end else rest


def _enough() -> Set[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    floors = [Requirement(line) for line in parser["options"]["install_requires"].split("\n") if line]
    return {distro for distro, have in DISTROS.items()
            if all(req.specifier.contains(have[req.name], prereleases=True) for req in floors)}


def _says_enough(path: Path) -> Set[str]:
    text = " ".join(path.read_text(encoding="utf-8").split())
    match = re.search(r"packages are enough on (.+?); not on (.+?):", text)
    assert match, f"{path.name} does not say which distros' own packages are enough"
    enough = {distro for distro in DISTROS if distro in match.group(1)}
    not_enough = {distro for distro in DISTROS if distro in match.group(2)}
    assert enough | not_enough == set(DISTROS) and not enough & not_enough, match.group(0)
    return enough


@pytest.mark.parametrize("page", ["README.md", "docs/install.md"])
def test_the_distros_said_to_be_enough_are_those_whose_packages_meet_the_floors(page):
    assert _says_enough(ROOT / page) == _enough()


def test_the_readme_install_section_starts_with_a_vm_then_a_workstation():
    install = _section((ROOT / "README.md").read_text(encoding="utf-8"), "## Install")
    headings = re.findall(r"^### (.+)$", install, re.M)
    assert headings == ["On a VM", "On a workstation"]
    vm = _section(install, "### On a VM")
    assert "no published release URL" in vm and "IMDSCTL_PYZ_URL" in vm
    steps = ["sha256sum -c", "python3 -I", "docs/install.md", "cloud-init", "pipx install",
             "uv tool install", "python3 -m venv"]
    where = [vm.find(step) for step in steps]
    assert -1 not in where and where == sorted(where), dict(zip(steps, where))
    assert "man --install" in vm
