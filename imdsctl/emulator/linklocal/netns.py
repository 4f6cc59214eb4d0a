"""A private network namespace, where the emulator may be 169.254.169.254 (Linux).

``isolate()`` moves the calling process into a new network namespace: as
root, a network namespace; otherwise (or where root may not make one, as in
some containers) a user namespace too, in which the process is root, its
uid and gid mapped to the caller's.  Then, over netlink (RTM_NEWLINK,
RTM_NEWADDR; no ``ip`` needed), the loopback interface goes up and takes
169.254.169.254/32, and ``verify()`` checks from inside that the namespace
is new and that lo is its only interface.  Nothing may bind 169.254.169.254
before that check passed; the network of the process that called
``isolate()`` is changed, so only a child made for it calls it (fork, or a
helper process), never imdsctl's own process.

It checks /proc/self/net/dev, which shows the namespace of the reader, not
/sys/class/net, which still lists the host's interfaces when sysfs was
mounted outside the namespace.  Python 3.9-3.11 have no os.unshare, so
unshare(2) and prctl(2) are called through ctypes.

``python -m imdsctl.emulator.linklocal.netns`` tries it in a process of its own and
prints ``ok``, or the reason and exits 2 (``probe()``, used by the tests and
the pytest plugin to skip where namespaces are unavailable).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import struct
import subprocess
import sys
from typing import List, Optional, Tuple

from imdsctl.catalog import IMDS_ADDRESS

#: IMDS's address, which the emulator takes inside the namespace.
LINK_LOCAL = IMDS_ADDRESS

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1

# netlink (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h)
NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_NEWADDR = 16, 20
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
IFF_UP = 0x1
IFA_ADDRESS, IFA_LOCAL = 1, 2

#: Devices some kernels put in every new namespace (when their modules are loaded).
FALLBACK_TUNNELS = ("tunl0", "sit0", "ip6tnl0", "gre0", "gretap0", "erspan0", "ip_vti0",
                    "ip6_vti0", "ip6gre0")

#: Settings that deny namespaces to unprivileged users: (file, the value that denies, why).
_SWITCHES: Tuple[Tuple[str, int, str], ...] = (
    ("/proc/sys/user/max_user_namespaces", 0,
     "user namespaces are disabled (user.max_user_namespaces = 0)"),
    ("/proc/sys/kernel/unprivileged_userns_clone", 0,
     "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"),
    ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 1,
     "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)"),
)
_OR_ROOT = "; run as root, or allow them"


class NamespaceError(Exception):
    """No private network namespace could be made, or it could not be trusted: why."""


def unavailable() -> Optional[str]:
    """Why this system cannot give a private network namespace, when that is
    plain without trying (None: try it, which is the only sure test)."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces are Linux's; this is {sys.platform}"
    if not os.path.exists("/proc/self/ns/net"):
        return "this kernel has no network namespaces (no /proc/self/ns/net)"
    if os.geteuid() != 0:
        for path, denies, why in _SWITCHES:
            if _read_int(path) == denies:
                return why + _OR_ROOT
    return None


def probe(timeout: float = 20.0) -> Optional[str]:
    """Why ``isolate()`` fails here (None: it works), tried in a process of its own."""
    reason = unavailable()
    if reason is not None:
        return reason
    try:
        done = subprocess.run([sys.executable, "-m", __name__], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot try: {exc}"
    if done.returncode == 0 and done.stdout == "ok\n":
        return None
    return (done.stdout.strip() or done.stderr.strip().splitlines()[-1:] or ["it failed"])[0]


def isolate() -> None:
    """Move this process (single-threaded: a child made for it) into a new
    network namespace, lo up holding 169.254.169.254/32, then ``verify()``.
    Raises NamespaceError saying why not."""
    before = _namespace()
    _unshare()
    if _namespace() == before:
        raise NamespaceError("the network namespace did not change")
    try:
        index = socket.if_nametoindex("lo")
        _netlink(RTM_NEWLINK, 0, struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, IFF_UP, IFF_UP))
    except OSError as exc:
        raise NamespaceError(f"cannot bring lo up in the new namespace: {exc.strerror or exc}") from None
    add_address(LINK_LOCAL)
    verify()


