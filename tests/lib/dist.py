"""Builders for the distribution artefacts the install tests use: the zipapp
(tools/build_pyz.py, from this venv's site-packages) and the wheel (pip wheel --no-deps, from a
copy of the source tree, so that parallel builds never share build/ or *.egg-info)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What a wheel build does not need from the tree (and what other runs may be writing there).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "dist", "build", "*.egg-info", "__pycache__",
                                     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".test-*.log")


def build_pyz(out: Path, **env: str) -> Path:
    """Build the zipapp into ``out`` (with its .sha256 beside it) and return its path."""
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_pyz.py"),
                             "--site", sysconfig.get_paths()["purelib"], "--out", str(out)],
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def build_wheel(out: Path) -> Path:
    """Build imdsctl's wheel into ``out`` without the index: no dependencies, no build isolation
    (this venv's setuptools builds it)."""
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                             "--no-build-isolation", "--no-index", "-w", str(out), str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("imdsctl-*.whl")
    return wheel
