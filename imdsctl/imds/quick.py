"""The plain happy path of an IMDS read, with the standard library alone.

A script that reads one value at boot pays mostly for imports: httpx and
click are two thirds of a cold ``imdsctl compute vm-id``. This module
answers the plain case - one GET to an IP-literal http endpoint, answered
200 with a body answers.validate() accepts, within the time budget - over a
raw socket, and raises Unusual for anything else: a refused or slow
connection, any other status, a redirect, chunked or encoded bodies, a body
over the cap, a host name to resolve. The full client (imdsctl.imds.client,
httpx) then takes the request over, with the rest of the same budget, and
applies every rule: retries, fall-backs, messages. No rule is written twice:
what an answer must look like is answers.validate for both.

The request is what ImdsClient sends: ``Metadata: true``, no proxy (none is
consulted), ``Accept-Encoding: identity``, HTTP/1.1 with ``Connection: close``.
"""

from __future__ import annotations

import _socket
import time

from imdsctl import __version__, catalog
from imdsctl.errors import ImdsctlError
from imdsctl.imds.answers import MAX_BODY, Answer, validate
from imdsctl.imds.handover import (
    CONNECT_FAILED,
    CONNECT_TIMED_OUT,
    DROPPED,
    READ_TIMED_OUT,
    UNFINISHED,
    Attempt,
)
from imdsctl.imds.handover import instance_path as _instance_path
from imdsctl.imds.handover import short as _short

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time: this is the start-up path
    from typing import Any, Dict, List, Optional, Tuple

#: A socket operation that timed out (socket.timeout is TimeoutError only from Python 3.10).
_TIMEOUTS = (TimeoutError, _socket.timeout)
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")


class Unusual(Exception):
    """Not the plain happy path: the full client is to take the request over,
    with ``attempt`` (imdsctl.imds.handover.Attempt) as its own first attempt
    when this path sent one."""

    def __init__(self, reason: str, attempt: Optional[Attempt] = None):
        super().__init__(reason)
        self.attempt = attempt


class _Failed(Exception):
    """The attempt failed the way ``kind`` says (one of handover's kinds)."""

    def __init__(self, kind: str, detail: str = "", errno: Optional[int] = None):
        super().__init__(kind, detail)
        self.kind, self.detail, self.errno = kind, detail, errno


def _address(endpoint: str) -> Tuple[int, str, int]:
    """(family, host, port) of an ``http://`` endpoint whose host is an IP literal."""
    if not endpoint.startswith("http://"):
        raise Unusual("not plain http")
    authority = endpoint[len("http://"):].split("/", 1)[0]
    if "@" in authority:
        raise Unusual("credentials in the endpoint")
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        family, port_text = _socket.AF_INET6, rest[1:] if rest.startswith(":") else "80"
    else:
        host, _, port_text = authority.partition(":")
        family, port_text = _socket.AF_INET, port_text or "80"
    try:
        _socket.inet_pton(family, host)
        port = int(port_text)
    except (OSError, ValueError):
        raise Unusual("the host is not an IP literal") from None
    if not 0 < port < 65536 or (endpoint[len("http://") + len(authority):].strip("/")):
        raise Unusual("an unusual endpoint")
    return family, host, port


