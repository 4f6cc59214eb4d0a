"""Running the emulator for a person: serve until a signal, or run a command
against it (what ``imdsctl emulator serve`` and ``imdsctl emulate`` do).

``build`` makes an Emulator from the command line's options and ``start``
starts it, turning what can go wrong into typed errors (exit 2): a missing
``cryptography``, an unusable attested CA, an address that cannot be bound.
A replayed support bundle's redacted values are named in one stderr line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

from imdsctl.emulator.api import Emulator
from imdsctl.emulator.replay import describe
from imdsctl.errors import UsageError
from imdsctl.ui import terminal

#: ``emulate``'s exit codes when COMMAND does not run (as the shells use them).
NOT_FOUND, CANNOT_RUN = 127, 126


def start(host: str, port: int, **options: Any) -> Emulator:
    """A started emulator on HOST:PORT (``build``'s options)."""
    imds = build(host, port, **options)
    try:
        return imds.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def build(host: str, port: int, *, attested_ca_out: Optional[str] = None, **options: Any) -> Emulator:
    """An emulator for HOST:PORT, not started (Emulator keyword ``options``);
    with ``attested_ca_out``, its attested CA certificates written there."""
    if (options.get("attested_ca") is None) != (options.get("attested_key") is None):
        raise UsageError("--attested-ca and --attested-key go together")
    try:
        imds = Emulator(host=host, port=port, **options)
        if attested_ca_out is not None:
            Path(attested_ca_out).write_bytes(imds.attested_ca_pem)
    except ImportError:
        raise UsageError("signing attested documents needs the 'cryptography' package, a dependency "
                         "of imdsctl", "reinstall imdsctl, or pip install 'cryptography>=42'") from None
    except (ValueError, OSError) as exc:
        raise UsageError(f"attested CA: {exc}") from None
    redacted = describe(imds.profile)
    if redacted is not None:
        terminal.note(redacted)
    return imds


def wait_for_signal(ready: Callable[[], object] = lambda: None) -> None:
    """Block until SIGINT or SIGTERM. ``ready`` runs once they are caught: a
    signal sent as soon as it announces readiness is not lost."""
    received = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: received.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ready()
        while not received.wait(1.0):  # a timeout keeps Ctrl-C working on Windows
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(command: Sequence[str], env: Dict[str, str]) -> int:
    """Run ``command`` to completion, passing SIGINT and SIGTERM on; its exit
    code (128+N if killed by signal N, 127 if not found, 126 if it cannot run)."""
    try:
        child = subprocess.Popen(list(command), env=env)
    except FileNotFoundError:
        terminal.note(f"command not found: {command[0]}")
        return NOT_FOUND
    except OSError as exc:
        terminal.note(f"cannot run {command[0]}: {exc.strerror or exc}")
        return CANNOT_RUN

    with passing_signals(child.send_signal):
        code = child.wait()
    return 128 - code if code < 0 else code


@contextlib.contextmanager
def passing_signals(send: Callable[[int], None]) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM are passed on with ``send(signum)``."""

    def forward(signum: int, frame: Any) -> None:
        send(signum)

    # Ctrl-C in a terminal already reaches the child (same foreground process
    # group): passing it on as well would interrupt it twice.
    on_sigint = (lambda *_: None) if _terminal_sends_sigint() else forward
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, on_sigint),
                signal.SIGTERM: signal.signal(signal.SIGTERM, forward)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _terminal_sends_sigint() -> bool:
    """Whether we are the foreground process group of a controlling terminal."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except (AttributeError, OSError):  # no job control (Windows) or no terminal
            pass
    return False
