"""The loop behind `imdsctl events watch`: poll, tell changes apart, run hooks, acknowledge.

Changes are found by comparing each document with the events seen so far,
by EventId, whenever DocumentIncarnation differs from the last one (the same
incarnation means the same content): so an event is "new" once, "changed"
when any of its fields changes (Scheduled -> Started), and "gone" once.  The
hook runs once per new event, through the shell, in a session of its own so
a timeout kills everything it started.  Signals: SIGTERM lets the current
step (a hook and its acknowledgement) finish, then the loop exits 0; while
waiting or polling it exits at once.  Ctrl-C raises KeyboardInterrupt (130).

This is the one command that shows data as it goes: a change is handed to
``emit`` (output.line_printer writes it as a line), a note to ``log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import catalog, events, terminal
from .errors import ImdsctlError, UnavailableError, UnreachableError

Record = Dict[str, Any]


class _Stop(Exception):
    """SIGTERM arrived while the loop could stop at once."""


class Watcher:
    """Poll ``client`` every ``interval`` seconds; see `imdsctl events watch --help`."""

    def __init__(self, client: Any, version: str, *, interval: float = 1.0, hook: Optional[str] = None,
                 hook_timeout: float = 300.0, approve: bool = False, all_resources: bool = False,
                 once: bool = False, max_events: Optional[int] = None,
                 emit: Optional[Callable[[Record], None]] = None,
                 log: Callable[[str], None] = terminal.note,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.client, self.version = client, version
        self.interval = max(interval, events.MIN_INTERVAL)
        self.hook, self.hook_timeout = hook, hook_timeout
        self.approve, self.all_resources = approve, all_resources
        self.once, self.max_events = once, max_events
        self.emit, self._log = emit, log
        self._sleep, self._clock = sleep, clock
        self.seen: Dict[str, Record] = {}           # EventId (upper-case) -> event as last seen
        self.incarnation: Optional[int] = None
        self.new_events = 0
        self._vm: Optional[str] = None               # this VM's compute name, read when needed
        self._answered = False
        self._last_request = -float("inf")
        self._stopping = False
        self._cut_short = False

    # -- the loop -------------------------------------------------------------

    def run(self) -> int:
        """Watch until --once, --max-events or SIGTERM; the exit code (0)."""
        with self._sigterm():
            try:
                if (self.hook or self.approve) and not self.all_resources:
                    self._vm = self._this_vm()
                while True:
                    self._poll()
                    if self.once or self._done():
                        break
                    with self._interruptible():
                        self._sleep(self.interval)
            except _Stop:
                pass
        if self._stopping:
            self._log("stopped (SIGTERM)")
        return 0

    def _done(self) -> bool:
        return self._stopping or (self.max_events is not None and self.new_events >= self.max_events)

    def _poll(self) -> None:
        try:
            with self._interruptible():
                document = self._fetch()
        except (UnavailableError, UnreachableError) as err:
            if self.once or (isinstance(err, UnreachableError) and not self._answered):
                raise
            self._log(f"{err.message}; polling again in {self.interval:g}s")
            return
        self._answered = True
        if document["DocumentIncarnation"] == self.incarnation:
            return
        self.incarnation = document["DocumentIncarnation"]
        for change, event in self._changes(document["Events"]):
            if self.emit is not None:
                self.emit({"change": change, "DocumentIncarnation": self.incarnation, "event": event})
            if change == "new":
                self.new_events += 1
                self._handle(event)
            if self._done():
                return

    def _fetch(self) -> Record:
        self._pace()
        self.client.reset_budget()
        if self._answered:
            return events.fetch(self.client, self.version)
        with terminal.spinner(events.ENABLING):
            return events.fetch(self.client, self.version)

    def _changes(self, current: List[Record]) -> Iterator[Tuple[str, Record]]:
        """("new" | "changed" | "gone", event) against what was seen, updating it."""
        now = {e["EventId"].upper(): e for e in current}
        for key, event in now.items():
            before = self.seen.get(key)
            self.seen[key] = event
            if before is None:
                yield "new", event
            elif before != event:
                yield "changed", event
        for key in [k for k in self.seen if k not in now]:
            yield "gone", self.seen.pop(key)

    # -- hooks and acknowledgements -----------------------------------------------

    def _handle(self, event: Record) -> None:
        """Hook, then --ack, for a new event of this VM; never interrupted by SIGTERM."""
        if not (self.hook or self.approve):
            return
        label = f"{event.get('EventType', '?')} {event['EventId']}"
        resources = [str(r) for r in event.get("Resources") or []]
        if self._vm is not None and self._vm.lower() not in (r.lower() for r in resources):
            self._log(f"{label} lists only other VMs ({', '.join(resources)}); "
                      "not handled (see --all-resources)")
            return
        if self.hook and not self._run_hook(event, label):
            return
        if self.approve and event.get("EventStatus") == "Scheduled":
            self._pace()
            self.client.reset_budget()
            try:
                events.acknowledge(self.client, self.version, [event["EventId"]])
            except ImdsctlError as err:  # logged, never fatal: the next event matters
                self._log(f"could not acknowledge {label}: {err.message}")
                return
            self._log(f"acknowledged {label}")

    def _this_vm(self) -> str:
        """This VM's compute name, which Resources lists (read once, before the first poll).
        Asked with the api-version compute/name appeared in: every IMDS serves it."""
        name = catalog.compute_field("name")
        self._pace()
        self.client.reset_budget()
        return self.client.request("GET", f"{catalog.INSTANCE_PATH}/{name.path}", params={"format": "text"},
                                   expect="text", api_version=name.since).body

    def _run_hook(self, event: Record, label: str) -> bool:
        """Run the hook for ``event``; True when it exited 0."""
        try:
            stderr = sys.stderr.fileno()
        except (AttributeError, ValueError, OSError):
            stderr = None  # no file descriptor (e.g. captured in tests): relay the output
        process: Optional[subprocess.Popen] = None
        try:
            with _sigint_deferred():  # a Ctrl-C before Popen returns must not orphan the hook
                process = subprocess.Popen(
                    self.hook, shell=True, env={**os.environ, **hook_environment(event, self.incarnation)},
                    stdin=subprocess.PIPE, stdout=stderr if stderr is not None else subprocess.PIPE,
                    stderr=subprocess.STDOUT, start_new_session=True)
            out, _ = process.communicate(json.dumps(event).encode() + b"\n", timeout=self.hook_timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            self._log(f"hook for {label} still running after {self.hook_timeout:g}s: killed; "
                      "not acknowledging")
            return False
        except BaseException:  # Ctrl-C: the hook is in its own session, end it with us
            if process is not None:
                _kill(process)
            raise
        if out:
            sys.stderr.write(out.decode(errors="replace"))
            sys.stderr.flush()
        if process.returncode != 0:
            code = process.returncode
            ended = f"was killed by signal {-code}" if code < 0 else f"exited {code}"
            self._log(f"hook for {label} {ended}" + ("; not acknowledging" if self.approve else ""))
            return False
        self._log(f"hook for {label} exited 0")
        return True

    # -- time and signals ----------------------------------------------------------

    def _pace(self) -> None:
        """Keep this watch's own requests at least MIN_INTERVAL apart (IMDS: 5 per second)."""
        wait = self._last_request + events.MIN_INTERVAL - self._clock()
        if wait > 0:
            self._sleep(wait)
        self._last_request = self._clock()

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """A step SIGTERM may cut short: waiting, or polling (nothing is lost)."""
        if self._stopping:
            raise _Stop()
        self._cut_short = True
        try:
            yield
        finally:
            self._cut_short = False

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self._stopping = True
        if self._cut_short:
            self._cut_short = False
            raise _Stop()

    @contextlib.contextmanager
    def _sigterm(self) -> Iterator[None]:
        """Handle SIGTERM while watching (only the main thread can)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, _restorable(previous))


def hook_environment(event: Record, incarnation: Optional[int]) -> Dict[str, str]:
    """The IMDS_* variables a hook sees: the event's fields, "" when absent (a
    NUL, which no environment can hold, becomes a space; stdin has the JSON)."""
    def text(value: Any) -> str:
        return "" if value is None else str(value).replace("\0", " ")

    return {
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
    }


def human(record: Record) -> str:
    """A change record (what ``emit`` gets) as a line for people, now."""
    return human_line(record["change"], record["event"], time.time())


def human_line(change: str, event: Record, now: float) -> str:
    """``12:00:01  new      Reboot    Scheduled  ID  vm1, vm2  not before ... (in 14m 32s)``."""
    stamp = datetime.fromtimestamp(now).strftime("%H:%M:%S")
    resources = ", ".join(str(r) for r in event.get("Resources") or [])
    status = "" if change == "gone" else event.get("EventStatus", "")
    kind = event.get("EventType", "")
    line = f"{stamp}  {change:<7}  {kind:<9}  {status:<9}  {event['EventId']}  {resources}"
    if change == "gone":
        return line + "  (completed or cancelled)"
    at = events.when(event, now)
    return line + (f"  not before {at}" if at else "")


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
        signal.signal(signal.SIGINT, _restorable(previous))
    if caught:
        raise KeyboardInterrupt


def _restorable(handler: Any) -> Any:
    """A handler signal.signal() returned, fit to give back (None: one set outside Python)."""
    return signal.SIG_DFL if handler is None else handler


def _kill(process: subprocess.Popen) -> None:
    """Kill the hook's whole session (sh and what it started), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()
