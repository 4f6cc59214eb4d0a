"""COMMAND's own user namespace, for ``emulate --link-local`` run as root (Linux).

As root, ``netns.isolate()`` makes only a network namespace, owned by the
initial user namespace: a COMMAND left there would keep CAP_SYS_ADMIN over the
host and could ``nsenter --net=/proc/1/ns/net`` back out.  ``Gate`` forks,
before the emulator starts a thread, the process that will run COMMAND; it
unshares a user namespace of its own (CLONE_NEWUSER), and the parent, still
root in the initial user namespace, maps it ids one to one over the whole
range (``0 0 4294967295``; setgroups left allowed), so files keep their
owners and COMMAND is uid 0 with every capability, but only inside that
child user namespace.  The network namespace stays owned by the initial one:
COMMAND cannot change it (no CAP_NET_ADMIN there), nor setns(2) into any
namespace of the host (EPERM), nor ptrace a host process (its user namespace
is not theirs).  ``open_low_ports()`` keeps what a root COMMAND needs in the
private namespace without a capability: binding ports below 1024
(net.ipv4.ip_unprivileged_port_start = 0) and ping's ICMP sockets
(net.ipv4.ping_group_range), both per network namespace.

Not a barrier for: the filesystem (uid 0 with DAC override on every mapped
owner), filesystem Unix sockets (D-Bus, /run/docker.sock, systemd-imds's
Varlink socket: the services behind them act in the host's network), and
signals (kill(2) compares kernel uids: COMMAND may signal any root process,
the emulator included).  docs/emulator.md says the same.
"""

from __future__ import annotations

import os
from typing import Callable, Optional, Tuple

from imdsctl.emulator.linklocal.netns import CLONE_NEWUSER, NamespaceError, _libc, exit_flushed

#: The ids mapped into COMMAND's user namespace: all of the initial namespace's, one to one.
IDENTITY_MAP = "0 0 4294967295"

#: Per network namespace: (file, value) letting a COMMAND with no network capability bind and ping.
_SYSCTLS: Tuple[Tuple[str, str], ...] = (
    ("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0"),
    ("/proc/sys/net/ipv4/ping_group_range", "0 2147483647"),
)


def user_namespace() -> Tuple[int, int]:
    """This process's user namespace (device, inode)."""
    info = os.stat("/proc/self/ns/user")
    return info.st_dev, info.st_ino


def wanted(before: Tuple[int, int]) -> bool:
    """Whether COMMAND needs a user namespace of its own: we are root, and
    ``isolate()`` (which ran after ``before`` was read) made none."""
    return os.geteuid() == 0 and user_namespace() == before


def open_low_ports() -> None:
    """In the private network namespace: ports below 1024 and ping for every uid (best effort)."""
    for path, value in _SYSCTLS:
        try:
            fd = os.open(path, os.O_WRONLY)
        except OSError:
            continue
        try:
            os.write(fd, value.encode())
        except OSError:
            pass
        finally:
            os.close(fd)


class Gate:
    """A forked process in a user namespace of its own, mapped, that runs
    ``body()`` (and exits with its code) once ``go()`` is called.  Made while
    this process is single-threaded (unshare(2) of a user namespace needs it
    in the child; fork needs it to be safe)."""

    def __init__(self, body: Callable[[], int]):
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # never returns
            os.close(ready_r)
            os.close(go_w)
            exit_flushed(_inside(body, ready_w, go_r))
        os.close(ready_w)
        os.close(go_r)
        self._go: Optional[int] = go_w
        try:
            self._map(_read_all(ready_r))
        except BaseException:
            self.abort()
            raise

    def _map(self, word: bytes) -> None:
        if word != b"ok":
            raise NamespaceError(word.decode("utf-8", "replace")
                                 or "COMMAND's process died before its user namespace was made")
        try:
            for name in ("uid_map", "gid_map"):
                fd = os.open(f"/proc/{self.pid}/{name}", os.O_WRONLY)
                try:
                    os.write(fd, IDENTITY_MAP.encode())
                finally:
                    os.close(fd)
        except OSError as exc:
            raise NamespaceError(f"cannot map ids in COMMAND's user namespace: {exc.filename}: "
                                 f"{exc.strerror or exc}") from None

    def go(self) -> None:
        """Let ``body()`` run."""
        if self._go is not None:
            os.write(self._go, b"go")
            os.close(self._go)
            self._go = None

    def abort(self) -> None:
        """End the process without running ``body()``, and reap it."""
        if self._go is not None:
            os.close(self._go)  # end of file: the child exits 2
            self._go = None
            os.waitpid(self.pid, 0)

    def kill(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def wait(self) -> int:
        """The process's exit code (128+N if killed by signal N)."""
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)
        return os.WEXITSTATUS(status)


def _inside(body: Callable[[], int], ready: int, go: int) -> int:
    """The forked child: unshare, say so, wait for the map and ``go``, run ``body``."""
    from imdsctl.emulator.linklocal import netns

    netns.die_with_parent()
    if _libc().unshare(CLONE_NEWUSER) != 0:
        import ctypes

        os.write(ready, f"cannot make COMMAND's user namespace: unshare(2): "
                        f"{os.strerror(ctypes.get_errno())}".encode())
        return 2
    os.write(ready, b"ok")
    os.close(ready)
    if _read_all(go) != b"go":
        return 2
    try:
        return body()
    except BaseException:
        return 2


def _read_all(fd: int) -> bytes:
    """Everything written to a pipe until its writer closes it (or ``ok``/``go`` arrives)."""
    chunks = b""
    with os.fdopen(fd, "rb") as source:
        while True:
            chunk = source.read1(4096)
            if not chunk:
                return chunks
            chunks += chunk
            if chunks in (b"ok", b"go"):
                return chunks
