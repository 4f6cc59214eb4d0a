"""Builders for the distribution artefacts the install tests use: the zipapp
(tools/build_pyz.py, from this venv's site-packages), the wheel (pip wheel --no-deps, from a
copy of the source tree, so that parallel builds never share build/ or *.egg-info), and a
wheelhouse of its dependencies repacked from this venv (so that installs need no index)."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterator, List

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
#: What a wheel build does not need from the tree (and what other runs may be writing there).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "dist", "build", "*.egg-info", "__pycache__",
                                     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".test-*.log")
#: What pip writes when it installs, not what a wheel carries.
_NOT_REPACKED = {"INSTALLER", "REQUESTED", "direct_url.json"}


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


def _closure(name: str) -> List[metadata.Distribution]:
    """The installed distributions ``name`` needs (its requirements, recursively, no extras)."""
    seen: Dict[str, metadata.Distribution] = {}
    todo = [Requirement(line) for line in metadata.requires(name) or []]
    while todo:
        req = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        key = canonicalize_name(req.name)
        if key in seen:
            continue
        seen[key] = metadata.distribution(req.name)
        todo.extend(Requirement(line) for line in seen[key].requires or [])
    return list(seen.values())


def _repack(dist: metadata.Distribution, out: Path) -> Path:
    """Zip an installed distribution's files (its RECORD's, inside site-packages) back into a
    wheel with the tag it was installed from, and a fresh RECORD."""
    tag = next(line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
               if line.startswith("Tag:"))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    wheel = out / f"{name}-{dist.version}-{tag}.whl"
    info = f"{name}-{dist.version}.dist-info"
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or []:
            parts = file.parts
            if parts[0] == ".." or "__pycache__" in parts or parts[-1] in _NOT_REPACKED:
                continue
            arcname = "/".join(parts)
            if arcname.endswith(".dist-info/RECORD"):
                info = parts[0]
                continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            archive.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def wheelhouse(out: Path, name: str = "imdsctl") -> Path:
    """A find-links directory of what ``name`` needs, repacked from this venv: pip and pipx
    resolve the dependencies from it with --no-index, so no test asks the package index."""
    out.mkdir(parents=True, exist_ok=True)
    for dist in _closure(name):
        _repack(dist, out)
    return out


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on 127.0.0.1 (a free port), for as long as the block runs:
    what stands in for a release's download URL; its base URL, without a trailing slash."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass
