"""Support bundles as files: the archive (tar.gz or zip) written atomically,
and read back (for diff).

A bundle holds one directory named like the file. It is built in memory and
written to a temporary file in the target directory, fsynced, then renamed
over the target: a failed or interrupted run leaves no file behind. The file
is created with mode 0600.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Dict, Optional, Tuple

from imdsctl.errors import OutputError, UsageError
from imdsctl.files import kind_of, write_private

FORMATS = ("tar.gz", "zip")
#: Why a write fails that is the disk's, not the command line's: exit OUTPUT (8).
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})
_SUFFIXES = {".tar.gz": "tar.gz", ".tgz": "tar.gz", ".zip": "zip"}
MAX_READ = 64 << 20  # the biggest file diff reads (a snapshot or a bundle, as stored)


def target(name: Optional[str], archive_format: Optional[str]) -> Tuple[str, Optional[Path]]:
    """The format and the path (or directory) to write, None for stdout ('-'),
    checked before any request: a file name says its format (.tar.gz, .tgz or
    .zip), and an existing file there must be a regular file (replaceable)."""
    if name == "-":
        return archive_format or "tar.gz", None
    path = Path(name) if name else Path.cwd()
    if path.is_dir():  # a directory (or a link to one) gets the default name inside it
        return archive_format or "tar.gz", path
    suffix = next((s for s in _SUFFIXES if path.name.lower().endswith(s)), None)
    if suffix is None:
        raise UsageError(f"cannot tell the archive format of {_shown(path.name)}: name it *.tar.gz, "
                         "*.tgz or *.zip", "or pass a directory, or '-' for stdout")
    implied = _SUFFIXES[suffix]
    if archive_format and archive_format != implied:
        raise UsageError(f"--format {archive_format} does not match the file name {_shown(path.name)}",
                         f"name the file *.{archive_format.replace('tar.gz', 'tar.gz or *.tgz')}, "
                         "or drop --format")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {_shown(str(path))}: no directory {_shown(str(path.parent))}")
    replaceable(path)
    return implied, path


def replaceable(path: Path) -> None:
    """UsageError unless ``path`` is absent or a regular file (not a symlink): a
    bundle never replaces a FIFO, a device, a socket, a directory or a link."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot write {_shown(str(path))}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{_shown(str(path))} is a {kind_of(st.st_mode)}, not a regular file: a bundle "
                         "does not replace it", "name a new file or a regular one, or '-' for stdout")


def _shown(text: str) -> str:
    """A name from the command line, for an error line: escaped when not printable."""
    return text if text.isprintable() else ascii(text)


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
                member = tarfile.TarInfo(f"{top}/{name}")
                member.size, member.mtime, member.mode = len(data), mtime, 0o600
                packed.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """The bundle written as a private file, whole (imdsctl.files.write_private:
    temp file in the same directory, created exclusively, fsync, rename over
    ``path`` only when it is a regular file or absent, checked again just
    before, then the directory fsynced): readers see the whole bundle or
    nothing, whatever interrupts us. UsageError when it cannot be written."""
    try:
        write_private(str(path), data, prefix=f".{path.name}.", suffix=".partial",
                      check=lambda _: replaceable(path))
    except OSError as exc:
        if exc.errno in _FULL:  # the disk, not the command line: OUTPUT (8), as any output
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}",
                              "free some space (or pick another file system), then collect again") from None
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- reading bundles back (for diff, and for replaying them) --------------------------------------
# An archive is small to send and can be huge to unpack: 4 MB of gzip can hold two million
# entries (a gigabyte of headers), a zip can declare any number of members. Every limit is
# checked before the bytes it guards are inflated, so that a bomb fails in milliseconds.

#: A bundle holds ten files or so, each at most a few MiB (a 1 MiB answer, indented).
MAX_MEMBERS = 64
MAX_MEMBER = 8 << 20
MAX_INFLATED = 32 << 20
_MAX_CENTRAL_DIRECTORY = 64 << 10  # a zip's list of members, which zipfile reads whole


class Unreadable(ValueError):
    """Not a bundle imdsctl can read: not a tar.gz or zip, damaged, or over a limit."""


def is_archive(data: bytes) -> bool:
    return data.startswith((b"\x1f\x8b", b"PK\x03\x04"))


def read_member(data: bytes, name: str) -> Optional[bytes]:
    """The bytes of ``<dir>/name`` (or ``name``) in a bundle (tar.gz or zip), None
    if absent. Unreadable (a ValueError) when ``data`` is not a readable archive,
    or holds more than MAX_MEMBERS members, a member over MAX_MEMBER bytes, or
    over MAX_INFLATED bytes in all: checked before inflating what they guard."""
    try:
        if data.startswith(b"PK"):
            return _zip_member(data, name)
        return _tar_member(_gunzip(data), name)
    except Unreadable:
        raise
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError,
            RuntimeError, NotImplementedError, struct.error) as exc:  # RuntimeError: encrypted zip
        raise Unreadable(f"not a readable archive: {str(exc)[:160] or type(exc).__name__}") from None


def _gunzip(data: bytes) -> bytes:
    """The gzip stream(s) of ``data`` inflated, at most MAX_INFLATED bytes."""
    out, rest = [], data
    room = MAX_INFLATED
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        chunk = inflater.decompress(rest, room + 1)
        room -= len(chunk)
        if room < 0 or inflater.unconsumed_tail:
            raise Unreadable(f"inflates to over {MAX_INFLATED >> 20} MiB: not an imdsctl bundle")
        if not inflater.eof:
            raise Unreadable("not a readable archive: the gzip stream is truncated")
        out.append(chunk)
        rest = inflater.unused_data.lstrip(b"\0")  # gzip members may follow, or padding
    return b"".join(out)


def _tar_member(tar: bytes, name: str) -> Optional[bytes]:
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
        for count, member in enumerate(archive, 1):
            if count > MAX_MEMBERS:
                raise Unreadable(f"holds over {MAX_MEMBERS} members: not an imdsctl bundle")
            if member.isfile() and _is(member.name, name):
                if member.size > MAX_MEMBER:
                    raise Unreadable(f"{name} is over {MAX_MEMBER >> 20} MiB: not an imdsctl bundle")
                extracted = archive.extractfile(member)
                return extracted.read() if extracted else None
    return None


def _zip_member(data: bytes, name: str) -> Optional[bytes]:
    _check_central_directory(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise Unreadable(f"holds over {MAX_MEMBERS} members: not an imdsctl bundle")
        if sum(m.file_size for m in members) > MAX_INFLATED:
            raise Unreadable(f"inflates to over {MAX_INFLATED >> 20} MiB: not an imdsctl bundle")
        for info in members:
            if _is(info.filename, name):
                if info.file_size > MAX_MEMBER:
                    raise Unreadable(f"{name} is over {MAX_MEMBER >> 20} MiB: not an imdsctl bundle")
                return archive.read(info)  # zipfile stops at the declared size and checks the CRC
    return None


def _check_central_directory(data: bytes) -> None:
    """Before zipfile reads the list of members whole: its size and count, from the end record."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - (1 << 16) - 22))
    if end < 0 or end + 22 > len(data):
        raise Unreadable("not a readable archive: no zip end record")
    count, size = struct.unpack_from("<HI", data, end + 10)
    if count > MAX_MEMBERS or size > _MAX_CENTRAL_DIRECTORY:
        raise Unreadable(f"holds over {MAX_MEMBERS} members: not an imdsctl bundle")


def _is(member: str, name: str) -> bool:
    parts = member.replace("\\", "/").strip("/").split("/")
    return parts[-1] == name and len(parts) <= 2
