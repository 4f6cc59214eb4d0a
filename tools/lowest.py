"""Write constraints/lowest.txt: setup.cfg's install_requires pinned at their floors.

    python tools/lowest.py [--check]

`make test-lowest` installs them; tests/project/test_lowest.py fails when the file is stale.
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "constraints" / "lowest.txt"


def pins() -> str:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = ["# setup.cfg's floors, pinned (tools/lowest.py writes this file; do not edit)"]
    for requirement in config["options"]["install_requires"].split("\n"):
        match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][^,\s]*)", requirement)
        if match:
            lines.append(f"{match.group(1)}=={match.group(2)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if TARGET.read_text() == pins() else 1)
    TARGET.write_text(pins())
