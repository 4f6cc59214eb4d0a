"""Scheduled Events in the emulator: ``/metadata/scheduledevents``
(https://learn.microsoft.com/azure/virtual-machines/linux/scheduled-events).

Each emulator (each Service) has one ScheduledEvents: a DocumentIncarnation
counter and a list of events.  An event is Scheduled until its NotBefore, then
Started (same EventId, ``NotBefore`` ``""``) for a while, then it disappears;
a POST ``StartRequests`` approval starts it at once.  Every change of the
Events array increments DocumentIncarnation.  Time is scenario time: every
notice and duration is multiplied by ``time_factor`` (0.001 turns Reboot's
15 minutes of notice into 0.9 s), and NotBefore is the real (scaled) moment
the event starts.

Events come from a spec (SYNTAX), from the JSON form (``EventSpec.from_json``:
the profile section ``scheduledEvents``, the control channel) or from Python
(``ScheduledEvents.schedule``).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, fields, replace
from email.utils import formatdate
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union, cast

from imdsctl import catalog
from imdsctl.catalog import SCHEDULED_EVENTS_API_VERSION, version_key
from imdsctl.emulator.messages import Request, Response, error, json_response, parse_json


@dataclass(frozen=True)
class EventKind:
    """What an event type looks like: documented minimum notice, the api-version
    it appeared in, and the emulator's defaults for the rest."""

    notice: float        #: seconds of notice (the documented minimums)
    since: str           #: the first SE api-version that shows it
    active: float        #: seconds it stays Started (the emulator's choice: not documented)
    duration: int        #: DurationInSeconds: -1 unknown, 0 no interruption
    source: str
    description: str


SINCE = catalog.SCHEDULED_EVENT_TYPES_SINCE

#: Descriptions: the documented Freeze sample; the others are those of Microsoft's
#: scheduled events mock server (https://github.com/Azure-Samples/scheduled-events-mock-server).
KINDS: Dict[str, EventKind] = {
    "Freeze": EventKind(900, SINCE["Freeze"], 300, 5, "Platform",
                   "Virtual machine is being paused because of a memory-preserving Live Migration "
                   "operation."),
    "Reboot": EventKind(900, SINCE["Reboot"], 600, -1, "User",
                   "Virtual machine is going to be restarted as requested by authorized user."),
    "Redeploy": EventKind(600, SINCE["Redeploy"], 600, -1, "Platform",
                     "Virtual machine has encountered a failure."),
    "Preempt": EventKind(30, SINCE["Preempt"], 300, -1, "Platform", "The Virtual Machine will be evicted."),
    "Terminate": EventKind(300, SINCE["Terminate"], 300, -1, "User",
                      "Virtual machine is being deleted as requested by authorized user."),
}

FIELDS_SINCE = catalog.SCHEDULED_EVENT_FIELDS_SINCE

MAX_SECONDS = 30 * 24 * 3600.0
GUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\Z")

SYNTAX = """\
EVENT = TYPE[@NOTICE][+ACTIVE][:RESOURCE[,RESOURCE...]]
  TYPE      Freeze, Reboot, Redeploy, Preempt or Terminate (any case)
  NOTICE    seconds until NotBefore; default the documented minimum notice:
            Freeze 900, Reboot 900, Redeploy 600, Preempt 30, Terminate 300
            (a VMSS sets 300-900); 0 = Started at once, as after a hardware fault
  ACTIVE    seconds the event stays Started before it disappears (default
            Freeze 300, Preempt 300, Terminate 300, others 600)
  RESOURCE  names listed in Resources (default: the profile's compute.name)
Times are scenario seconds, scaled by --events-time-factor.
Examples: Reboot  Preempt@30  Freeze@60+5  Terminate@600:vmss_3,vmss_4"""

_SPEC = re.compile(r"(?P<type>[A-Za-z]+)(?:@(?P<notice>[^+:]*))?(?:\+(?P<active>[^:]*))?"
                   r"(?::(?P<resources>.*))?")


class EventSpecError(ValueError):
    """An event spec or event JSON that does not describe an event."""


