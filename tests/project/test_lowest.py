"""The lowest pass's constraints are setup.cfg's floors, regenerated (tools/lowest.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once
ROOT = Path(__file__).resolve().parents[2]


def test_the_lowest_constraints_are_setup_cfgs_floors():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "lowest.py"), "--check"], timeout=60)
    assert result.returncode == 0, "constraints/lowest.txt is stale: run python tools/lowest.py"
    text = (ROOT / "constraints" / "lowest.txt").read_text()
    assert "httpx==0.26.0" in text and "click==8.1.0" in text and "cryptography==41.0.7" in text
