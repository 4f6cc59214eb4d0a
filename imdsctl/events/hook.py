"""A watch's hook (`events watch --exec`): its environment, its deadline, and running it.

The hook runs through ``/bin/sh -c`` in a session of its own, so that a
timeout (or Ctrl-C) kills everything it started; the event goes to its stdin
as JSON and into IMDS_* variables; its output goes to imdsctl's stderr.

Deadlines fit the event: the hook is given the smaller of ``--hook-timeout``
and the seconds left before the event's NotBefore, but never less than
FLOOR seconds (an event already due, or Started, still gets FLOOR seconds,
``--hook-timeout`` permitting), so that a Preempt with 30 s of notice is not
handed 300 s. The seconds left go to the hook as IMDS_EVENT_SECONDS_LEFT.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

from imdsctl.events import scheduled

Record = Dict[str, Any]

#: The shortest time a hook is given, even for an event already due (seconds).
FLOOR = 10.0
#: A hook's deadline when the event gives no sooner one (--hook-timeout's default).
HOOK_TIMEOUT = 300.0
#: Linux's limit on one NAME=value string of an environment (bytes, with its NUL): a longer one is E2BIG.
MAX_ARG_STRLEN = 128 * 1024
#: What the IMDS_* variables may take together (bytes): ARG_MAX is 2 MiB or more, shared with the rest.
ENVIRONMENT_LIMIT = 512 * 1024


class Outcome(NamedTuple):
    """How a hook ended: ``ok`` (exited 0) and, for people, ``text`` (``exited 0``,
    ``exited 3``, ``was killed by signal 9``, ``still running after 30s: killed``)."""

    ok: bool
    text: str


def deadline(event: Record, now: float, cap: float) -> Tuple[Optional[int], float]:
    """(whole seconds left before NotBefore, the hook's timeout) at wall time
    ``now``: 0 left for a Started event or one already due; None, and ``cap``,
    when NotBefore is unreadable. The timeout is ``cap`` at most, FLOOR at least."""
    if event.get("EventStatus") == "Started":
        left: Optional[float] = 0.0
    else:
        at = scheduled.not_before(event)
        left = None if at is None else max(0.0, at - now)
    if left is None:
        return None, cap
    return int(left), min(cap, max(left, FLOOR))


def hook_environment(event: Record, incarnation: Optional[int], *, seconds_left: Optional[int] = None,
                     timeout: Optional[float] = None, attempt: int = 1) -> Dict[str, str]:
    """The IMDS_* variables a hook sees: the event's fields, "" when absent (a
    NUL, which no environment can hold, becomes a space; stdin has the JSON);
    the seconds left before NotBefore, the hook's timeout, and which attempt
    this is (2: the previous run was interrupted). A value the kernel would
    refuse (over MAX_ARG_STRLEN, or past ENVIRONMENT_LIMIT in all) is cut, and
    IMDS_EVENT_TRUNCATED names the cut ones (comma-separated; "" for none)."""
    def text(value: Any) -> str:
        return "" if value is None else str(value).replace("\0", " ")

    variables = {
        "IMDS_EVENT_ID": text(event.get("EventId")),
        "IMDS_EVENT_TYPE": text(event.get("EventType")),
        "IMDS_EVENT_STATUS": text(event.get("EventStatus")),
        "IMDS_EVENT_RESOURCE_TYPE": text(event.get("ResourceType")),
        "IMDS_EVENT_RESOURCES": ",".join(text(r) for r in event.get("Resources") or []),
        "IMDS_EVENT_NOTBEFORE": text(event.get("NotBefore")),
        "IMDS_EVENT_DESCRIPTION": text(event.get("Description")),
        "IMDS_EVENT_SOURCE": text(event.get("EventSource")),
        "IMDS_EVENT_DURATION": text(event.get("DurationInSeconds")),
        "IMDS_DOCUMENT_INCARNATION": text(incarnation),
        "IMDS_EVENT_SECONDS_LEFT": text(seconds_left),
        "IMDS_HOOK_TIMEOUT": "" if timeout is None else f"{timeout:g}",
        "IMDS_HOOK_ATTEMPT": str(attempt),
    }
    cut = _fit(variables)
    variables["IMDS_EVENT_TRUNCATED"] = ",".join(name for name in variables if name in cut)
    return variables


def _fit(variables: Dict[str, str]) -> List[str]:
    """Cut (in place) the values that do not fit the kernel's limits, smallest
    first given an equal share of what is left; the names of those cut."""
    room = ENVIRONMENT_LIMIT - len("IMDS_EVENT_TRUNCATED=") - sum(len(n) + 2 for n in variables)
    room -= sum(len(n) + 1 for n in variables)  # IMDS_EVENT_TRUNCATED's own value at its longest
    sizes = {name: len(value.encode()) for name, value in variables.items()}
    cut: List[str] = []
    for left, name in enumerate(sorted(variables, key=lambda n: sizes[n]), start=0):
        share = min(MAX_ARG_STRLEN - len(name) - 2, room // (len(variables) - left))
        if sizes[name] > share:
            variables[name] = variables[name].encode()[:share].decode(errors="ignore")
            sizes[name] = len(variables[name].encode())
            cut.append(name)
        room -= sizes[name]
    return cut


def run(command: str, event: Record, variables: Dict[str, str], timeout: float) -> Outcome:
    """Run ``command`` for ``event``, killed with its children after ``timeout``
    seconds. Ctrl-C kills it too, and propagates."""
    try:
        stderr: Optional[int] = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        stderr = None  # no file descriptor (e.g. captured in tests): relay the output
    process: Optional[subprocess.Popen] = None
    try:
        with _sigint_deferred():  # a Ctrl-C before Popen returns must not orphan the hook
            process = subprocess.Popen(
                command, shell=True, env={**os.environ, **variables},
                stdin=subprocess.PIPE, stdout=stderr if stderr is not None else subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True)
        out, _ = process.communicate(json.dumps(event).encode() + b"\n", timeout=timeout)
    except subprocess.TimeoutExpired:
        if process is not None:
            _kill(process)
        return Outcome(False, f"still running after {timeout:g}s: killed")
    except BaseException:  # Ctrl-C: the hook is in its own session, end it with us
        if process is not None:
            _kill(process)
        raise
    if out:
        sys.stderr.write(out.decode(errors="replace"))
        sys.stderr.flush()
    code = process.returncode
    if code == 0:
        return Outcome(True, "exited 0")
    return Outcome(False, f"was killed by signal {-code}" if code < 0 else f"exited {code}")


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) back during the block; raise it on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: List[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, restorable(previous))
    if caught:
        raise KeyboardInterrupt


def restorable(handler: Any) -> Any:
    """A handler signal.signal() returned, fit to give back (None: one set outside Python)."""
    return signal.SIG_DFL if handler is None else handler


def _kill(process: subprocess.Popen) -> None:
    """Kill the hook's whole session (sh and what it started), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()
