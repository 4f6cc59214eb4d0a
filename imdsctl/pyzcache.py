"""The zipapp's private bytecode cache: what its __main__ installs before anything else.

zipimport compiles every module from source on every start (the archive holds no .pyc, to stay
reproducible and to run on any CPython), which was most of a plain read's time. This path hook
gives the archive's sys.path entries a zipimporter that finds modules as zipimport does and
loads the code compiled on an earlier run instead of compiling the source again, from
``$XDG_CACHE_HOME/imdsctl/pyz-<key>/`` (else ``~/.cache/...``), the key made of the archive's
content digest (written into __main__ by tools/build_pyz.py), the interpreter's magic number and
the archive's path (a module's code names its file); a module not cached yet is compiled as
zipimport would and written there for the next run.

Nothing is read from a place another user can write: the cache directory and the one above it
must be 0700 directories of this uid (``imdsctl`` and the key's), their parent not group- or
other-writable and of this uid, opened without following a symlink, every file then opened
relative to them, a regular file of this uid and mode 0600 with the magic number first.
Otherwise, and with no HOME, no XDG_CACHE_HOME or an unwritable one, there is no cache: each
module is compiled from the archive's source on each run (once, where zipimport alone compiles
it twice: to name its file, then to run it), only slower. Root is no exception: a HOME of another
user's is refused, not taken over. IMDSCTL_PYZ_DEBUG=1 writes what the cache does to stderr.

This module is compiled from source on each run itself, so it stays small and imports only
what the interpreter has loaded already.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import zipimport
import zlib
from importlib import _bootstrap_external  # loaded at start-up: its MAGIC_NUMBER is the interpreter's

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time: this is the start-up path
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType
    from typing import Mapping, Optional

DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
MAGIC = _bootstrap_external.MAGIC_NUMBER


class Refused(Exception):
    """The cache cannot be used (said why); the archive runs without one."""


def _debug(message: str) -> None:
    if os.environ.get("IMDSCTL_PYZ_DEBUG"):
        os.write(2, f"imdsctl pyz cache: {message}\n".encode(errors="replace"))


def cache_base(environ: Mapping[str, str]) -> str:
    """$XDG_CACHE_HOME when absolute, else $HOME/.cache; Refused with neither."""
    xdg = environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return xdg
    home = environ.get("HOME", "")
    if not os.path.isabs(home):
        raise Refused("no HOME and no XDG_CACHE_HOME")
    return os.path.join(home, ".cache")


def _open_private(name: str, parent: Optional[int], private: bool) -> int:
    """The directory ``name`` (relative to the fd ``parent``), made if absent, opened without
    following a symlink and checked: this uid's, 0700 when ``private``, else not group- or
    other-writable."""
    try:
        os.mkdir(name, 0o700, dir_fd=parent)
    except FileExistsError:
        pass
    except OSError as err:
        raise Refused(f"cannot make {name}: {err.strerror}") from None
    try:
        fd = os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
    except OSError as err:
        raise Refused(f"cannot open {name}: {err.strerror}") from None
    info = os.fstat(fd)
    loose = stat.S_IMODE(info.st_mode) & (0o077 if private else 0o022)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or loose:
        os.close(fd)
        raise Refused(f"{name} is not a private directory of this user (mode "
                      f"{stat.S_IMODE(info.st_mode):o}, uid {info.st_uid})")
    return fd


def open_cache(base: str, key: str) -> int:
    """The fd of ``base``/imdsctl/pyz-``key``, checked at every level; Refused otherwise.
    ``base`` is made only in a directory of this uid (root does not make one in a user's HOME)."""
    needed = {os.open, os.mkdir, os.unlink, os.rename}  # os.rename: renameat, as os.replace uses
    if not hasattr(os, "geteuid") or not needed <= os.supports_dir_fd:  # Windows: no such checks
        raise Refused("this platform cannot open files relative to a checked directory")
    parent = os.path.dirname(os.path.normpath(base))
    if not os.path.isdir(base):
        try:
            owner = os.stat(parent).st_uid
        except OSError as err:
            raise Refused(f"cannot use {parent}: {err.strerror}") from None
        if owner != os.geteuid():
            raise Refused(f"{parent} is not this user's")
    top = _open_private(base, None, private=False)
    try:
        mine = _open_private("imdsctl", top, private=True)
    finally:
        os.close(top)
    try:
        return _open_private(f"pyz-{key}", mine, private=True)
    finally:
        os.close(mine)


class CachedZipImporter(zipimport.zipimporter):
    """zipimport for the archive (sys.path's hook for it), a module's code taken from the cache
    when there; every other path entry keeps its own finder (frozen and built-in modules too)."""

    cache = -1  # the cache directory's fd, set by install; -1: none (each module compiled once)

    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:  # 3.9's zipimporter has only load_module
        exec(self.get_code(module.__name__), module.__dict__)

    def get_filename(self, fullname: str) -> str:
        """Where the module is (its spec's origin), found without compiling it: zipimport's own
        compiles the source to know, so that every module was compiled twice. The archive holds
        sources only, so the file is the package's __init__.py or the module's .py."""
        package = self.is_package(fullname)
        name = self.prefix + fullname.rpartition(".")[2]
        return self.archive + os.sep + name + (os.sep + "__init__.py" if package else ".py")

    def get_code(self, fullname: str) -> CodeType:
        name = f"{fullname}.pyc"
        code = self._read(name) if self.cache >= 0 else None
        if code is not None:
            _debug(f"{fullname} from the cache")
            return code
        code = super().get_code(fullname)
        if self.cache >= 0:
            self._write(name, marshal.dumps(code))
        return code

    def _read(self, name: str) -> Optional[CodeType]:
        try:
            fd = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0), dir_fd=self.cache)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid()
                    or stat.S_IMODE(info.st_mode) & 0o077):
                _debug(f"{name} is not a private file of this user: not used")
                return None
            with os.fdopen(os.dup(fd), "rb") as stream:
                data = stream.read()
        finally:
            os.close(fd)
        if not data.startswith(MAGIC):
            return None
        try:
            code = marshal.loads(data[len(MAGIC):])
        except (EOFError, ValueError, TypeError):
            return None
        return code if type(code).__name__ == "code" else None

    def _write(self, name: str, data: bytes) -> None:
        temporary = f".{name}.{os.getpid()}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                         0o600, dir_fd=self.cache)
            with os.fdopen(fd, "wb") as stream:
                stream.write(MAGIC + data)
            os.replace(temporary, name, src_dir_fd=self.cache, dst_dir_fd=self.cache)
            _debug(f"{name[:-4]} compiled and cached")
        except OSError as err:  # a full disk, a read-only cache: only slower
            _debug(f"cannot write {name}: {err.strerror}")
            try:
                os.unlink(temporary, dir_fd=self.cache)
            except OSError:
                pass


