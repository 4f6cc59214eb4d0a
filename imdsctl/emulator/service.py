"""The IMDS service, socket-free: a Request in, a Response out.

Every request goes through the same steps, in this order:

0. ``/_emulator/...`` goes to the control channel when it is enabled (never
   faulted, throttled or logged); otherwise it is an unknown path like any other.
1. Injected faults: the first armed fault whose prefix matches takes the
   request before any validation, as a host update would (a delay or
   truncate fault lets the normal answer through, altered).
2. The checks of reference 13.2: ``X-Forwarded-For`` -> 400; ``Metadata``
   header not case-insensitively ``true`` -> 400; method -> 405;
   ``api-version`` missing or unknown to the endpoint family -> 400 with
   ``newest-versions``; a repeated query parameter -> 400; the rate limit -> 429.
3. The endpoint family answers (format, route, 404).

Endpoint families are rows of FAMILIES, each with its path, methods,
api-versions and handler: instance, versions, load balancer (here), scheduled
events (events.py), managed identity (identity.py, with its own wording of
refusals and its own rate limit) and attested data (attested.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Callable, Deque, List, Optional, Set, Tuple

from .. import catalog
from ..catalog import INSTANCE_VERSIONS, version_key
from . import attested, control, events, identity, messages
from .faults import FaultPlan, apply
from .messages import Request, Response, error, json_response, text_response
from .profiles import Profile
from .throttle import Throttle
from .tree import InstanceTree, listing


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


#: (service, request, route below the family path, api-version or "" if unversioned) -> answer
Handler = Callable[["Service", Request, Tuple[str, ...], str], Response]
#: (service, status, message) -> how a family words the refusals of Service.check
Refuse = Callable[["Service", int, str], Response]


def _refuse(service: Service, status: int, message: str) -> Response:
    return error(status, message)


@dataclass(frozen=True)
class Family:
    """An endpoint family: its path, methods, api-versions (None: unversioned)
    and the handler that answers it (None: not emulated, 404)."""

    path: str
    handler: Optional[Handler]
    versions: Optional[Tuple[str, ...]] = INSTANCE_VERSIONS
    methods: Tuple[str, ...] = ("GET",)
    subpaths: bool = False    #: whether route filtering below ``path`` is allowed
    refuse: Refuse = _refuse  #: its wording of the refusals of Service.check
    rate: Optional[int] = None  #: requests per second of its own rate limit (None: the general one)

    @property
    def parts(self) -> Tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))


def _json_only(req: Request) -> Optional[Response]:
    """The refusal for a ``format`` other than json on a JSON-only endpoint."""
    fmt = req.param("format")
    if fmt is None or fmt == "json":
        return None
    return error(400, messages.FORMAT_JSON_ONLY if fmt == "text" else messages.FORMAT.format(value=fmt))


def _versions(service: Service, req: Request, route: Tuple[str, ...], version: str) -> Response:
    return _json_only(req) or json_response(200, {"apiVersions": list(INSTANCE_VERSIONS)})


def _instance(service: Service, req: Request, route: Tuple[str, ...], version: str) -> Response:
    fmt = req.param("format")
    if fmt not in (None, "json", "text"):
        return error(400, messages.FORMAT.format(value=fmt))
    try:
        node = catalog.walk(service.tree.view(version), route)
    except LookupError:
        return error(404, messages.NOT_FOUND)
    if isinstance(node, str):
        return text_response(node) if fmt == "text" else error(400, messages.LEAF)
    return text_response(listing(node)) if fmt == "text" else json_response(200, node)


def _loadbalancer(service: Service, req: Request, route: Tuple[str, ...], version: str) -> Response:
    refusal = _json_only(req)
    if refusal:
        return refusal
    section = service.profile.loadbalancer
    if section is None:
        return error(404, messages.NO_LOADBALANCER)
    return json_response(200, {"loadbalancer": section})


def _family(endpoint: catalog.Endpoint, handler: Optional[Handler], **extra: Any) -> Family:
    """An endpoint family of the catalog, answered by ``handler``."""
    return Family(endpoint.path, handler, versions=endpoint.versions, methods=endpoint.methods,
                  rate=endpoint.rate, **extra)


VERSIONS = _family(catalog.VERSIONS_ENDPOINT, _versions)

#: The endpoint families the emulator knows; see the module docstring.
FAMILIES: Tuple[Family, ...] = (
    VERSIONS,
    _family(catalog.INSTANCE, _instance, subpaths=True),
    _family(catalog.LOADBALANCER, _loadbalancer),
    _family(catalog.SCHEDULED_EVENTS, events.handle),
    _family(catalog.IDENTITY_TOKEN, identity.token, refuse=identity.refuse),
    _family(catalog.IDENTITY_INFO, identity.info, refuse=identity.refuse),
    _family(catalog.ATTESTED, attested.handle),
)

#: Any other path: GET only, instance api-versions, then 404.
UNKNOWN = Family("/", None)


def route(parts: Tuple[str, ...]) -> Tuple[Family, Tuple[str, ...]]:
    """The family serving ``parts`` and the route below its path."""
    for family in FAMILIES:
        n = len(family.parts)
        if parts[:n] == family.parts and (len(parts) == n or family.subpaths):
            return family, parts[n:]
    return UNKNOWN, parts


class Service:
    """The emulated IMDS: a profile, the rate limit, faults and the request log."""

    def __init__(self, profile: Profile, *, throttle: Optional[Throttle] = None,
                 faults: Optional[FaultPlan] = None, log: Optional[RequestLog] = None,
                 control: bool = False, versions_require_metadata: bool = True):
        self.profile = profile
        self.tree = InstanceTree(profile.instance)
        self.throttle = throttle
        self.faults = faults if faults is not None else FaultPlan()
        self.log = log if log is not None else RequestLog()
        self.control = control
        self.versions_require_metadata = versions_require_metadata

    def handle(self, req: Request) -> Response:
        """Answer one request (steps 0-3 of the module docstring)."""
        if self.control and req.parts[:1] == (control.PREFIX,):
            return control.handle(self, req)
        arrived = time.time()
        fault = self.faults.take("/" + "/".join(req.parts))
        response = apply(fault, lambda: self.respond(req))
        self.log.append(LoggedRequest(req.method, req.path, req.query,
                                      None if response.reset else response.status,
                                      arrived, req.client, response.fault))
        return response

    def respond(self, req: Request) -> Response:
        """The fault-free answer: checks, then the endpoint family."""
        family, below = route(req.parts)
        refusal = self.check(req, family)
        if refusal is not None:
            return refusal
        if family.handler is None:
            return error(404, messages.NOT_FOUND)
        version = req.param("api-version") if family.versions is not None else None
        return family.handler(self, req, below, version or "")

    def check(self, req: Request, family: Family) -> Optional[Response]:
        """The refusal for a request failing the checks of reference 13.2, if any."""
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
            if not self.throttle.allow(bucket, family.rate):
                return family.refuse(self, 429, messages.THROTTLED)
        return None