class QuickClient:
    """The part of ImdsClient's interface the instance views use, for the plain
    happy path: ``instance``, ``leaf``, ``request`` (GET), ``api_version``."""

    def __init__(self, endpoint: str, api_version: Optional[str], deadline: float):
        self.endpoint = endpoint.rstrip("/")
        if api_version == "latest":
            raise Unusual("latest needs /metadata/versions")
        self.api_version = api_version or catalog.DEFAULT_API_VERSION
        self.deadline = deadline
        self._address = _address(self.endpoint)

    def instance(self, route: str = "") -> Any:
        return self.request("GET", _instance_path(route)).body

    def leaf(self, route: str) -> str:
        return self.request("GET", _instance_path(route), params={"format": "text"}, expect="text").body

    def request(self, method: str, path: str, *, params: Optional[Dict[str, str]] = None,
                expect: str = "json", api_version: Optional[str] = None, **unusual: Any) -> Answer:
        if method != "GET" or unusual:
            raise Unusual(f"{method} with {sorted(unusual)}")
        pairs = {"api-version": api_version or self.api_version, **(params or {})}
        if not all(set(text) <= _SAFE for text in (path, *pairs, *pairs.values())):
            raise Unusual("a path or value to percent-encode")
        query = "&".join(f"{name}={value}" for name, value in pairs.items())
        started = time.monotonic()
        try:
            status, reason, headers, body = self._exchange(f"{path}?{query}")
        except _Failed as failed:
            raise Unusual(failed.kind, Attempt(self.endpoint, path, pairs, kind=failed.kind,
                                               detail=failed.detail, errno=failed.errno)) from None
        try:
            if status != 200:
                raise Unusual(f"status {status}")
            return validate(f"GET {path}", f"{self.endpoint}{path}?{query}", self.endpoint, status, reason,
                            headers, body, expect, time.monotonic() - started)
        except (Unusual, ImdsctlError) as err:  # the full client's to handle, from this answer on
            raise Unusual(str(err), Attempt(self.endpoint, path, pairs,
                                            answer=(status, reason, headers, body))) from None

    def _exchange(self, target: str) -> Tuple[int, str, Dict[str, str], bytes]:
        family, host, port = self._address
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Unusual("the budget is spent")
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        try:
            try:
                sock.settimeout(min(catalog.CONNECT_TIMEOUT, left))
                _connect(sock, (host, port))
            except _TIMEOUTS:
                raise _Failed(CONNECT_TIMED_OUT) from None
            except OSError as exc:
                raise _Failed(CONNECT_FAILED, _short(exc), exc.errno) from None
            authority = f"[{host}]:{port}" if family == _socket.AF_INET6 else f"{host}:{port}"
            try:
                sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {authority}\r\nMetadata: true\r\n"
                             f"User-Agent: imdsctl/{__version__}\r\nAccept-Encoding: identity\r\n"
                             "Connection: close\r\n\r\n".encode("ascii"))
                return _read(sock, self.deadline)
            except _TIMEOUTS:
                raise _Failed(READ_TIMED_OUT) from None
            except OSError as exc:
                raise _Failed(DROPPED, _short(exc)) from None
        finally:
            sock.close()


def _connect(sock: Any, address: Tuple[str, int]) -> None:
    """Connect ``sock`` (the seam the test suite's guard wraps: no packet off loopback)."""
    sock.connect(address)


def _read(sock: Any, deadline: float) -> Tuple[int, str, Dict[str, str], bytes]:
    """Status, reason, headers (lower-case names) and body of one answer read
    from ``sock`` by ``deadline``: Content-Length bodies only. A timeout once
    some of it came is an unfinished answer (_Failed), before any, TimeoutError."""
    received = [b""]
    try:
        return _parse(sock, deadline, received)
    except _TIMEOUTS:
        if received[0]:
            raise _Failed(UNFINISHED, str(len(received[0]))) from None
        raise


def _parse(sock: Any, deadline: float, received: List[bytes]) -> Tuple[int, str, Dict[str, str], bytes]:
    while b"\r\n\r\n" not in received[0]:
        received[0] += _recv(sock, deadline, "Server disconnected without sending a response.")
        if len(received[0]) > 65536:
            raise Unusual("headers too long")
    head, _, body = received[0].partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise Unusual("not an HTTP/1.x answer")
    headers: Dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise Unusual("a malformed header")
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers or headers.get("content-encoding", "identity") != "identity":
        raise Unusual("a coded body")
    length = headers.get("content-length", "")
    if not length.isdigit() or not length.isascii() or int(length) > MAX_BODY:
        raise Unusual("no usable Content-Length")
    while len(body) < int(length):
        chunk = _recv(sock, deadline, "peer closed connection without sending complete message body "
                                      f"(received {len(body)} bytes, expected {length})")
        received[0] += chunk
        body += chunk
    return int(code), reason, headers, body[:int(length)]


def _recv(sock: Any, deadline: float, closed: str) -> bytes:
    """More of the answer by ``deadline`` (TimeoutError after it, however it trickles)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the answer trickled in past the time budget")
    sock.settimeout(left)
    chunk = sock.recv(65536)
    if not chunk:
        raise _Failed(DROPPED, closed)
    return chunk
