"""The IMDS service, socket-free: a Request in, a Response out.

Every request goes through the same steps, in this order:

0. ``/_emulator/...`` goes to the control channel when it is enabled (never
   faulted, throttled or logged); otherwise it is an unknown path like any other.
   The attested signer's issuer certificate (``attested.CA_ISSUERS_PATH``, the
   leaf's caIssuers URL) is not IMDS either: served as it is, never logged.
1. Injected faults: the first armed fault whose prefix matches takes the
   request before any validation, as a host update would (a delay or
   truncate fault lets the normal answer through, altered).
2. The checks IMDS makes, in its order: ``X-Forwarded-For`` -> 400;
   ``Metadata`` header not case-insensitively ``true`` -> 400; method -> 405;
   ``api-version`` missing or unknown to the endpoint family -> 400 with
   ``newest-versions``; a repeated query parameter -> 400; the rate limit, and
   a family's limit of requests in flight (throttle.py) -> 429
   (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#errors-and-debugging).
3. The endpoint family (families.FAMILIES) answers: format, route, 404.
   The answers of the families that depend on the profile alone (versions,
   instance, load balancer) are built once per (api-version, route, format)
   and kept (``AnswerCache``); the others (scheduled events, identity,
   attested, the control channel) are built for each request, and faults and
   the rate limit apply before the cache, to every request.

The Service holds every piece of an emulator's state: the profile and its
instance tree, the scheduled events, what attested documents are signed
with, the rate limit, the armed faults, the request log and the answer cache.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Deque, Dict, List, Optional, Set, Tuple

from imdsctl import catalog
from imdsctl.catalog import version_key
from imdsctl.emulator import attested, control, messages
from imdsctl.emulator.attested import Signing
from imdsctl.emulator.events import ScheduledEvents
from imdsctl.emulator.families import VERSIONS, Family, route
from imdsctl.emulator.faults import FaultPlan, apply
from imdsctl.emulator.mediators import Mediator
from imdsctl.emulator.messages import Request, Response, error, json_response
from imdsctl.emulator.profiles import Profile
from imdsctl.emulator.throttle import Throttle
from imdsctl.emulator.tree import InstanceTree


@dataclass(frozen=True)
class LoggedRequest:
    """One request the emulator answered (control-channel requests are not logged)."""

    method: str
    path: str                 #: as sent, without the query string
    query: str                #: the raw query string
    status: Optional[int]     #: None when a ``reset`` fault dropped the connection
    time: float               #: arrival, in seconds since the epoch
    client: str
    fault: Optional[str]      #: the action of the injected fault, if one applied


class RequestLog:
    """The most recent requests, oldest first; thread-safe and bounded."""

    def __init__(self, size: int = 10_000):
        self._lock = threading.Lock()
        self._entries: Deque[LoggedRequest] = deque(maxlen=size)

    def append(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> List[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: The families whose answers depend on the profile alone: their answers are cached.
CACHED_FAMILIES = frozenset(endpoint.path for endpoint in (
    catalog.VERSIONS_ENDPOINT, catalog.INSTANCE, catalog.LOADBALANCER))


class AnswerCache:
    """Answers that depend on the profile alone, by (family path, api-version,
    route, format): 200s only (a client's made-up routes do not fill it), at
    most ``size``. Emptied when the Service's profile or instance tree is
    replaced; thread-safe."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._lock = threading.Lock()
        self._answers: Dict[Tuple[Any, ...], Response] = {}
        self._profile: Optional[Profile] = None
        self._tree: Optional[InstanceTree] = None

    def get(self, profile: Profile, tree: InstanceTree, key: Tuple[Any, ...]) -> Optional[Response]:
        """The answer kept for ``key`` if it was built from ``profile`` and ``tree``."""
        if profile is not self._profile or tree is not self._tree:
            with self._lock:
                self._answers = {}
                self._profile, self._tree = profile, tree
        return self._answers.get(key)

    def put(self, profile: Profile, tree: InstanceTree, key: Tuple[Any, ...], response: Response) -> Response:
        """Keep ``response``, built from ``profile`` and ``tree``, for ``key`` (a 200, while
        there is room); returns it."""
        if response.status == 200:
            with self._lock:
                if profile is self._profile and tree is self._tree and len(self._answers) < self.size:
                    self._answers[key] = response
        return response


class Service:
    """The emulated IMDS: a profile, scheduled events, signing, the rate
    limit, faults and the request log."""

    def __init__(self, profile: Profile, *, throttle: Optional[Throttle] = None,
                 faults: Optional[FaultPlan] = None, log: Optional[RequestLog] = None,
                 control: bool = False, versions_require_metadata: bool = True,
                 scheduled_events: Optional[ScheduledEvents] = None, signing: Optional[Signing] = None,
                 mediator: Optional[Mediator] = None):
        self.profile = profile
        self.tree = InstanceTree(profile.instance)
        self.scheduled_events = scheduled_events or ScheduledEvents.for_profile(profile)
        self.signing = signing or Signing()
        self.throttle = throttle
        self.faults = faults if faults is not None else FaultPlan()
        self.log = log if log is not None else RequestLog()
        self.control = control
        self.hosts: Tuple[str, ...] = ()  #: what it listens on: a control request's Host may name it
        self.versions_require_metadata = versions_require_metadata
        self.answers = AnswerCache()
        self.mediator = mediator  #: what stands in front of IMDS (--as), if anything

    def handle(self, req: Request) -> Response:
        """Answer one request (steps 0-3 of the module docstring)."""
        if self.control and req.parts[:1] == (control.PREFIX,):
            return control.handle(self, req)
        if req.parts == attested.CA_ISSUERS_PARTS:
            return attested.ca_issuers(self, req)
        arrived = time.time()
        fault = self.faults.take("/" + "/".join(req.parts))
        response: Optional[Response] = None
        def imds() -> Response:
            return self.respond(req) if fault is None else apply(fault, lambda: self.respond(req))

        try:
            response = imds() if self.mediator is None else self.mediator.answer(req, imds)
        finally:  # in flight until its answer is due (throttle.py)
            if self.throttle is not None:
                self.throttle.land(id(req), response.delay if response is not None else 0.0)
        self.log.append(LoggedRequest(req.method, req.path, req.query,
                                      None if response.reset else response.status,
                                      arrived, req.client, response.fault))
        return response

    def respond(self, req: Request) -> Response:
        """The fault-free answer: checks, then the endpoint family."""
        family, below = route(req.parts, self.profile.versions)
        refusal = self.check(req, family)
        if refusal is not None:
            return refusal
        if family.handler is None:
            return error(404, messages.NOT_FOUND)
        refusal = family.format_refusal(req)
        if refusal is not None:
            return refusal
        version = (req.param("api-version") if family.versions is not None else None) or ""
        handler = family.handler
        if family.path not in CACHED_FAMILIES:
            return handler(self, req, below, version)
        key = (family.path, version, below, req.param("format"))
        profile, tree = self.profile, self.tree
        cached = self.answers.get(profile, tree, key)
        if cached is not None:
            return cached
        return self.answers.put(profile, tree, key, handler(self, req, below, version))

    def check(self, req: Request, family: Family) -> Optional[Response]:
        """The refusal for a request failing IMDS's checks (step 2 above), if any."""
        if req.headers.get("X-Forwarded-For") is not None:
            return family.refuse(self, 400, messages.FORWARDED)
        needs_header = family is not VERSIONS or self.versions_require_metadata
        if needs_header and (req.headers.get("Metadata") or "").strip().lower() != "true":
            return family.refuse(self, 400, messages.METADATA_HEADER)
        if req.method not in family.methods:
            refusal = family.refuse(self, 405, messages.METHOD.format(path=req.path, method=req.method))
            return replace(refusal, headers=(("Allow", ", ".join(family.methods)),))
        if family.versions is not None and req.param("api-version") not in family.versions:
            newest = sorted(family.versions, key=version_key, reverse=True)[:3]
            return json_response(400, {"error": messages.API_VERSION, "newest-versions": newest})
        seen: Set[str] = set()
        for name, _ in req.params:
            if name in seen:
                return family.refuse(self, 400, messages.DUPLICATE.format(name=name))
            seen.add(name)
        if self.throttle is not None:
            bucket = req.client if family.rate is None else f"{req.client} {family.path}"
            if not self.throttle.admit(bucket, family.rate, family.concurrent, id(req)):
                return family.refuse(self, 429, messages.THROTTLED)
        return None
