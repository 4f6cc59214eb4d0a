"""Private files, written whole: the one atomic writer, and the one check that
an open file (or directory) is private to us.

``write_private(path, data)``: a temporary file created exclusively in the
same directory (mode 0600, no link followed), the data written and fsynced,
renamed over ``path`` only when ``path`` is a regular file or absent
(checked just before), then the directory fsynced so that the rename
survives a crash. Readers see the old file or the new one, whole; whatever
interrupts the write, the temporary file is removed; nothing but a regular
file is ever replaced. Failures are OSError (``NotRegularFile`` for a target
that is a link, a FIFO, a device, a directory...): each caller says them in
its own words (the snapshot's --debug line, the watch's note, collect's
usage error). ``write_readable`` is the same write for a file that other
users must read (mode 0644: node_exporter reads the watch's metrics file).

``read_capped(source, cap)``: what a file holds, read no further than ``cap``
bytes (``TooBig`` past it), so that /dev/zero or a sparse file of many GiB
given where a small file is expected ends at once; every file imdsctl reads
that someone else chose goes through it (or reads with the same cap).

Stdlib only (os, stat), and cheap to import: the snapshot is on the fast path.
"""

from __future__ import annotations

import errno
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: this module is on the start-up path
    from typing import IO, Any, Callable, Optional, Union

_POSIX = os.name == "posix"
_KINDS = ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory"))


#: The cap on a PEM bundle (--ca-file, the system's roots, the emulator's CA): the
#: system bundle of a distribution is ~200 KiB.
MAX_PEM = 4 << 20


class TooBig(ValueError):
    """A file over the cap its reader set (``cap``, in bytes)."""

    def __init__(self, name: str, cap: int):
        size = f"{cap >> 20} MiB" if cap >= 1 << 20 else f"{cap} bytes"
        super().__init__(f"{name} is over {size}")
        self.name, self.cap = name, cap


def read_capped(source: Union[str, IO[Any]], cap: int) -> Any:
    """At most ``cap`` bytes (or characters, for a text file) of ``source``, a
    path (read as bytes) or an open file; ``TooBig`` if there is more. OSError
    as ``open`` raises it."""
    if isinstance(source, str):
        with open(source, "rb") as handle:
            data = handle.read(cap + 1)
        name = source
    else:
        data = source.read(cap + 1)
        name = str(getattr(source, "name", "the file"))
    if len(data) > cap:
        raise TooBig(name, cap)
    return data


class NotRegularFile(OSError):
    """The target exists and is not a regular file (``kind``: "symbolic link", ...)."""

    def __init__(self, path: str, kind: str):
        super().__init__(errno.EEXIST, f"{kind}, not a regular file", path)
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, in words ("regular file", "symbolic link", "FIFO", ...)."""
    if stat.S_ISREG(mode):
        return "regular file"
    return next((name for test, name in _KINDS if test(mode)), "special file")


def why_not_private(st: os.stat_result, kind: int = stat.S_IFREG) -> str:
    """Why the file ``st`` describes (an open file's fstat) is not private to us:
    "" when it is of ``kind`` (a regular file, or stat.S_IFDIR), ours and closed to
    group and others (on POSIX); else a phrase ("is not a regular file",
    "belongs to another user (uid 0)", "is open to group or others (mode 0644;
    want 0600)")."""
    if stat.S_IFMT(st.st_mode) != kind:
        return "is not a directory" if kind == stat.S_IFDIR else "is not a regular file"
    if _POSIX and st.st_uid != os.geteuid():
        return f"belongs to another user (uid {st.st_uid})"
    if _POSIX and st.st_mode & 0o077:
        want = "0700" if kind == stat.S_IFDIR else "0600"
        return f"is open to group or others (mode {stat.S_IMODE(st.st_mode):04o}; want {want})"
    return ""


def check_replaceable(path: str, dir_fd: Optional[int] = None) -> None:
    """NotRegularFile unless ``path`` (a name in the directory ``dir_fd``, when
    given) is absent or a regular file (not a link)."""
    try:
        st = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(path, kind_of(st.st_mode))


def write_private(path: str, data: bytes, *, prefix: Optional[str] = None, suffix: str = ".tmp",
                  check: Optional[Callable[[str], None]] = None, mode: int = 0o600,
                  dir_fd: Optional[int] = None) -> None:
    """Write ``data`` to ``path`` atomically, as a private file (see the module).
    ``prefix``/``suffix`` name the temporary file (default ``.<name>.``...``.tmp``);
    ``check(path)`` runs just before the rename (default check_replaceable) and
    may raise what its caller wants said; ``mode``: see write_readable.
    ``dir_fd``: ``path`` is a name in that directory, held open by the caller:
    the temporary file, the check, the rename and the fsync are all relative to
    it (openat, fstatat, renameat), so a path swapped meanwhile (a link put in
    place of the directory) is never followed."""
    path = os.fspath(path)
    if dir_fd is None:
        directory, name = os.path.split(os.path.abspath(path))
    else:
        directory, name = "", path
    fd, temp = _create(directory, f".{name}." if prefix is None else prefix, suffix, dir_fd)
    try:
        with os.fdopen(fd, "wb") as out:
            if mode != 0o600 and hasattr(os, "fchmod"):
                os.fchmod(out.fileno(), mode)  # on the descriptor: the umask does not apply
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if check is not None:
            check(path)
        else:
            check_replaceable(path, dir_fd)
        if dir_fd is None:
            os.replace(temp, path)
        else:
            os.replace(temp, path, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    if dir_fd is None:
        fsync_directory(directory)
    else:
        _fsync(dir_fd)


def write_readable(path: str, data: bytes, *, mode: int = 0o644) -> None:
    """write_private's atomic write (same temporary file, fsyncs and checks) for a
    file others must read: the file has ``mode`` (0644) whatever the umask."""
    write_private(path, data, mode=mode)


def _create(directory: str, prefix: str, suffix: str, dir_fd: Optional[int] = None) -> tuple:
    """A new file in ``directory`` (or the directory ``dir_fd``), created
    exclusively (mode 0600, no link followed): (its descriptor, its path or name)."""
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    for _ in range(100):
        temp = os.path.join(directory, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(temp, flags, 0o600, dir_fd=dir_fd), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


def fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX); not possible, nor needed, on Windows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def _fsync(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass
