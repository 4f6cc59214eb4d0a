"""Build dist/imdsctl-<version>.pyz: imdsctl and its pure-Python dependencies in one zipapp.

    python tools/build_pyz.py [--site DIR] [--out DIR]

``--site`` is the site-packages the dependencies are taken from (default: this
Python's; ``make dist`` fills build/pyz-site from tools/pyz-requirements.txt,
versions that run on Python 3.9). cryptography is not vendored: it is compiled,
and imdsctl uses the system's copy when there is one (imdsctl/attested/verify.py).

The archive is reproducible: entries sorted, every timestamp SOURCE_DATE_EPOCH
(else the last commit's time), every mode 0644, no .pyc, no compiled module, so
that two builds from one commit give the same bytes. ``<pyz>.sha256`` is written
beside it, in sha256sum's format.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
#: What imdsctl imports (setup.cfg's install_requires, and theirs), by import name.
#: Absent ones are those a given Python or version does not need (sniffio for anyio >= 4.10,
#: exceptiongroup on 3.11+).
VENDORED = ("click", "httpx", "httpcore", "h11", "anyio", "idna", "certifi", "rich", "markdown_it",
            "mdurl", "pygments", "jmespath", "yaml")
OPTIONAL = ("sniffio", "exceptiongroup", "typing_extensions")
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dylib", ".dll", ".c", ".h", ".pyx")
#: The archive's __main__: the bytecode cache (imdsctl/pyzcache.py, keyed by DIGEST, the
#: sha256 of every other entry's name and bytes), then the console-script entry point.
MAIN = '''\
"""imdsctl as one file: python3 imdsctl.pyz COMMAND ... (see docs/install.md)."""
import os
import sys
import zipimport

DIGEST = "{digest}"
ARCHIVE = os.path.dirname(__file__)
# The bytecode cache first, compiled once: imported, zipimport would compile imdsctl/pyzcache.py
# twice (to name its file, then to run it), and imdsctl/__init__.py, before the cache is there.
pyzcache = type(sys)("imdsctl.pyzcache")
pyzcache.__file__ = os.path.join(ARCHIVE, "imdsctl", "pyzcache.py")
sys.modules[pyzcache.__name__] = pyzcache
exec(zipimport.zipimporter(os.path.join(ARCHIVE, "imdsctl")).get_code(pyzcache.__name__), vars(pyzcache))
pyzcache.install(ARCHIVE, DIGEST)
from imdsctl.fastpath import main  # noqa: E402

main()
'''


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH, else the last commit's time, else now."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True,
                             text=True, check=True, timeout=30).stdout.strip()
        return int(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return int(time.time())


def _files(top: Path, arcbase: str) -> Iterator[Tuple[str, Path]]:
    if top.is_file():
        yield arcbase, top
        return
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top).as_posix()
        if path.is_dir() or "__pycache__" in path.parts or path.name.endswith(SKIPPED_SUFFIXES):
            continue
        yield f"{arcbase}/{rel}", path


def _distribution_files(site: Path, name: str) -> Iterator[Tuple[str, Path]]:
    """The licence and metadata of the distribution providing ``name`` (not its RECORD)."""
    for info in sorted(site.glob("*.dist-info")):
        top = info / "top_level.txt"
        record = info / "RECORD"
        names = top.read_text().split() if top.is_file() else []
        if not names and record.is_file():
            names = sorted({line.split("/")[0].split(",")[0].removesuffix(".py") for line in
                            record.read_text().splitlines() if line})
        if name in names:
            for arcname, path in _files(info, info.name):
                if path.name not in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                    yield arcname, path


def entries(site: Path) -> Dict[str, bytes]:
    """Every file of the archive, by its name in it."""
    found: Dict[str, bytes] = {}
    for arcname, path in _files(ROOT / "imdsctl", "imdsctl"):
        found[arcname] = path.read_bytes()
    missing: List[str] = []
    for name in VENDORED + OPTIONAL:
        top = site / name if (site / name).is_dir() else site / f"{name}.py"
        if not top.exists():
            if name in VENDORED:
                missing.append(name)
            continue
        for arcname, path in [*_files(top, top.name), *_distribution_files(site, name)]:
            found[arcname] = path.read_bytes()
    if missing:
        raise SystemExit(f"build_pyz: {site} lacks {', '.join(missing)}")
    found["__main__.py"] = MAIN.format(digest=content_digest(found)).encode()
    return found


def content_digest(found: Dict[str, bytes]) -> str:
    """The sha256 of the entries' names and bytes, in order: what keys the bytecode cache."""
    digest = hashlib.sha256()
    for arcname, data in sorted(found.items()):
        digest.update(b"%d:%s%d:" % (len(arcname.encode()), arcname.encode(), len(data)))
        digest.update(data)
    return digest.hexdigest()


def build(site: Path, out: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from imdsctl import __version__

    out.mkdir(parents=True, exist_ok=True)
    target = out / f"imdsctl-{__version__}.pyz"
    stamp = time.gmtime(max(source_date_epoch(), 315532800))[:6]  # zip's dates begin in 1980
    temporary = target.with_name(target.name + ".tmp")
    with open(temporary, "wb") as raw:
        raw.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for arcname, data in sorted(entries(site).items()):
                info = zipfile.ZipInfo(arcname, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                info.create_system = 3  # Unix, whatever builds it
                archive.writestr(info, data, compresslevel=6)
    temporary.chmod(0o755)
    os.replace(temporary, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (out / f"{target.name}.sha256").write_text(f"{digest}  {target.name}\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    print(build(args.site, args.out))


if __name__ == "__main__":
    main()