def add_address(address: str) -> None:
    """Put ``address``/32 on lo, in the namespace ``isolate()`` made (NamespaceError if not)."""
    try:
        index = socket.if_nametoindex("lo")
        packed = socket.inet_aton(address)
        _netlink(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
                 struct.pack("=BBBBI", socket.AF_INET, 32, 0, 0, index)
                 + _attribute(IFA_LOCAL, packed) + _attribute(IFA_ADDRESS, packed))
    except OSError as exc:
        raise NamespaceError(f"cannot put {address} on lo in the new namespace: "
                             f"{exc.strerror or exc}") from None


def verify() -> None:
    """NamespaceError unless lo is the only interface of this process's network namespace."""
    names = interfaces()
    if names != ["lo"]:
        hint = (" (fallback tunnel devices: sysctl net.core.fb_tunnels_only_for_init_net=2 "
                "keeps them out of new namespaces)" if set(names) & set(FALLBACK_TUNNELS) else "")
        raise NamespaceError(f"the new network namespace has interfaces other than lo: "
                             f"{', '.join(n for n in names if n != 'lo') or 'none, not even lo'}{hint}")


def interfaces() -> List[str]:
    """The interfaces of this process's network namespace, from /proc/self/net/dev, sorted."""
    try:
        with open("/proc/self/net/dev", encoding="ascii", errors="replace") as table:
            rows = table.read().splitlines()[2:]  # two header lines
    except OSError as exc:
        raise NamespaceError(f"cannot list the namespace's interfaces: /proc/self/net/dev: "
                             f"{exc.strerror or exc}") from None
    return sorted(row.split(":", 1)[0].strip() for row in rows if ":" in row)


def exit_flushed(code: int) -> None:
    """End a forked child with ``code``: stdout and stderr flushed (whatever they are), no cleanup
    of the parent's (os._exit)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Have the kernel send ``signum`` to this process when its parent dies (best effort)."""
    try:
        _libc().prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# -- the system calls ------------------------------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _namespace() -> Tuple[int, int]:
    info = os.stat("/proc/self/ns/net")
    return info.st_dev, info.st_ino


def _unshare() -> None:
    """unshare(2) a network namespace; with a user namespace unless root may do without."""
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    if uid == 0 and libc.unshare(CLONE_NEWNET) == 0:
        return
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        raise NamespaceError(_explain(ctypes.get_errno()))
    try:
        _write("/proc/self/setgroups", "deny", missing_ok=True)  # before gid_map (Linux >= 3.19)
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
    except OSError as exc:
        raise NamespaceError(f"cannot map ids in the new user namespace: {exc.filename}: "
                             f"{exc.strerror or exc}") from None


def _explain(code: int) -> str:
    why = {
        errno.EPERM: "the kernel refused a user namespace (EPERM): unprivileged user namespaces are "
                     "disabled or restricted here (a sysctl, an AppArmor or SELinux policy, a "
                     "container's seccomp profile)" + _OR_ROOT,
        errno.ENOSPC: "the limit of user namespaces is reached (ENOSPC; user.max_user_namespaces)",
        errno.EINVAL: "unshare(2) refused (EINVAL): the process is multi-threaded, or the kernel "
                      "lacks user or network namespaces",
        errno.ENOSYS: "this kernel has no unshare(2)",
    }
    return why.get(code, f"cannot make a network namespace: unshare(2): {os.strerror(code)}")


def _write(path: str, text: str, missing_ok: bool = False) -> None:
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        if missing_ok:
            return
        raise
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as source:
            return int(source.read().strip())
    except (OSError, ValueError):
        return None


def _attribute(kind: int, data: bytes) -> bytes:
    """An rtattr: length, type, data padded to 4 bytes."""
    return struct.pack("=HH", 4 + len(data), kind) + data + b"\0" * (-len(data) % 4)


def _netlink(kind: int, flags: int, payload: bytes) -> None:
    """Send one rtnetlink request and wait for its acknowledgement (OSError on refusal)."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as channel:
        channel.settimeout(5.0)
        channel.bind((0, 0))
        channel.send(struct.pack("=IHHII", 16 + len(payload), kind, flags | NLM_F_REQUEST | NLM_F_ACK, 1, 0)
                     + payload)
        reply = channel.recv(65536)
    if len(reply) < 20 or struct.unpack_from("=H", reply, 4)[0] != NLMSG_ERROR:
        raise OSError(errno.EPROTO, "unexpected netlink answer")
    code = struct.unpack_from("=i", reply, 16)[0]
    if code:
        raise OSError(-code, os.strerror(-code))


def main() -> int:
    """Try ``isolate()`` here (this process's network changes: run it as a child)."""
    try:
        isolate()
    except NamespaceError as exc:
        print(exc)
        return 2
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
