"""WireServer asked as a second uid, for ``doctor --wireserver-as-root``.

waagent's firewall lets only root reach WireServer (168.63.129.16): a process
of another uid sees its connections dropped (a timeout). Whether that, or the
network, is why doctor's ``wireserver`` row fails shows only when the same
probe is made as root and as another uid:

* run as root, doctor forks a child that drops to uid and gid 65534
  (``nobody``, no supplementary groups) and probes from there: no exec, so it
  works whatever this interpreter's files allow;
* run as another uid, doctor asks ``sudo -n`` (never a password prompt) to run
  the same probe as root: a self-contained stdlib script given to this
  interpreter with ``-I -c`` (an installed imdsctl, a venv or the pyz alike).

Either gives, per port, the status line (``:80 HTTP/1.1 200 OK``) or why not
(``:32526 timed out``), or one phrase saying why the second uid could not be
asked. Stdlib only; POSIX (elsewhere: not asked).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Callable, List, Optional, Tuple

NOBODY = 65534
#: The probe as root through sudo: prints one JSON list of [port, ok, text].
PROBE = """\
import json, socket, sys
out = []
for port in (80, 32526):
    try:
        with socket.create_connection(("168.63.129.16", port), timeout=float(sys.argv[1])) as c:
            if port == 80:
                c.sendall(b"GET /?comp=versions HTTP/1.1\\r\\nHost: 168.63.129.16\\r\\n"
                          b"Connection: close\\r\\n\\r\\n")
                text = c.recv(256).split(b"\\r\\n", 1)[0].decode("latin-1")
            else:
                text = "accepted"
        out.append([port, True, text])
    except OSError as exc:
        dropped = isinstance(exc, socket.timeout)
        out.append([port, False, "timed out" if dropped else exc.strerror or type(exc).__name__])
print(json.dumps(out))
"""

#: (port, reached, status line or why not)
Probe = List[Tuple[int, bool, str]]


def second_probe(ask: Callable[[int, float], str], ports: Tuple[int, ...],
                 timeout: float) -> Tuple[str, Optional[Probe], str]:
    """(who the second uid is, what it saw or None, why not when None)."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None or not hasattr(os, "fork"):
        return "root", None, "not asked: a second uid is asked on POSIX systems only"
    if geteuid() == 0:
        return f"uid {NOBODY}", _as_nobody(ask, ports, timeout), f"uid {NOBODY} could not be asked"
    return "root", *_as_root(timeout)


def probe(ask: Callable[[int, float], str], ports: Tuple[int, ...], timeout: float) -> Probe:
    seen: Probe = []
    for port in ports:
        try:
            seen.append((port, True, ask(port, timeout)))
        except OSError as exc:
            seen.append((port, False, why(exc)))
    return seen


def why(exc: OSError) -> str:
    """A failed connect in a few words: ``timed out`` (a drop), ``Connection refused``."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    return exc.strerror or type(exc).__name__


def _as_nobody(ask: Callable[[int, float], str], ports: Tuple[int, ...], timeout: float) -> Optional[Probe]:
    """The probe from a forked child that dropped to uid/gid 65534; None if it could not."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write, json.dumps(probe(ask, ports, timeout)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    return _parsed(data) if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else None


def _as_root(timeout: float) -> Tuple[Optional[Probe], str]:
    """The probe as root through ``sudo -n``, or why not."""
    try:
        done = subprocess.run(["sudo", "-n", sys.executable, "-I", "-c", PROBE, f"{timeout:g}"],
                              capture_output=True, timeout=timeout * 2 + 10, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return None, "not asked as root: there is no sudo"
    except OSError as exc:
        return None, f"not asked as root: sudo: {exc.strerror or exc}"
    except subprocess.SubprocessError as exc:
        return None, f"not asked as root: sudo: {exc}"
    seen = _parsed(done.stdout) if done.returncode == 0 else None
    if seen is None:
        said = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        return None, f"not asked as root: sudo -n: {said[:160]}"
    return seen, ""


def _parsed(data: bytes) -> Optional[Probe]:
    try:
        rows = json.loads(data)
        return [(int(port), bool(ok), str(text)) for port, ok, text in rows]
    except (ValueError, TypeError):
        return None
