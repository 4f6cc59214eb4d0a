"""The endpoint families the emulator serves, as one table (FAMILIES).

A Family row says where it is, which methods, api-versions and formats it
takes (from catalog.Endpoint), how it words the service's refusals, its own
rate and concurrency limits, and the handler that answers. Its handler module also owns the
profile section the family is served from (SECTIONS): scheduled events
(events.py), managed identity (identity.py), the load balancer (here).
Instance, versions and load balancer are answered here; attested data in
attested.py.

A handler takes (service, request, route below the family path, api-version
or "" if unversioned) and returns a Response; ``service`` is the Service
(service.py), which holds every piece of state: profile, instance tree,
scheduled events, signing.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Optional, Tuple

from imdsctl import catalog
from imdsctl.catalog import INSTANCE_VERSIONS, version_key
from imdsctl.emulator import attested, events, identity, messages
from imdsctl.emulator.messages import Request, Response, error, json_response, text_response
from imdsctl.emulator.tree import listing

#: (service, request, route below the family path, api-version or "") -> answer
Handler = Callable[[Any, Request, Tuple[str, ...], str], Response]
#: (service, status, message) -> how a family words the refusals of Service.check
Refuse = Callable[[Any, int, str], Response]


@functools.cache
def _parts(path: str) -> Tuple[str, ...]:
    """A family path's segments, split once (routing asks on every request)."""
    return tuple(path.strip("/").split("/"))


def _refuse(service: Any, status: int, message: str) -> Response:
    return error(status, message)


@dataclass(frozen=True)
class Family:
    """An endpoint family: its path, methods, api-versions (None: unversioned),
    formats (None: not checked) and the handler that answers it (None: 404)."""

    path: str
    handler: Optional[Handler]
    versions: Optional[Tuple[str, ...]] = INSTANCE_VERSIONS
    methods: Tuple[str, ...] = ("GET",)
    formats: Optional[Tuple[str, ...]] = ("json",)  #: the ``format`` values it takes
    subpaths: bool = False    #: whether route filtering below ``path`` is allowed
    refuse: Refuse = _refuse  #: its wording of the refusals of Service.check
    rate: Optional[int] = None  #: requests per second of its own rate limit (None: the general one)
    concurrent: Optional[int] = None  #: requests it lets be in flight at once (None: no limit)

    @property
    def parts(self) -> Tuple[str, ...]:
        return _parts(self.path)

    def format_refusal(self, req: Request) -> Optional[Response]:
        """The 400 for a ``format`` this family does not take, if it was asked."""
        fmt = req.param("format")
        if self.formats is None or fmt is None or fmt in self.formats:
            return None
        if fmt == "text":
            return error(400, messages.FORMAT_JSON_ONLY)
        return error(400, messages.FORMAT.format(value=fmt))


# -- the handlers of the families answered here ----------------------------------------------


def _versions(service: Any, req: Request, route: Tuple[str, ...], version: str) -> Response:
    return json_response(200, {"apiVersions": list(service.profile.versions or INSTANCE_VERSIONS)})


def _instance(service: Any, req: Request, route: Tuple[str, ...], version: str) -> Response:
    try:
        node = catalog.walk(service.tree.view(version), route)
    except LookupError:
        return error(404, messages.NOT_FOUND)
    text = req.param("format") == "text"
    if isinstance(node, str):
        return text_response(node) if text else error(400, messages.LEAF)
    return text_response(listing(node)) if text else json_response(200, node)


def _loadbalancer(service: Any, req: Request, route: Tuple[str, ...], version: str) -> Response:
    section = service.profile.loadbalancer
    if section is None:
        return error(404, messages.NO_LOADBALANCER)
    return json_response(200, {"loadbalancer": section})


def check_loadbalancer(section: Any, where: str) -> Optional[Mapping[str, Any]]:
    """The profile section ``loadbalancer``: the object IMDS nests under
    "loadbalancer" in its answer; null means no Standard load balancer
    (404). Its ports are JSON numbers. Raises ValueError naming the path."""
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ValueError(f"{where}: expected a JSON object or null")
    _check_ports(section, where)
    return dict(section)


def _check_ports(node: Any, where: str) -> None:
    for key, value in (node.items() if isinstance(node, Mapping) else enumerate(node)):
        path = f"{where}/{key}"
        if isinstance(value, (Mapping, list)):
            _check_ports(value, path)
        elif isinstance(key, str) and key.endswith("Port") and (
                isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{path}: expected a JSON number, got {json.dumps(value)}")


# -- the tables --------------------------------------------------------------------------------


def _family(endpoint: catalog.Endpoint, handler: Optional[Handler], **extra: Any) -> Family:
    """An endpoint family of the catalog, answered by ``handler``."""
    return Family(endpoint.path, handler, versions=endpoint.versions, methods=endpoint.methods,
                  rate=endpoint.rate, **extra)


VERSIONS = _family(catalog.VERSIONS_ENDPOINT, _versions)

#: The endpoint families the emulator knows.
FAMILIES: Tuple[Family, ...] = (
    VERSIONS,
    _family(catalog.INSTANCE, _instance, subpaths=True, formats=("json", "text")),
    _family(catalog.LOADBALANCER, _loadbalancer),
    _family(catalog.SCHEDULED_EVENTS, events.handle),
    _family(catalog.IDENTITY_TOKEN, identity.token, refuse=identity.refuse, formats=None,
            concurrent=identity.CONCURRENT),
    _family(catalog.IDENTITY_INFO, identity.info, refuse=identity.refuse, formats=None,
            concurrent=identity.CONCURRENT),
    _family(catalog.ATTESTED, attested.handle),
)

#: Any other path: GET only, instance api-versions, then 404.
UNKNOWN = Family("/", None, formats=None)


@dataclass(frozen=True)
class Section:
    """A profile section a family is served from: its key in the profile, the
    Profile field it fills, and its validator ((value, where) -> parsed value;
    ValueError naming the path)."""

    key: str
    field: str
    check: Callable[[Any, str], Any]


SECTIONS: Tuple[Section, ...] = (
    Section("loadbalancer", "loadbalancer", check_loadbalancer),
    Section("identity", "identity", identity.check_section),
    Section("scheduledEvents", "scheduled_events", events.parse_section),
)


def route(parts: Tuple[str, ...], versions: Optional[Tuple[str, ...]] = None
          ) -> Tuple[Family, Tuple[str, ...]]:
    """The family serving ``parts`` and the route below its path, on a VM
    whose IMDS offers ``versions`` (None: every version the catalog knows)."""
    families, unknown = offering(versions)
    for family in families:
        n = len(family.parts)
        if parts[:n] == family.parts and (len(parts) == n or family.subpaths):
            return family, parts[n:]
    return unknown, parts


@functools.lru_cache(maxsize=32)
def offering(versions: Optional[Tuple[str, ...]]) -> Tuple[Tuple[Family, ...], Family]:
    """FAMILIES and UNKNOWN as a VM offering the instance api-versions
    ``versions`` (its /metadata/versions) serves them: each family of the
    instance category takes those from the one it appeared in; scheduled
    events keeps its own list."""
    if versions is None:
        return FAMILIES, UNKNOWN

    def narrowed(family: Family) -> Family:
        if family.versions is None or not set(family.versions) <= set(INSTANCE_VERSIONS):
            return family
        first = version_key(min(family.versions, key=version_key))
        return replace(family, versions=tuple(v for v in versions if version_key(v) >= first))

    return tuple(narrowed(f) for f in FAMILIES), narrowed(UNKNOWN)
