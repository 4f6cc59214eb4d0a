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
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any, Callable, Dict

from imdsctl.emulator.events import CONTROL_ROUTES as EVENT_ROUTES
from imdsctl.emulator.faults import Fault, FaultSpecError
from imdsctl.emulator.messages import NOT_FOUND, Request, Response, error, json_response, parse_json

PREFIX = "_emulator"


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
    methods = ROUTES.get("/".join(req.parts[1:]))
    if methods is None:
        return error(404, NOT_FOUND)
    action = methods.get(req.method)
    if action is None:
        refusal = error(405, f"{req.method} is not allowed here")
        return replace(refusal, headers=(("Allow", ", ".join(methods)),))
    try:
        return action(service, req)
    except FaultSpecError as exc:
        return error(400, str(exc))