def _seconds(value: Any, what: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise EventSpecError(f"{what} must be a number of seconds, not {value!r}") from None
    if isinstance(value, bool) or not 0 <= seconds <= MAX_SECONDS:
        raise EventSpecError(f"{what} must be between 0 and {MAX_SECONDS:g} seconds")
    return seconds


@dataclass(frozen=True)
class EventSpec:
    """One scenario: an event type and what differs from its defaults
    (None: the type's default, from KINDS)."""

    type: str
    notice: Optional[float] = None
    active: Optional[float] = None
    resources: Tuple[str, ...] = ()
    description: Optional[str] = None
    source: Optional[str] = None
    duration: Optional[int] = None
    id: Optional[str] = None

    def __post_init__(self) -> None:
        canonical = {name.lower(): name for name in KINDS}.get(str(self.type).lower())
        if canonical is None:
            raise EventSpecError(f"unknown event type '{self.type}' (expected {', '.join(KINDS)})")
        object.__setattr__(self, "type", canonical)
        for name in ("notice", "active"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _seconds(getattr(self, name), name))
        if isinstance(self.resources, str):
            raise EventSpecError("resources must be a list of names")
        object.__setattr__(self, "resources", tuple(self.resources))
        if any(not isinstance(r, str) or not r for r in self.resources):
            raise EventSpecError("resources must be non-empty strings")
        if self.source is not None and self.source not in ("Platform", "User"):
            raise EventSpecError("source must be Platform or User")
        if self.duration is not None and (isinstance(self.duration, bool) or not isinstance(
                self.duration, int) or self.duration < -1):
            raise EventSpecError("duration must be an integer of seconds, -1 for unknown")
        if self.description is not None and not isinstance(self.description, str):
            raise EventSpecError("description must be a string")
        if self.id is not None and not (isinstance(self.id, str) and GUID.match(self.id)):
            raise EventSpecError(f"id must be a GUID, not {self.id!r}")

    @classmethod
    def parse(cls, spec: str) -> EventSpec:
        """Parse ``TYPE[@NOTICE][+ACTIVE][:RESOURCE,...]`` (SYNTAX)."""
        match = _SPEC.fullmatch(spec.strip())
        if not match:
            raise EventSpecError(f"bad event spec '{spec}' (expected TYPE[@NOTICE][+ACTIVE]"
                                 "[:RESOURCE,...], e.g. Reboot or Preempt@30)")
        kind, notice, active, resources = match.group("type", "notice", "active", "resources")
        try:
            # notice and active as written: __post_init__ reads them as seconds
            return cls(kind, notice, active,  # type: ignore[arg-type]
                       tuple(r.strip() for r in resources.split(",")) if resources is not None else ())
        except EventSpecError as exc:
            raise EventSpecError(f"bad event spec '{spec}': {exc}") from None

    @classmethod
    def from_json(cls, data: Any) -> EventSpec:
        """A spec string, or an object of the fields ``type``, ``notice``,
        ``active``, ``resources``, ``description``, ``source``, ``duration``, ``id``."""
        if isinstance(data, str):
            return cls.parse(data)
        if not isinstance(data, dict):
            raise EventSpecError("an event is a spec string or a JSON object")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise EventSpecError(f"unknown event field '{unknown[0]}' (expected {', '.join(known)})")
        if "type" not in data:
            raise EventSpecError("an event needs a type")
        if not isinstance(data.get("resources", []), list):
            raise EventSpecError("resources must be a list of names")
        return cls(**data)


def parse_section(value: Any, where: str = "scheduledEvents") -> Tuple[EventSpec, ...]:
    """The profile section ``scheduledEvents``: a list of specs (strings or objects).
    Errors name ``where`` and the index."""
    if not isinstance(value, list):
        raise EventSpecError(f"{where}: expected a list of events (spec strings or objects)")
    specs = []
    for index, item in enumerate(value):
        try:
            specs.append(EventSpec.from_json(item))
        except EventSpecError as exc:
            raise EventSpecError(f"{where}/{index}: {exc}") from None
    return tuple(specs)


class _Event:
    """One event as the state machine holds it (times in ``clock`` seconds)."""

    def __init__(self, spec: EventSpec, kind: EventKind, resources: Tuple[str, ...], start_at: float,
                 active: float):
        self.id = (spec.id or str(uuid.uuid4())).upper()
        self.type = spec.type
        self.resources = list(resources)
        self.description = kind.description if spec.description is None else spec.description
        self.source = spec.source or kind.source
        self.duration = kind.duration if spec.duration is None else spec.duration
        self.start_at = start_at
        self.active = active
        self.status = "Scheduled"
        self.end_at = math.inf

    def start(self, now: float) -> None:
        self.status, self.end_at = "Started", now + self.active

    def show(self, version: str) -> Dict[str, Any]:
        """The event as IMDS shows it at ``version``."""
        old = version_key(version) < version_key("2017-08-01")  # preview: '_'-prefixed names
        shown: Dict[str, Any] = {
            "EventId": self.id,
            "EventStatus": self.status,
            "EventType": self.type,
            "ResourceType": "VirtualMachine",
            "Resources": ["_" + r for r in self.resources] if old else list(self.resources),
            "NotBefore": "" if self.status == "Started" else formatdate(math.ceil(self.start_at),
                                                                         usegmt=True),
            "Description": self.description,
            "EventSource": self.source,
            "DurationInSeconds": self.duration,
        }
        for name, since in FIELDS_SINCE:
            if version_key(version) < version_key(since):
                del shown[name]
        return shown


class ScheduledEvents:
    """The scheduled-events state of one emulator; thread-safe.

    ``clock`` is wall-clock seconds (NotBefore is a wall-clock time); tests
    pass a fake one and never sleep.
    """

    @classmethod
    def for_profile(cls, profile: Any, *, time_factor: float = 1.0, enable_delay: float = 0.0,
                    events: Iterable[Union[str, EventSpec, Dict[str, Any]]] = ()) -> ScheduledEvents:
        """The state of an emulator serving ``profile``: its ``scheduledEvents``
        and then ``events`` are scheduled now, for its compute name."""
        name = profile.instance.get("compute", {}).get("name") or "vm0"
        state = cls((name,), time_factor=time_factor, enable_delay=enable_delay)
        for spec in (*profile.scheduled_events, *events):
            state.schedule(spec)
        return state

    def __init__(self, resources: Iterable[str] = ("vm0",), *, time_factor: float = 1.0,
                 enable_delay: float = 0.0, clock: Callable[[], float] = time.time):
        if not time_factor > 0:
            raise ValueError("the events time factor must be positive")
        if enable_delay < 0:
            raise ValueError("the events enable delay cannot be negative")
        self.default_resources = tuple(resources)
        self.time_factor = time_factor
        self.enable_delay = enable_delay
        self._clock = clock
        self._lock = threading.Lock()
        self._events: List[_Event] = []
        self._incarnation = 1
        self._enabled = False

    def schedule(self, event: Union[str, EventSpec, Dict[str, Any]], **changes: Any) -> Dict[str, Any]:
        """Add an event (a spec string, an EventSpec or its JSON form, with
        EventSpec fields as keyword arguments); returns it as IMDS shows it."""
        spec = event if isinstance(event, EventSpec) else EventSpec.from_json(event)
        if changes:
            spec = replace(spec, **changes)
        kind = KINDS[spec.type]
        notice = kind.notice if spec.notice is None else spec.notice
        active = kind.active if spec.active is None else spec.active
        with self._lock:
            now = self._advance()
            added = _Event(spec, kind, spec.resources or self.default_resources,
                           now + notice * self.time_factor, active * self.time_factor)
            if any(e.id == added.id for e in self._events):
                raise EventSpecError(f"an event with id {added.id} exists already")
            if added.start_at <= now:  # no notice: it appears Started, one change
                added.start(now)
            self._events.append(added)
            self._incarnation += 1
            return added.show(SCHEDULED_EVENTS_API_VERSION)

    def approve(self, event_ids: Iterable[str]) -> None:
        """Start the Scheduled events among ``event_ids`` now (case-insensitive);
        other ids are ignored, as IMDS answers 200 for them."""
        wanted = {i.upper() for i in event_ids}
        with self._lock:
            now = self._advance()
            for e in self._events:
                if e.id in wanted and e.status == "Scheduled":
                    e.start(now)
                    self._incarnation += 1

    def cancel(self, event_id: Optional[str] = None) -> None:
        """Withdraw one event (or all): it disappears without completing."""
        with self._lock:
            self._advance()
            kept = [e for e in self._events if event_id is not None and e.id != event_id.upper()]
            if len(kept) != len(self._events):
                self._events = kept
                self._incarnation += 1

    def document(self, version: str = SCHEDULED_EVENTS_API_VERSION) -> Dict[str, Any]:
        """``{"DocumentIncarnation", "Events"}`` as IMDS answers at ``version``;
        event types newer than ``version`` are left out."""
        with self._lock:
            self._advance()
            shown = [e.show(version) for e in self._events
                     if version_key(KINDS[e.type].since) <= version_key(version)]
            return {"DocumentIncarnation": self._incarnation, "Events": shown}

    def first_call_delay(self) -> float:
        """The enablement delay for the first request, 0 for every later one."""
        with self._lock:
            first, self._enabled = not self._enabled, True
        return self.enable_delay if first else 0.0

    def _advance(self) -> float:
        """Apply every transition due by now, in time order; returns now."""
        now = self._clock()
        while True:
            due = [(e.start_at, 0, e) for e in self._events if e.status == "Scheduled" and e.start_at <= now]
            due += [(e.end_at, 1, e) for e in self._events if e.status == "Started" and e.end_at <= now]
            if not due:
                return now
            at, ending, event = min(due, key=lambda d: d[:2])
            if ending:
                self._events.remove(event)
            else:
                event.start(at)
            self._incarnation += 1


def attach(service: Any, *, time_factor: float = 1.0, enable_delay: float = 0.0,
           events: Iterable[Union[str, EventSpec, Dict[str, Any]]] = ()) -> ScheduledEvents:
    """Give ``service`` new scheduled-events state (ScheduledEvents.for_profile)."""
    service.scheduled_events = ScheduledEvents.for_profile(service.profile, time_factor=time_factor,
                                                           enable_delay=enable_delay, events=events)
    return service.scheduled_events


# -- the IMDS endpoint ------------------------------------------------------------------------


def _start_requests(body: bytes) -> List[str]:
    """The EventIds of a POST body, or EventSpecError saying why it is malformed."""
    try:
        data = parse_json(body)
    except ValueError:
        raise EventSpecError("Bad request. The request body is not JSON") from None
    requests = data.get("StartRequests") if isinstance(data, dict) else None
    if not isinstance(requests, list) or not requests:
        raise EventSpecError('Bad request. Expected {"StartRequests": [{"EventId": "..."}]}')
    ids = [r.get("EventId") if isinstance(r, dict) else None for r in requests]
    bad = [i for i in ids if not isinstance(i, str) or not GUID.match(i)]
    if bad:
        raise EventSpecError(f"Bad request. Invalid EventId {json.dumps(bad[0])}")
    return cast(List[str], ids)  # each one checked above


def handle(service: Any, req: Request, route: Tuple[str, ...], version: str) -> Response:
    """GET: the document; POST: approve ``StartRequests`` (400 when malformed),
    then 200 with the document (IMDS's POST body is undocumented; this is the
    mock server's choice).  The first request waits ``enable_delay``."""
    state = service.scheduled_events
    delay = state.first_call_delay()
    if req.method == "POST":
        try:
            state.approve(_start_requests(req.body))
        except EventSpecError as exc:
            return replace(error(400, str(exc)), delay=delay)
    return replace(json_response(200, state.document(version)), delay=delay)


# -- the control channel: /_emulator/events ---------------------------------------------------


def control_list(service: Any, req: Request) -> Response:
    """GET /_emulator/events: the document at the newest api-version."""
    return json_response(200, service.scheduled_events.document())


def control_schedule(service: Any, req: Request) -> Response:
    """POST /_emulator/events: schedule one event or a list (spec strings or objects)."""
    try:
        data = parse_json(req.body)
    except ValueError:
        return error(400, "the body must be JSON: an event or a list of events")
    try:
        specs = [EventSpec.from_json(item) for item in (data if isinstance(data, list) else [data])]
        state = service.scheduled_events
        return json_response(201, {"scheduled": [state.schedule(spec) for spec in specs]})
    except EventSpecError as exc:
        return error(400, str(exc))


def control_cancel(service: Any, req: Request) -> Response:
    """DELETE /_emulator/events: withdraw every event."""
    service.scheduled_events.cancel()
    return control_list(service, req)


CONTROL_ROUTES = {"events": {"GET": control_list, "POST": control_schedule, "DELETE": control_cancel}}
