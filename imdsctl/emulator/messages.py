"""What the emulator's HTTP layer passes around: a parsed request, a response to
write, and the IMDS error texts.

Error texts quoted from Microsoft's documentation (IMDS,
https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service,
and the load balancer's,
https://learn.microsoft.com/azure/load-balancer/howto-load-balancer-imds) are
marked [doc]; the others are the emulator's choice where IMDS's exact bytes
are not known, worded in the same "Bad request. ..." style.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Mapping, Optional, Tuple

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

#: The Server header of real IMDS answers, as captured in public issue reports.
SERVER = "IMDS/150.870.65.1103"

# [doc]
METADATA_HEADER = "Bad request. Required metadata header not specified"
API_VERSION = ("Bad request. api-version is invalid or was not specified in the request. "
               "For more information refer to aka.ms/azureimds")
NO_LOADBALANCER = ("No load balancer metadata is found. Check if your virtual machine is using "
                   "any nonbasic SKU load balancer and retry later.")
THROTTLED = "Too many requests"
METHOD = 'Http method isn\'t allowed: Path = "{path}", Method = "{method}"'
# the emulator's wording: status documented, body not
NOT_FOUND = "Not found"
FORWARDED = "Bad request. X-Forwarded-For header is not allowed"
DUPLICATE = "Bad request. Query parameter '{name}' is specified more than once"
FORMAT = "Bad request. Invalid format '{value}'; use format=json or format=text"
FORMAT_JSON_ONLY = "Bad request. This endpoint only supports format=json"
LEAF = "Bad request. Leaf nodes require format=text"

#: Bodies of injected status faults; other codes use the HTTP reason phrase.
FAULT_MESSAGES = {
    404: NOT_FOUND,
    429: THROTTLED,
    503: "Internal service unavailable. Retry later",  # [doc] (load balancer)
}


@dataclass(frozen=True)
class Request:
    """One HTTP request as the service sees it."""

    method: str
    path: str                          #: as sent, without the query string
    parts: Tuple[str, ...]             #: percent-decoded segments; a trailing ``/`` is ignored
    query: str                         #: the raw query string
    params: Tuple[Tuple[str, str], ...]
    headers: Mapping[str, str]         #: with a case-insensitive ``get`` (wire.Headers)
    client: str = "127.0.0.1"
    body: bytes = b""
    client_port: int = 0               #: the client's TCP port (0: not known)

    def param(self, name: str) -> Optional[str]:
        """The first value of query parameter ``name``, or None."""
        for key, value in self.params:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Response:
    """What to send back, and how (``delay``, ``truncate`` and ``reset`` come from faults)."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: Tuple[Tuple[str, str], ...] = ()
    server: str = SERVER
    delay: float = 0.0         #: seconds to wait before answering
    truncate: bool = False     #: send half the body under the full Content-Length, then close
    reset: bool = False        #: answer nothing; reset the connection
    fault: Optional[str] = field(default=None, compare=False)  #: spec of the fault applied


def dump_json(data: Any) -> bytes:
    """Compact JSON with sorted keys, as real IMDS captures are."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def parse_json(body: bytes) -> Any:
    """A request body's JSON (an empty body is null). ValueError when it is not
    JSON, not UTF-8, or nests deeper than Python can follow: a bad request,
    never the emulator's error."""
    try:
        return json.loads(body or b"null")
    except RecursionError:
        raise ValueError("the JSON nests too deeply") from None


def json_response(status: int, data: Any, headers: Tuple[Tuple[str, str], ...] = ()) -> Response:
    return Response(status, dump_json(data), headers=headers)


def error(status: int, message: str) -> Response:
    """An IMDS error answer: ``{"error": message}``."""
    return json_response(status, {"error": message})


def text_response(text: str) -> Response:
    """A ``format=text`` answer: the bytes as they are, no trailing newline added."""
    return Response(200, text.encode(), TEXT_TYPE)


def status_message(status: int) -> str:
    """The error text the emulator uses for an injected ``status`` fault."""
    if status in FAULT_MESSAGES:
        return FAULT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
