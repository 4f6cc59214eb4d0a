"""Support bundles as files: the archive (tar.gz or zip) written atomically,
and read back (for diff).

A bundle holds one directory named like the file. It is built in memory and
written to a temporary file in the target directory, fsynced, then renamed
over the target: a failed or interrupted run leaves no file behind. The file
is created with mode 0600.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Dict, Optional, Tuple

from .errors import UsageError

FORMATS = ("tar.gz", "zip")
_SUFFIXES = {".tar.gz": "tar.gz", ".tgz": "tar.gz", ".zip": "zip"}
MAX_READ = 64 << 20  # a bundle is a few KiB; refuse to unpack more than this


def target(name: Optional[str], archive_format: Optional[str]) -> Tuple[str, Path]:
    """The format and the path (or directory) to write, checked before any request."""
    path = Path(name) if name else Path.cwd()
    suffix = next((s for s in _SUFFIXES if path.name.lower().endswith(s)), None)
    implied = _SUFFIXES[suffix] if suffix and not path.is_dir() else None
    if archive_format and implied and archive_format != implied:
        raise UsageError(f"--format {archive_format} does not match the file name {path.name}",
                         f"name the file *.{archive_format.replace('tar.gz', 'tar.gz or *.tgz')}, "
                         "or drop --format")
    directory = path if path.is_dir() else path.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: no directory {directory}")
    return archive_format or implied or "tar.gz", path


def stem(name: str) -> str:
    """The file name without its archive suffix: the bundle's directory."""
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "imds"
    return name


def archive(fmt: str, top: str, files: Dict[str, bytes], created: datetime) -> bytes:
    """The archive of ``files`` (name -> bytes) under the directory ``top``."""
    buffer = io.BytesIO()
    mtime = created.timestamp()
    if fmt == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as packed:
            for name, data in files.items():
                info = zipfile.ZipInfo(f"{top}/{name}", created.timetuple()[:6])
                info.external_attr = 0o600 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                packed.writestr(info, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as packed:
            for name, data in files.items():
                info = tarfile.TarInfo(f"{top}/{name}")
                info.size, info.mtime, info.mode = len(data), mtime, 0o600
                packed.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, rename over ``path``: readers
    see the whole bundle or nothing, whatever interrupts us."""
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); not possible, nor needed, on Windows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading bundles back (for diff) -----------------------------------------------------------


def is_archive(data: bytes) -> bool:
    return data.startswith((b"\x1f\x8b", b"PK\x03\x04"))


def read_member(data: bytes, name: str) -> Optional[bytes]:
    """The bytes of ``<dir>/name`` (or ``name``) in a bundle, None if absent.
    Raises ValueError when ``data`` is not a readable tar.gz or zip."""
    buffer = io.BytesIO(data)
    try:
        if data.startswith(b"PK"):
            with zipfile.ZipFile(buffer) as archive:
                for info in archive.infolist():
                    if _is(info.filename, name) and info.file_size <= MAX_READ:
                        return archive.read(info)
            return None
        with tarfile.open(fileobj=buffer, mode="r:gz") as archive:
            for member in archive:
                if member.isfile() and _is(member.name, name) and member.size <= MAX_READ:
                    extracted = archive.extractfile(member)
                    return extracted.read() if extracted else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"not a readable archive: {exc}") from None
    return None


def _is(member: str, name: str) -> bool:
    parts = member.replace("\\", "/").strip("/").split("/")
    return parts[-1] == name and len(parts) <= 2
