"""What a handling watch remembers across restarts (`events watch --state FILE`).

Per EventId: when the watch first handled the event, when its hook started,
how it ended, which attempt it was, when the event was acknowledged, and what the
node handler (imdsctl.events.kube) did: cordoned, annotated, drained, uncordoned.
imdsctl.events.watch reads it to handle each event once, whatever restarts it:

* a hook that finished (exit 0 or not, or killed at --hook-timeout) does not
  run again; an event whose hook exited 0 and that was not acknowledged yet is
  acknowledged (the watch died between the hook and the acknowledgement);
* a hook that started and never finished (the watch was killed, or Ctrl-C'd,
  mid-hook) runs again, once, with IMDS_HOOK_ATTEMPT=2: a drain that may not
  have finished is safer repeated than skipped. Interrupted again, it is not
  run a third time (a hook that reboots the machine cannot loop).

The file is private and written whole: mode 0600 in a directory of ours that
no one else may write (the default one is created 0700; one of another user,
root's XDG_RUNTIME_DIR after `su` without `-`, is refused), written to a
temporary file, fsynced, renamed into place, and the directory fsynced, so a
watch killed at any moment leaves the old file or the new one. A lock file
beside it keeps a second watch from handling the same events. A file that
is unsafe (a symbolic link, not a regular file, not ours, open to group or
others, over MAX_BYTES, in a directory others may write) or is not an
imdsctl state file is not used: one line on stderr, and the watch keeps its
state in memory. The file never holds what it could not read back: an
event is kept by its EventId (a longer one than MAX_KEY by its start and a
hash of the whole), its type cut to MAX_TYPE and every outcome to MAX_TEXT bytes,
in UTF-8: MAX_RECORDS records of the worst kind fit in MAX_BYTES. Events gone from
IMDS for FORGET_AFTER seconds are forgotten.

The directory is checked once, on a descriptor held open (O_DIRECTORY,
O_NOFOLLOW) for the watch's lifetime, and the lock, the read and every write
are made relative to it (openat, fstatat, renameat): whoever may rename the
directory (the owner of the one above it) and put a link in its place while a
hook runs does not choose where the watch writes.

Stdlib only; no click.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, Optional

from imdsctl.errors import UsageError
from imdsctl.files import why_not_private, write_private
from imdsctl.imds.snapshot import runtime_dir
from imdsctl.reporter import SILENT

Record = Dict[str, Any]

FORMAT = "imdsctl events watch state"
VERSION = 1
#: A state file over this size is refused, unread.
MAX_BYTES = 1 << 20
#: Seconds after an event left the document before its record is dropped.
FORGET_AFTER = 24 * 3600.0
#: At most this many records: the oldest gone ones go first.
MAX_RECORDS = 1000
#: The longest EventId kept as it is, and the longest EventType kept (characters): longer are cut
#: (the id with a hash of the whole: imdsctl.events.state.event_key), so MAX_RECORDS fit in MAX_BYTES.
MAX_KEY = 64
MAX_TYPE = 32
#: The most of a step's outcome kept (a hook's, the node handler's: UTF-8 bytes): longer is cut, so
#: that MAX_RECORDS records of the worst kind (every step, four-byte characters) fit in MAX_BYTES.
MAX_TEXT = 120
#: How many times a hook may start for one event (the second start is the retry of an interrupted one).
MAX_ATTEMPTS = 2

_POSIX = os.name == "posix"
_FIELDS = {"type": str, "seen": str, "hookStarted": str, "hookEnded": str, "hook": str, "hookOk": bool,
           "attempts": int, "acknowledged": str, "gone": str,
           # the node handler's steps (imdsctl.events.kube)
           "kubeCordoned": bool, "kubeAnnotated": bool, "kubeDrainStarted": bool, "kubeDrain": str,
           "kubeOk": bool, "kubeUncordoned": bool}


def event_key(event_id: str) -> str:
    """What the file keeps of an EventId: the id (upper-case) when it is at most
    MAX_KEY characters (a GUID is 36), else its start and a hash of the whole,
    so that every record has a bounded size and the file can always be read back."""
    key = event_id.upper()
    if len(key) <= MAX_KEY and _utf8(key) == key:
        return key
    digest = hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()[:16].upper()
    return f"{_utf8(key[:MAX_KEY - 17])}~{digest}"


def _bounded(text: str) -> str:
    """A text the file keeps: UTF-8, at most MAX_TEXT bytes (cut with an ellipsis)."""
    data = _utf8(text).encode()
    if len(data) <= MAX_TEXT:
        return data.decode()
    return data[:MAX_TEXT - 3].decode(errors="ignore") + "…"


def _utf8(text: str) -> str:
    """``text`` with what UTF-8 cannot hold (a lone surrogate from a JSON escape) replaced."""
    return text.encode(errors="replace").decode()


def default_path(endpoint: str) -> str:
    """The state file of a watch of ``endpoint``: one per endpoint, in the
    private runtime directory snapshots use (imdsctl.imds.snapshot.runtime_dir)."""
    key = hashlib.sha256(endpoint.rstrip("/").encode()).hexdigest()[:12]
    return os.path.join(runtime_dir(), f"events-{key}.json")


def stamp(now: float) -> str:
    """A wall-clock time as the file writes it: ISO 8601, UTC, milliseconds."""
    return datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class StateRefused(Exception):
    """Why a state file is not used (a phrase: "is a symbolic link")."""


class State:
    """The records of one watch. ``path`` None: kept in memory only."""

    def __init__(self, path: Optional[str] = None, records: Optional[Dict[str, Record]] = None,
                 log: Callable[[str], None] = SILENT.note):
        self.path = path
        self.records: Dict[str, Record] = records or {}
        self._log = log
        self._lock_fd: Optional[int] = None
        self._dir_fd: Optional[int] = None  # the directory held (POSIX); names are then relative to it
        self._name = path or ""
        self._write_failed = ""

    # -- opening and closing -------------------------------------------------------------------

    @classmethod
    def open(cls, path: str, *, default: bool = False, log: Callable[[str], None] = SILENT.note) -> State:
        """The state in ``path``; in memory only (said in one line) when the
        file or its directory is unsafe or the file is not a state file.
        UsageError when another watch holds its lock. ``default``: the
        directory may be created (0700)."""
        state = cls(None, log=log)
        try:
            directory, name = os.path.split(os.path.abspath(path))
            if default:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            state._dir_fd = _open_directory(directory)
            state._name = name if state._dir_fd is not None else path
            state._lock_fd = _lock(state._name + ".lock", state._dir_fd, path + ".lock")
            state.records = _load(state._name, state._dir_fd, path, log)
        except (StateRefused, OSError) as exc:
            state.close()
            why = exc if isinstance(exc, StateRefused) else f"cannot be used ({exc.strerror or exc})"
            log(f"state file {path} {why}: not used; this watch keeps its state in memory "
                "(remove it, or pass another --state)")
            return state
        state.path = path
        state.forget(time.time())
        return state

    def close(self) -> None:
        """Let another watch use the file (releases the lock and the directory)."""
        for fd in (self._lock_fd, self._dir_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = self._dir_fd = None

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the watch records ----------------------------------------------------------------

    def record(self, event: Record, now: float) -> Record:
        """The record of ``event``, made the first time it is handled (saved
        with the first step taken: a hook started, an acknowledgement)."""
        key = event_key(event["EventId"])
        if key not in self.records:
            kind = _utf8(str(event.get("EventType", "")))
            self.records[key] = {"type": kind if len(kind) <= MAX_TYPE else kind[:MAX_TYPE - 1] + "…",
                                 "seen": stamp(now), "attempts": 0}
        return self.records[key]

    def hook_started(self, record: Record, now: float) -> int:
        """Note (and save, before the hook runs) that a hook starts: its attempt number."""
        record.update(hookStarted=stamp(now), attempts=record.get("attempts", 0) + 1)
        record.pop("hookEnded", None)
        self.save()
        return record["attempts"]

    def hook_ended(self, record: Record, ok: bool, outcome: str, now: float) -> None:
        record.update(hookEnded=stamp(now), hookOk=ok, hook=_bounded(outcome))
        self.save()

    def update(self, record: Record, *, save: bool = True, **fields: Any) -> None:
        """Note other steps taken for ``record`` (the node handler's ``kube*`` fields), saved;
        a text (kubectl's last line, an EventType quoted) is kept to MAX_TEXT bytes."""
        record.update({k: _bounded(v) if isinstance(v, str) else v for k, v in fields.items()})
        if save:
            self.save()

    def acknowledged(self, record: Record, now: float) -> None:
        record["acknowledged"] = stamp(now)
        self.save()

    def listed(self, event_ids: Iterable[str], now: float) -> None:
        """The events the document lists now: the others are gone (and after
        FORGET_AFTER, forgotten); one that comes back is not gone."""
        listed = {event_key(i) for i in event_ids}
        changed = False
        for key, record in self.records.items():
            if key in listed and "gone" in record:
                del record["gone"]
                changed = True
            elif key not in listed and "gone" not in record:
                record["gone"] = stamp(now)
                changed = True
        if self.forget(now) or changed:
            self.save()

    def forget(self, now: float) -> bool:
        """Drop the records gone for FORGET_AFTER by ``now``, and the oldest
        (gone ones first) over MAX_RECORDS; whether any went."""
        gone = {k: _seconds(r["gone"]) for k, r in self.records.items() if "gone" in r}
        dropped = [k for k, t in gone.items() if now - t > FORGET_AFTER]
        extra = len(self.records) - len(dropped) - MAX_RECORDS
        if extra > 0:
            kept = sorted((k for k in self.records if k not in dropped),
                          key=lambda k: ("gone" not in self.records[k], self.records[k]["seen"]))
            dropped += kept[:extra]
        for key in dropped:
            del self.records[key]
        return bool(dropped)

    # -- the file -------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the file whole (best effort: a failure is said once, never fatal)."""
        if self.path is None:
            return
        data = json.dumps({"format": FORMAT, "version": VERSION, "events": self.records},
                          indent=1, sort_keys=True, ensure_ascii=False).encode() + b"\n"
        try:
            write_private(self._name, data, prefix=".events-", dir_fd=self._dir_fd)
            self._write_failed = ""
        except OSError as exc:
            if self._write_failed != exc.strerror:
                self._write_failed = exc.strerror or str(exc)
                self._log(f"cannot write the state file {self.path} ({self._write_failed}); "
                          "a restarted watch may run these hooks again")


def _open_directory(directory: str) -> Optional[int]:
    """``directory`` held open (POSIX; elsewhere None, and it is used by its path),
    not followed if it is a link, and checked on that descriptor: a directory
    of ours that no one else may write, else StateRefused."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd: Optional[int] = os.open(directory, flags) if _POSIX else None
        st = os.fstat(fd) if fd is not None else os.lstat(directory)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.ELOOP):
            raise StateRefused(f"is in {directory}, which is not a directory") from None
        raise StateRefused(f"cannot be used: {directory}: {exc.strerror}") from None
    why = ""
    if not stat.S_ISDIR(st.st_mode):
        why = "which is not a directory"
    elif _POSIX and st.st_uid != os.geteuid():
        why = f"a directory of another user (uid {st.st_uid})"
    elif _POSIX and st.st_mode & 0o022:
        why = "a directory others may write"
    if why:
        if fd is not None:
            os.close(fd)
        raise StateRefused(f"is in {directory}, {why}")
    return fd


def _open(name: str, flags: int, dir_fd: Optional[int]) -> int:
    """Open ``name`` (in the directory ``dir_fd``) without following a symbolic
    link or blocking on a FIFO."""
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(name, flags, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP or _is_link(name, dir_fd):
            raise StateRefused("is a symbolic link") from None
        raise


def _is_link(name: str, dir_fd: Optional[int]) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _lock(name: str, dir_fd: Optional[int], path: str) -> Optional[int]:
    """Hold the lock file ``name`` (``path``, as said) for this watch (POSIX; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = _open(name, os.O_RDWR | os.O_CREAT, dir_fd)
    except StateRefused as refused:
        raise StateRefused(f"cannot be locked: {path} {refused}") from None
    except OSError as exc:
        raise StateRefused(f"cannot be locked ({path}: {exc.strerror})") from None
    why = why_not_private(os.fstat(fd))
    if why:
        os.close(fd)
        raise StateRefused(f"cannot be locked: {path} {why}")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UsageError(f"another imdsctl events watch uses the state file {path[:-5]}",
                         "stop it, or give this watch its own --state") from None
    return fd


def _load(name: str, dir_fd: Optional[int], path: str, log: Callable[[str], None]) -> Dict[str, Record]:
    """The records in ``name`` (in ``dir_fd``; ``path`` as said): {} when there is
    no file yet, or it is empty."""
    try:
        fd = _open(name, os.O_RDONLY, dir_fd)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StateRefused(f"cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        why = why_not_private(st) or ("is over 1 MiB" if st.st_size > MAX_BYTES else "")
        if why:
            raise StateRefused(why)
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise StateRefused(f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise StateRefused("is over 1 MiB")
    if not raw.strip():
        return {}
    return _parse(raw, path, log)


def _parse(raw: bytes, path: str, log: Callable[[str], None]) -> Dict[str, Record]:
    try:
        document = json.loads(raw)
    except ValueError:
        raise StateRefused("is not JSON, so not an imdsctl state file") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateRefused("is not an imdsctl events watch state file")
    if document.get("version") != VERSION or not isinstance(document.get("events"), dict):
        raise StateRefused(f"has a version this imdsctl does not read ({document.get('version')!r})")
    records = {k.upper(): r for k, r in document["events"].items() if isinstance(k, str) and _valid(r)}
    if len(records) != len(document["events"]):
        log(f"state file {path}: {len(document['events']) - len(records)} unreadable record(s) dropped")
    return records


def _valid(record: Any) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("seen"), str):
        return False
    for name, kind in _FIELDS.items():
        value = record.get(name)
        if value is not None and (type(value) is not kind):
            return False
    try:
        for name in ("seen", "hookStarted", "hookEnded", "acknowledged", "gone"):
            if name in record:
                _seconds(record[name])
    except ValueError:
        return False
    return True
