"""The control channel: HTTP endpoints under ``/_emulator/`` on the emulator's
own port, served only when enabled (``--control``, ``Emulator(control=True)``).

=======  =========================  ===========================================
GET      /_emulator/faults          the armed faults, with their remaining counts
POST     /_emulator/faults          arm faults: a body of one fault or a list
                                    (spec strings, ``{"spec": ...}`` or fields)
DELETE   /_emulator/faults          disarm every fault
GET      /_emulator/requests        the request log, oldest first
DELETE   /_emulator/requests        empty the request log
POST     /_emulator/throttle/reset  forget recent requests (the rate limit)
GET      /_emulator/events          the scheduled-events document (newest version)
POST     /_emulator/events          schedule events: a spec string, an object
                                    or a list (see emulator/events.py)
DELETE   /_emulator/events          withdraw every scheduled event
=======  =========================  ===========================================

Answers are JSON; no ``Metadata`` header is needed; nothing here is faulted,
throttled or logged.

What a web page in a browser can send is refused, so that a page cannot fire
the hooks of a watch pointed at the emulator: every control request carries
the ``X-Imdsctl-Control`` header (any value: a page cannot add one without a
CORS preflight, which is never granted), a POST has ``Content-Type:
application/json``, a request with any ``Origin`` is refused, and so is one
whose ``Host`` is not a loopback name or the address the emulator listens on
(DNS rebinding; listening on 0.0.0.0 or ``::``, any address literal). 403 or
415, JSON, and nothing changed. A request without ``Host`` (HTTP/1.0, a raw
socket) is not a browser's and is served.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, replace
from typing import Any, Callable, Collection, Dict, Optional

from imdsctl.emulator.events import CONTROL_ROUTES as EVENT_ROUTES
from imdsctl.emulator.faults import Fault, FaultSpecError
from imdsctl.emulator.messages import NOT_FOUND, Request, Response, error, json_response, parse_json

PREFIX = "_emulator"
#: The header every control request carries (any value): what a cross-site request cannot.
HEADER = "X-Imdsctl-Control"
#: What a client of the control channel sends on every request (and a POST's JSON body type).
CLIENT_HEADERS = {HEADER: "1"}


def _hostname(host: str) -> str:
    """``host`` (a Host header) without its port: ``[::1]:80`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _address(name: str) -> Optional[Any]:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _local(host: str, own: Collection[str]) -> bool:
    """Whether a Host header names this emulator: a loopback name or address,
    one it listens on, or any address literal when it listens on all of them."""
    name = _hostname(host)
    if name == "localhost" or name in own:
        return True
    address = _address(name)
    if address is None:
        return False
    everywhere = any(getattr(_address(o), "is_unspecified", False) for o in own)
    return bool(address.is_loopback or everywhere)


def refusal(req: Request, own: Collection[str] = ()) -> Optional[Response]:
    """Why a control request is refused (a 403 or 415), or None; ``own`` are
    the addresses the emulator listens on, beyond loopback ones."""
    if req.headers.get("origin") is not None:
        return error(403, "the control channel refuses requests with an Origin (a web page's)")
    host = req.headers.get("host")
    if host is not None and not _local(host, own):
        return error(403, "the control channel answers only to a loopback Host or the emulator's own address")
    if req.headers.get(HEADER) is None:
        return error(403, f"a control request carries the {HEADER} header")
    media = (req.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if req.method == "POST" and media != "application/json":
        return error(415, "a control POST is JSON: Content-Type: application/json")
    return None


def _faults(service: Any, req: Request) -> Response:
    return json_response(200, {"faults": [f.to_json() for f in service.faults.active()]})


def _add_faults(service: Any, req: Request) -> Response:
    try:
        data = parse_json(req.body)
    except ValueError:
        raise FaultSpecError("the body must be JSON: a fault or a list of faults") from None
    faults = [Fault.from_json(item) for item in (data if isinstance(data, list) else [data])]
    for fault in faults:
        service.faults.add(fault)
    return replace(_faults(service, req), status=201)


def _clear_faults(service: Any, req: Request) -> Response:
    service.faults.clear()
    return _faults(service, req)


def _requests(service: Any, req: Request) -> Response:
    return json_response(200, {"requests": [asdict(e) for e in service.log.entries()]})


def _clear_requests(service: Any, req: Request) -> Response:
    service.log.clear()
    return _requests(service, req)


def _reset_throttle(service: Any, req: Request) -> Response:
    if service.throttle is not None:
        service.throttle.reset()
    return json_response(200, {"rate": service.throttle.rate if service.throttle else None})


ROUTES: Dict[str, Dict[str, Callable[[Any, Request], Response]]] = {
    "faults": {"GET": _faults, "POST": _add_faults, "DELETE": _clear_faults},
    "requests": {"GET": _requests, "DELETE": _clear_requests},
    "throttle/reset": {"POST": _reset_throttle},
    **EVENT_ROUTES,
}


def handle(service: Any, req: Request) -> Response:
    """Answer a control-channel request for ``service`` (a Service)."""
    refused = refusal(req, service.hosts)
    if refused is not None:
        return refused
    methods = ROUTES.get("/".join(req.parts[1:]))
    if methods is None:
        return error(404, NOT_FOUND)
    action = methods.get(req.method)
    if action is None:
        not_allowed = error(405, f"{req.method} is not allowed here")
        return replace(not_allowed, headers=(("Allow", ", ".join(methods)),))
    try:
        return action(service, req)
    except FaultSpecError as exc:
        return error(400, str(exc))
