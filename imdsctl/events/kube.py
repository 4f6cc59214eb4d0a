"""The Kubernetes node handler of `events watch --kubernetes-node NAME`: kubectl as a subprocess.

For a new event that lists this VM in Resources, by its type (``drain_on``,
default Preempt, Terminate, Reboot and Redeploy; a Freeze is seconds long,
so only when asked): read the node's ``spec.unschedulable``, cordon it (unless
an operator already did), annotate it with the event (id, type, NotBefore),
then drain it (``--ignore-daemonsets --delete-emptydir-data``) with a timeout
that fits the notice: NotBefore minus now minus MARGIN, FLOOR at least, and
a grace period of half of it, MAX_GRACE at most. A drain refused by a
PodDisruptionBudget is tried again, PAUSE apart, until that deadline, then
reported as failed (never dropped): the watch then does not acknowledge the
event. An event of a type not in ``drain_on`` is annotated only.

Once the events the handler cordoned for are all gone, the node is
uncordoned, if (and only if) the handler cordoned it. Each step is recorded
in the watch's state (imdsctl.events.state) before the next, so that a
restarted watch does none of them twice: a cordon decided is not decided
again (the node, cordoned by us, would look cordoned by an operator), a
drain that ended is not run again (one interrupted is: a drain is safe to
repeat), and a node cordoned before a reboot is uncordoned after it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from imdsctl.errors import UsageError
from imdsctl.events import scheduled
from imdsctl.events.state import State

Record = Dict[str, Any]

TYPES = ("Freeze", "Reboot", "Redeploy", "Preempt", "Terminate")
#: What is drained unless --drain-on says otherwise.
DRAIN_ON = ("Preempt", "Terminate", "Reboot", "Redeploy")
#: Seconds kept between the end of the drain and NotBefore.
MARGIN = 5.0
#: The shortest drain timeout, even for an event already due or Started (seconds).
FLOOR = 10.0
#: The longest grace period given to a pod (seconds).
MAX_GRACE = 300
#: Seconds between two drains refused by a PodDisruptionBudget; between uncordon attempts that failed.
PAUSE = 5.0
RETRY_UNCORDON = 30.0
#: Seconds any kubectl call but the drain may take.
CALL_TIMEOUT = 30.0
#: What kubectl drain says of an eviction a PodDisruptionBudget refuses.
PDB_REFUSAL = "violate the pod's disruption budget"
ANNOTATIONS = ("imdsctl/event-id", "imdsctl/event-type", "imdsctl/event-not-before")


class DrainOutcome(NamedTuple):
    """How the node step for an event ended: ``ok`` (the event may be acknowledged)
    and ``text`` (``drained``, ``annotated (Freeze is not in --drain-on)``, ...)."""

    ok: bool
    text: str


def drain_types(text: str) -> Tuple[str, ...]:
    """``Preempt,terminate`` -> ("Preempt", "Terminate"); ValueError naming an unknown type."""
    known = {t.lower(): t for t in TYPES}
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        raise ValueError(f"unknown event type {', '.join(unknown)} (types: {', '.join(TYPES)})")
    return tuple(dict.fromkeys(known[n.lower()] for n in names))


def budget(event: Record, now: float) -> Tuple[float, int]:
    """(the drain's timeout, the pods' grace period), in seconds, at wall time ``now``."""
    at = None if event.get("EventStatus") == "Started" else scheduled.not_before(event)
    left = FLOOR if at is None else at - now - MARGIN
    timeout = max(FLOOR, left)
    return timeout, max(1, min(MAX_GRACE, int(timeout / 2)))


class Kubectl:
    """kubectl for one node: each call's (exit code, stdout and stderr)."""

    def __init__(self, path: str, node: str):
        self.path, self.node = path, node

    def call(self, *args: str, timeout: float = CALL_TIMEOUT) -> Tuple[int, str]:
        try:
            done = subprocess.run([self.path, *args], stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, f"kubectl {args[0]} still running after {timeout:g}s: killed"
        except OSError as exc:
            return 127, f"cannot run {self.path}: {exc.strerror or exc}"
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace").strip()

    def unschedulable(self) -> Tuple[Optional[bool], str]:
        """The node's spec.unschedulable (None when it cannot be read), and why not."""
        code, out = self.call("get", "node", self.node, "-o", "json")
        try:
            if code == 0:
                return bool(json.loads(out).get("spec", {}).get("unschedulable", False)), ""
        except (ValueError, AttributeError):
            return None, "kubectl get node printed no node"
        return None, f"kubectl get node exited {code}: {_last_line(out)}"

    def drain(self, timeout: float, grace: int) -> Tuple[int, str]:
        return self.call("drain", self.node, "--ignore-daemonsets", "--delete-emptydir-data",
                         f"--grace-period={grace}", f"--timeout={int(timeout)}s",
                         timeout=timeout + CALL_TIMEOUT)

    def annotate(self, event: Record) -> Tuple[int, str]:
        values = (event.get("EventId", ""), event.get("EventType", ""), event.get("NotBefore") or "")
        return self.call("annotate", "node", self.node, "--overwrite",
                         *(f"{key}={value}" for key, value in zip(ANNOTATIONS, values)))


def find_kubectl(path: Optional[str]) -> str:
    """``path`` (or kubectl on PATH) as an executable's path; UsageError when there is none."""
    found = shutil.which(path or "kubectl")
    if found is None or not os.access(found, os.X_OK):
        raise UsageError(f"no kubectl at {path}" if path else "kubectl is not on PATH",
                         "install kubectl or name it", cause="no-kubectl")
    return found


def node_name(name: str) -> str:
    """``name``, or NODE_NAME when it is empty; UsageError when both are."""
    name = name or os.environ.get("NODE_NAME", "")
    if not name:
        raise UsageError("no Kubernetes node named, and NODE_NAME is not set",
                         "name the node, or set NODE_NAME (the downward API's spec.nodeName)",
                         cause="no-node-name")
    return name


class NodeHandler:
    """What `events watch --kubernetes-node` does to the node; see the module's doc.
    ``log``: a note; ``problem``: a failure said on stderr."""

    def __init__(self, node: str, kubectl: str, drain_on: Sequence[str] = DRAIN_ON, *,
                 log: Callable[[str], None], problem: Optional[Callable[[str], None]] = None):
        self.node, self.kubectl = node, Kubectl(kubectl, node)
        self.drain_on = tuple(drain_on)
        self._log = log
        self._problem = problem or log
        self._uncordon_failed_at = -float("inf")

    def handle(self, event: Record, record: Record, state: State, now: Callable[[], float],
               sleep: Callable[[float], None]) -> DrainOutcome:
        """Cordon, annotate and drain for ``event`` (or annotate only, by its type), once."""
        label = f"{event.get('EventType', '?')} {event['EventId']}"
        if "kubeDrain" in record:
            self._log(f"node {self.node} was handled for {label} before this watch started "
                      f"({record['kubeDrain']})")
            return DrainOutcome(bool(record.get("kubeOk")), f"before: {record['kubeDrain']}")
        if event.get("EventType") not in self.drain_on:
            self._annotate(event, label, record, state)
            return self._ended(record, state, True, f"annotated ({event.get('EventType')} is not "
                               "drained: see --drain-on)", label)
        deadline = now() + budget(event, now())[0]
        while "kubeCordoned" not in record:  # the API server may be away a moment: until the deadline
            why = self._cordon(label, record, state)
            if why and now() + PAUSE >= deadline:
                return self._ended(record, state, False, f"not cordoned ({why})", label)
            if why:
                self._log(f"node {self.node} not cordoned for {label} ({why}): trying again in {PAUSE:g}s")
                sleep(PAUSE)
        self._annotate(event, label, record, state)
        return self._drain(event, label, record, state, now, sleep)

    def _cordon(self, label: str, record: Record, state: State) -> str:
        """Cordon the node unless it is cordoned, noting whose cordon it is; why not, or ""."""
        cordoned, why = self.kubectl.unschedulable()
        if cordoned is None:
            return why
        ours = not cordoned or any(r.get("kubeCordoned") and "kubeUncordoned" not in r
                                   for r in state.records.values() if r is not record)
        if not cordoned:
            code, out = self.kubectl.call("cordon", self.node)
            if code != 0:
                return f"kubectl cordon exited {code}: {_last_line(out)}"
            self._log(f"cordoned node {self.node} for {label}")
        else:
            self._log(f"node {self.node} was already cordoned" + (" (by this watch)" if ours else
                      " (by someone else: it will not be uncordoned)"))
        state.update(record, kubeCordoned=ours)
        return ""

    def _annotate(self, event: Record, label: str, record: Record, state: State) -> None:
        code, out = self.kubectl.annotate(event)
        if code != 0:
            self._problem(f"kubectl annotate node {self.node} for {label} exited {code}: {out}")
        else:
            state.update(record, kubeAnnotated=True)

    def _drain(self, event: Record, label: str, record: Record, state: State, now: Callable[[], float],
               sleep: Callable[[float], None]) -> DrainOutcome:
        """Drain until it succeeds, fails otherwise, or a PodDisruptionBudget holds it past the deadline."""
        timeout, grace = budget(event, now())
        deadline, tries = now() + timeout, 0
        state.update(record, kubeDrainStarted=True)
        while True:
            tries += 1
            code, out = self.kubectl.drain(max(1.0, deadline - now()), grace)
            if code == 0:
                self._log(f"drained node {self.node} for {label}")
                return self._ended(record, state, True, "drained", label)
            if PDB_REFUSAL not in out:
                return self._ended(record, state, False, f"drain failed (kubectl exited {code}): "
                                   f"{_last_line(out)}", label)
            if now() + PAUSE >= deadline:
                return self._ended(record, state, False, f"drain refused by a PodDisruptionBudget "
                                   f"{tries} times until the deadline ({timeout:g}s)", label)
            self._log(f"drain of {self.node} for {label} refused by a PodDisruptionBudget: "
                      f"trying again in {PAUSE:g}s")
            sleep(PAUSE)

    def _ended(self, record: Record, state: State, ok: bool, text: str, label: str) -> DrainOutcome:
        state.update(record, kubeDrain=text, kubeOk=ok)
        if not ok:
            self._problem(f"node {self.node} for {label}: {text}")
        elif text != "drained":
            self._log(f"node {self.node} {text} for {label}")
        return DrainOutcome(ok, text)

    def settle(self, state: State, now: float) -> None:
        """Uncordon the node once every event this handler cordoned it for is gone."""
        ours = [r for r in state.records.values() if r.get("kubeCordoned") and "kubeUncordoned" not in r]
        if not ours or any("gone" not in r for r in ours) or now - self._uncordon_failed_at < RETRY_UNCORDON:
            return
        code, out = self.kubectl.call("uncordon", self.node)
        if code != 0:
            self._uncordon_failed_at = now
            self._problem(f"kubectl uncordon {self.node} exited {code}: {out}; trying again in "
                          f"{RETRY_UNCORDON:g}s")
            return
        for record in ours:
            state.update(record, save=False, kubeUncordoned=True)
        state.save()
        self._log(f"uncordoned node {self.node}: its events are gone")


def hook_variables(outcome: Optional[DrainOutcome]) -> Dict[str, str]:
    """What a hook run after the node step is told: IMDS_NODE_DRAIN (empty without one)."""
    return {"IMDS_NODE_DRAIN": outcome.text if outcome is not None else ""}


def _last_line(text: str) -> str:
    lines: List[str] = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"

