"""A per-boot snapshot of the instance document, for scripts that call imdsctl often.

Off by default (correctness first): ``--max-age SECONDS`` or IMDSCTL_MAX_AGE
lets get/compute/network answer from a snapshot younger than that.

* The snapshot lives in a private runtime directory: $IMDSCTL_CACHE_DIR, else
  $XDG_RUNTIME_DIR/imdsctl, else /run/imdsctl for root, else
  <tmp>/imdsctl-<uid>. The directory must be a real directory owned by us with
  no group/other access (0700); otherwise there is no cache.
* One file per boot, endpoint and api-version, mode 0600, written whole
  (imdsctl.files: a temporary file created exclusively, fsynced, renamed over
  a regular file only): two processes racing each write a whole file and
  readers see one whole file or the other.
* A snapshot that is unreadable, corrupt, not ours, not private, from another
  endpoint or api-version, from the future, or older than max-age is ignored.

Stdlib (and answers.loads, the one JSON reader) only, and cheap to import: a
cache hit must cost a fraction of a request.
"""

from __future__ import annotations

import json
import os
import stat
import time
from binascii import crc32

from imdsctl.files import why_not_private, write_private
from imdsctl.imds.answers import loads

_POSIX = os.name == "posix"
_MAX_SNAPSHOT = 1 << 20


def runtime_dir() -> str:
    """The directory snapshots live in (not created here)."""
    explicit = os.environ.get("IMDSCTL_CACHE_DIR")
    if explicit:
        return explicit
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "imdsctl")
    if _POSIX and os.geteuid() == 0 and os.path.isdir("/run"):
        return "/run/imdsctl"
    if not _POSIX:
        return os.path.join(os.environ.get("LOCALAPPDATA") or os.path.expanduser("~"), "imdsctl")
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"imdsctl-{os.geteuid()}")


def boot_id() -> str:
    """Something that changes at every boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return str(int(time.time() - time.monotonic()) // 60)


class Cache:
    """The snapshot of one endpoint and api-version for this boot."""

    def __init__(self, endpoint: str, api_version: str, directory: str = ""):
        self.endpoint = endpoint.rstrip("/")
        self.api_version = api_version
        self.directory = directory or runtime_dir()
        named = f"{self.endpoint}\0{api_version}".encode("utf-8", "surrogatepass")  # argv may hold any bytes
        # A name, not a proof: the snapshot records its endpoint and api-version and
        # load() checks them. (hashlib would load OpenSSL: 3.5 MiB and milliseconds.)
        key = f"{crc32(named):08x}{crc32(named[::-1]):08x}"
        self.path = os.path.join(self.directory, f"instance-{boot_id()}-{key}.json")
        self.why_not = ""  #: why the last load or store did not happen, for --debug

    def load(self, max_age: float):
        """The document, if a trustworthy snapshot younger than max_age exists."""
        raw = self._read()
        if raw is None:
            return None
        try:
            snapshot = loads(raw)
            saved, document = float(snapshot["savedAt"]), snapshot["document"]
            same = (snapshot["endpoint"], snapshot["apiVersion"]) == (self.endpoint, self.api_version)
        except (ValueError, KeyError, TypeError):
            self.why_not = "snapshot corrupt: ignored"
            return None
        age = time.time() - saved
        if not same or not isinstance(document, dict) or len(raw) > _MAX_SNAPSHOT:
            self.why_not = "snapshot does not match: ignored"
            return None
        if not 0 <= age <= max_age:
            self.why_not = f"snapshot {age:.1f}s old, max-age {max_age:g}s"
            return None
        return document

    def _read(self):
        """The snapshot's bytes, if both its directory and the file are private and
        ours. Nothing follows a link or waits: a symlink, a FIFO or a device in
        either place is ignored, and only a file of at most _MAX_SNAPSHOT is read."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        directory = None
        try:
            if _POSIX:  # the directory, opened once: the file is found in what was checked
                directory = os.open(self.directory, flags | getattr(os, "O_DIRECTORY", 0))
                if why_not_private(os.fstat(directory), stat.S_IFDIR):
                    self.why_not = f"{self.directory} is not a private directory of ours: no cache"
                    return None
            name = os.path.basename(self.path) if directory is not None else self.path
            fd = os.open(name, flags, dir_fd=directory)
        except OSError as exc:
            self.why_not = f"no snapshot ({exc.strerror})"
            return None
        finally:
            if directory is not None:
                os.close(directory)
        try:
            st = os.fstat(fd)
            if why_not_private(st, stat.S_IFREG) or (_POSIX and st.st_nlink > 1):  # 0: replaced since
                self.why_not = "snapshot not a private file of ours: ignored"
                return None
            if st.st_size > _MAX_SNAPSHOT:
                self.why_not = "snapshot too big: ignored"
                return None
            with os.fdopen(fd, "rb", closefd=False) as f:
                return f.read(_MAX_SNAPSHOT + 1)
        except OSError as exc:
            self.why_not = f"snapshot unreadable ({exc.strerror})"
            return None
        finally:
            os.close(fd)

    def store(self, document: dict) -> bool:
        """Save a snapshot; best effort (False and why_not when it could not)."""
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            if why_not_private(os.lstat(self.directory), stat.S_IFDIR):
                self.why_not = f"{self.directory} is not a private directory of ours: no cache"
                return False
        except OSError as exc:
            self.why_not = f"cannot write to {self.directory} ({exc.strerror})"
            return False
        data = json.dumps({"savedAt": time.time(), "endpoint": self.endpoint,
                           "apiVersion": self.api_version, "document": document}).encode()
        try:
            write_private(self.path, data, prefix=".instance-")
            return True
        except OSError as exc:
            self.why_not = f"cannot write the snapshot ({exc.strerror})"
            return False
