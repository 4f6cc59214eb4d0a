"""imdsctl as a process: the installed console script, and a run on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import shutil
import sys
import time

IMDSCTL = shutil.which("imdsctl", path=os.path.dirname(sys.executable)) or shutil.which("imdsctl")


def on_a_terminal(args, env, timeout=20.0):
    """Run imdsctl with stdout and stderr on a pseudo-terminal; return (code, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execve(IMDSCTL, [IMDSCTL, *args], env)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()
