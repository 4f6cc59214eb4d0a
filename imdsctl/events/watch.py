"""The loop behind `imdsctl events watch`: poll, tell changes apart, run hooks, acknowledge.

Changes are found by comparing each document with the events seen so far,
by EventId, whenever DocumentIncarnation differs from the last one (the same
incarnation means the same content): so an event is "new" once, "changed"
when any of its fields changes (Scheduled -> Started), and "gone" once.  The
hook (imdsctl.events.hook) runs once per new event of this VM, and once across
restarts: the watch's state (imdsctl.events.state) says which hooks ran, how
they ended and what was acknowledged.  Signals: SIGTERM (or SIGHUP) lets the
current step (a hook and its acknowledgement) finish, then the loop exits 0;
while waiting or polling (the first requests too) it exits at once. SIGUSR1,
SIGUSR2 and SIGALRM are ignored, said in a line: a watch never dies leaving
its hook running. Ctrl-C raises KeyboardInterrupt (130).

This is the one command that shows data as it goes: a change is handed to
``emit`` (output.line_printer writes it as a line) and to ``notify`` (with
how each handled event ended: imdsctl.events.notify), a note to ``log``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

from imdsctl import catalog
from imdsctl.errors import ImdsctlError, UnavailableError, UnreachableError
from imdsctl.events import hook as watch_hook
from imdsctl.events import kube, observe, scheduled
from imdsctl.events.hook import hook_environment
from imdsctl.events.lines import human, human_line, human_lines
from imdsctl.events.state import MAX_ATTEMPTS, State
from imdsctl.reporter import SILENT, Reporter

if TYPE_CHECKING:
    from imdsctl.protocols import Client

__all__ = ["Watcher", "hook_environment", "human", "human_line", "human_lines", "watch"]

Record = Dict[str, Any]

#: Signals that stop the watch after its current step (SIGHUP: an ssh session that ended).
STOP_SIGNALS = ("SIGTERM", "SIGHUP")
#: Signals whose default action would kill the watch mid-hook: ignored (and said) instead.
IGNORED_SIGNALS = ("SIGUSR1", "SIGUSR2", "SIGALRM")

#: Requests are kept MIN_INTERVAL times this apart.
PACE_MARGIN = 1.05


class _Stop(Exception):
    """SIGTERM arrived while the loop could stop at once."""


class Watcher:
    """Poll ``client`` every ``interval`` seconds; see `imdsctl events watch --help`.
    ``state``: what was handled (default: in memory only); ``notify``: where
    change and outcome records go besides ``emit``; ``node``: what is done to
    this VM's Kubernetes node (imdsctl.events.kube); ``now``: the wall clock
    (NotBefore, the state's times), ``clock`` and ``sleep`` the loop's time;
    ``observer`` hears each poll, hook and acknowledgement (imdsctl.events.observe)."""

    def __init__(self, client: Client, version: str, *, interval: float = 1.0, hook: Optional[str] = None,
                 hook_timeout: float = watch_hook.HOOK_TIMEOUT, approve: bool = False,
                 all_resources: bool = False,
                 once: bool = False, max_events: Optional[int] = None,
                 emit: Optional[Callable[[Record], None]] = None,
                 notify: Optional[Callable[[Record], None]] = None, state: Optional[State] = None,
                 node: Optional[kube.NodeHandler] = None,
                 reporter: Reporter = SILENT, log: Optional[Callable[[str], None]] = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], float] = time.time,
                 observer: observe.WatchObserver = observe.NOOP):
        self.client, self.version, self.observer = client, version, observer
        self.interval = max(interval, scheduled.MIN_INTERVAL)
        self.hook, self.hook_timeout = hook, hook_timeout
        self.approve, self.all_resources = approve, all_resources
        self.once, self.max_events = once, max_events
        self.node, self._handles = node, bool(hook or approve or node)  # node: --kubernetes-node
        log = log if log is not None else reporter.note
        self.emit, self.notify, self._log, self._reporter = emit, notify, log, reporter
        self.state = state if state is not None else State(log=log)
        self._sleep, self._clock, self._now = sleep, clock, now
        self.seen: Dict[str, Record] = {}           # EventId (upper-case) -> event as last seen
        self.incarnation: Optional[int] = None
        self.new_events = 0
        self._vm: Optional[str] = None               # this VM's compute name, read when needed
        self._answered = False
        self._last_request = -float("inf")
        self._stopping = False
        self._stopped_by = "SIGTERM"
        self._ignored: List[str] = []                # signals that came and were ignored, to say
        self._cut_short = False

    # -- the loop -------------------------------------------------------------

    def run(self) -> int:
        """Watch until --once, --max-events or SIGTERM; the exit code (0)."""
        with self._sigterm(), self._status_line():
            try:
                if self._handles and (not self.all_resources or self.node):
                    with self._interruptible():
                        self._vm = self._this_vm()
                if self.observer is not observe.NOOP:
                    self.observer.on_start(self._vm or self._vm_if_known(), self.version)
                while True:
                    started = self._clock()
                    answered = self._poll()
                    self._say_ignored()
                    if answered and self.node is not None:
                        self.node.settle(self.state, self._now())  # uncordon once its events are gone
                    if self.once or self._done():
                        break
                    with self._interruptible():  # polls start --interval apart; after a failure, wait it
                        self._sleep(max(0.0, started + self.interval - self._clock()) if answered
                                    else self.interval)
            except _Stop:
                pass
        self._say_ignored()
        if self._stopping:
            self._log(f"stopped ({self._stopped_by})")
        return 0

    def _done(self) -> bool:
        return self._stopping or (self.max_events is not None and self.new_events >= self.max_events)

    def _poll(self) -> bool:
        """One poll and what it brings; whether IMDS answered."""
        try:
            with self._interruptible():
                document = self._fetch()
        except ImdsctlError as err:
            self.observer.on_poll(observe.poll_outcome(err), None)
            if not isinstance(err, (UnavailableError, UnreachableError)) or self.once or (
                    isinstance(err, UnreachableError) and not self._answered):
                raise
            self._log(f"{err.message}; polling again in {self.interval:g}s")
            return False
        self._answered = True
        self.observer.on_poll("ok", document)
        if document["DocumentIncarnation"] == self.incarnation:
            self._alive(document)
            return True
        self.incarnation = document["DocumentIncarnation"]
        if self._handles:
            self.state.listed([e["EventId"] for e in document["Events"]], self._now())
        for change, event in self._changes(document["Events"]):
            record = {"change": change, "DocumentIncarnation": self.incarnation, "event": event}
            if self.emit is not None:
                self.emit(record)
            if self.notify is not None:
                self.notify(record)
            if change == "new":
                self.new_events += 1
                self._handle(event)
            if self._done():
                break
        self._alive(document)
        return True

    def _alive(self, document: Record) -> None:
        """The status line a person sees change at each poll: that the watch
        is alive, what IMDS said last."""
        stamp = datetime.fromtimestamp(self._now()).strftime("%H:%M:%S")
        incarnation, pending = document["DocumentIncarnation"], len(document["Events"])
        self._reporter.status(f"watching: last poll {stamp}, DocumentIncarnation {incarnation}, "
                              f"{pending} pending (Ctrl-C stops)")

    @contextlib.contextmanager
    def _status_line(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._reporter.status("")

    def _fetch(self) -> Record:
        self._pace()
        self.client.reset_budget()
        if self._answered:
            return scheduled.fetch(self.client, self.version)
        with self._reporter.spinner(scheduled.ENABLING):
            return scheduled.fetch(self.client, self.version)

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
        """The node handler (--kubernetes-node), the hook, then --ack, for a new
        event of this VM, once across restarts (watch_state); never interrupted
        by SIGTERM."""
        if not self._handles:
            return
        label = f"{event.get('EventType', '?')} {event['EventId']}"
        resources = [str(r) for r in event.get("Resources") or []]
        mine = self._vm is None or self._vm.lower() in (r.lower() for r in resources)
        if not mine and not self.all_resources:
            self._log(f"{label} lists only other VMs ({', '.join(resources)}); "
                      "not handled (see --all-resources)")
            return
        if not mine and self.node is not None:
            self._log(f"{label} lists only other VMs ({', '.join(resources)}): node {self.node.node} "
                      "left as it is")
        record = self.state.record(event, self._now())
        node = self.node.handle(event, record, self.state, self._now, self._sleep) \
            if self.node is not None and mine else None
        outcome = self._hook_step(event, label, record, node) if self.hook else None
        acked = False
        if self.approve and (outcome is None or outcome.ok) and (node is None or node.ok) \
                and event.get("EventStatus") == "Scheduled":
            acked = self._acknowledge(event, label, record)
        elif self.approve and node is not None and not node.ok:
            self._log(f"{label} not acknowledged: the node was not drained")
        if self.notify is not None and (outcome is not None or acked or node is not None):
            said = [f"node {node.text}"] if node is not None else []
            said += [f"hook {outcome.text}"] if outcome is not None else []
            said += ["acknowledged"] if acked else (["not acknowledged"] if self.approve else [])
            self.notify({"change": "handled", "DocumentIncarnation": self.incarnation, "event": event,
                         "hook": outcome.text if outcome else None, "acknowledged": acked,
                         "outcome": "; ".join(said)})

    def _hook_step(self, event: Record, label: str, record: Record,
                   node: Optional[kube.DrainOutcome] = None) -> watch_hook.Outcome:
        """The hook for ``event``, run unless its record says it ran (the restart rule)."""
        if "hookEnded" in record:
            self._log(f"hook for {label} ran before this watch started ({record.get('hook')}): "
                      "not run again")
            return watch_hook.Outcome(bool(record.get("hookOk")), f"ran before: {record.get('hook')}")
        if record.get("attempts", 0) >= MAX_ATTEMPTS:
            outcome = watch_hook.Outcome(False, f"interrupted {record['attempts']} times: not run again")
            self.state.hook_ended(record, False, outcome.text, self._now())
            self.observer.on_hook("interrupted", 0.0)
            self._log(f"hook for {label} was {outcome.text}" + self._not_acking())
            return outcome
        if record.get("attempts"):
            self._log(f"hook for {label} was interrupted (the watch stopped while it ran): running it again")
        now = self._now()
        left, timeout = watch_hook.deadline(event, now, self.hook_timeout)
        attempt = self.state.hook_started(record, now)
        variables = hook_environment(event, self.incarnation, seconds_left=left, timeout=timeout,
                                     attempt=attempt)
        if variables["IMDS_EVENT_TRUNCATED"]:
            self._log(f"hook for {label}: {variables['IMDS_EVENT_TRUNCATED'].replace(',', ', ')} cut to "
                      "fit the environment (named in IMDS_EVENT_TRUNCATED; stdin has the whole event)")
        if self.node is not None:
            variables.update(kube.hook_variables(node))
        started = self._clock()
        outcome = watch_hook.run(self.hook or "", event, variables, timeout)
        self.observer.on_hook(observe.hook_outcome(outcome.ok, outcome.text), self._clock() - started)
        self.state.hook_ended(record, outcome.ok, outcome.text, self._now())
        self._log(f"hook for {label} {outcome.text}" + ("" if outcome.ok else self._not_acking()))
        return outcome

    def _not_acking(self) -> str:
        return "; not acknowledging" if self.approve else ""

    def _acknowledge(self, event: Record, label: str, record: Record) -> bool:
        """POST the acknowledgement (unless the record has it); whether IMDS took it."""
        if "acknowledged" in record:
            self._log(f"{label} was acknowledged before this watch started")
            return False
        self._pace()
        self.client.reset_budget()
        try:
            scheduled.acknowledge(self.client, self.version, [event["EventId"]])
        except ImdsctlError as err:  # logged, never fatal: the next event matters
            self._log(f"could not acknowledge {label}: {err.message}")
            self.observer.on_ack("failed")
            return False
        self.observer.on_ack("sent")
        self.state.acknowledged(record, self._now())
        self._log(f"acknowledged {label}")
        return True

    def _this_vm(self) -> str:
        """This VM's compute name, which Resources lists (read once, before the first poll).
        Asked with the api-version compute/name appeared in: every IMDS serves it."""
        name = catalog.compute_field("name")
        self._pace()
        self.client.reset_budget()
        return self.client.request("GET", f"{catalog.INSTANCE_PATH}/{name.path}", params={"format": "text"},
                                   expect="text", api_version=name.since).body

    def _vm_if_known(self) -> Optional[str]:
        """This VM's name for an observer, None when IMDS does not say it now."""
        try:
            return self._this_vm()
        except ImdsctlError:
            return None

    # -- time and signals ----------------------------------------------------------

    def _pace(self) -> None:
        """Keep this watch's own requests MIN_INTERVAL and 5% apart: IMDS allows 5
        a second, and requests exactly 0.2 s apart put every sixth on the edge."""
        wait = self._last_request + scheduled.MIN_INTERVAL * PACE_MARGIN - self._clock()
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

    def _on_stop(self, signum: int, frame: Any) -> None:
        self._stopping = True
        self._stopped_by = signal.Signals(signum).name
        if self._cut_short:
            self._cut_short = False
            raise _Stop()

    def _on_ignored(self, signum: int, frame: Any) -> None:
        self._ignored.append(signal.Signals(signum).name)  # said later: no writing in a handler

    def _say_ignored(self) -> None:
        while self._ignored:
            self._log(f"{self._ignored.pop(0)} ignored (SIGTERM or SIGHUP stops the watch)")

    @contextlib.contextmanager
    def _sigterm(self) -> Iterator[None]:
        """Handle the signals while watching (only the main thread can): STOP_SIGNALS
        stop it as SIGTERM does, IGNORED_SIGNALS (whose default would kill the watch
        and orphan its hook) are said and ignored."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {}
        for name in STOP_SIGNALS + IGNORED_SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                handler = self._on_stop if name in STOP_SIGNALS else self._on_ignored
                previous[number] = signal.signal(number, handler)
        try:
            yield
        finally:
            for number, before in previous.items():
                signal.signal(number, watch_hook.restorable(before))


def watch(client: Client, version: str, *, state_path: Optional[str] = None, default_state: bool = False,
          notify_url: Optional[str] = None, notify_format: str = "json", **options: Any) -> int:
    """Run a Watcher (``options``: its keyword arguments) with its state file
    (read and written only when it handles events: a hook or ``approve``) and
    its notifier, all saying what they do to ``options["reporter"]`` (default
    silent); the exit code."""
    from imdsctl.events.notify import Notifier

    log = options.setdefault("log", options.get("reporter", SILENT).note)
    node, kubectl, drain_on = (options.pop(k, None) for k in ("kubernetes_node", "kubectl", "drain_on"))
    if node is not None:  # "": NODE_NAME
        options["node"] = kube.NodeHandler(kube.node_name(node), kube.find_kubectl(kubectl),
                                           drain_on or kube.DRAIN_ON, log=log)
    handles = bool(options.get("hook") or options.get("approve") or options.get("node"))
    with contextlib.ExitStack() as stack:
        if handles and state_path:
            options["state"] = stack.enter_context(State.open(state_path, default=default_state, log=log))
        if notify_url:
            dropped = options.get("observer", observe.NOOP).on_notification_dropped
            options["notify"] = stack.enter_context(Notifier(notify_url, notify_format, log=log,
                                                             dropped=dropped)).send
        return Watcher(client, version, **options).run()