class ArchiveHook:
    """sys.path_hooks' entry: a CachedZipImporter for the archive and the folders in it."""

    def __init__(self, archive: str, cache: int) -> None:
        self.archive = archive
        self.cache = cache

    def covers(self, path: str) -> bool:
        return path == self.archive or path.startswith(self.archive + os.sep)

    def __call__(self, path: str) -> CachedZipImporter:
        if not self.covers(path):
            raise ImportError("not the archive", path=path)
        importer = CachedZipImporter(path)
        importer.cache = self.cache
        return importer


def install(archive: str, digest: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Put an ArchiveHook first on sys.path_hooks for ``archive`` (whose content has ``digest``);
    False when no cache can be used (said why under IMDSCTL_PYZ_DEBUG): the hook then still
    spares zipimport's second compilation of each module."""
    where = os.path.abspath(archive)
    key = f"{digest[:24]}-{MAGIC.hex()}-{zlib.crc32(where.encode(errors='surrogateescape')):08x}"
    try:
        directory = open_cache(cache_base(environ), key)
    except Refused as refused:
        _debug(f"not used: {refused}")
        directory = -1
    hook = ArchiveHook(where, directory)
    sys.path_hooks.insert(0, hook)
    for path in [p for p in sys.path_importer_cache if hook.covers(p)]:  # zipimport's, of runpy
        del sys.path_importer_cache[path]
    return directory >= 0
