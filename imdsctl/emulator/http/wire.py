"""HTTP/1.1 on the wire, socket-free: request heads in, Requests for the
Service out, and Responses written as bytes.

What the transport (transport.py) refuses before the Service sees a request
is a JSON 4xx here (``BadRequest``), never an empty reply: a request line or
header it cannot parse (400), a request line over 64 KiB (414), headers over
64 KiB each, 100 in number or 128 KiB in all (431), HTTP/0.9 and HTTP/2 (400),
``Transfer-Encoding`` (400: bodies are sent with ``Content-Length``), a body
over 64 KiB (400) and a request-target that is not a URL (400). Limits follow
the stdlib's http.server where it has them; text is read as ISO-8859-1, as
there.
"""

from __future__ import annotations

import re
import time
from http import HTTPStatus
from typing import Any, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

from imdsctl.emulator.messages import Request, Response, error

MAX_LINE = 65536             #: the request line, and each header line
MAX_HEADERS = 100
MAX_HEAD = 2 * MAX_LINE      #: the whole head, request line included
MAX_BODY = 64 * 1024

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HEAD_END = re.compile(rb"\r?\n\r?\n")
#: A header field line: a token, a colon, a value without CR or LF (linear: no backtracking).
_FIELD = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):([^\r\n]*)\r?\n", re.MULTILINE)
_LENGTH = re.compile(r"[0-9]{1,12}\Z")
_VERSIONS = {"HTTP/1.1": (1, 1), "HTTP/1.0": (1, 0)}
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class BadRequest(Exception):
    """A request refused before the Service sees it: its status and error text."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        return error(self.status, str(self))


class Headers(Dict[str, str]):
    """Header fields by lower-case name (the first of a repeated field);
    ``get`` takes any case."""

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())


class Head(NamedTuple):
    """A request's line and header fields, parsed and checked."""

    method: str
    target: str
    requestline: str
    headers: Headers
    length: int                   #: of the body (Content-Length)
    close: bool                   #: whether the connection ends after the answer
    expect_continue: bool         #: whether the client waits for ``100 Continue``


def head_end(buffer: bytes, start: int = 0) -> int:
    """Where the head in ``buffer`` ends (after its blank line), or -1;
    ``start`` skips what an earlier call already scanned."""
    start = max(0, start - 3)
    crlf = buffer.find(b"\r\n\r\n", start)  # the usual case; a bare LF ending an earlier line is not
    if crlf >= 0 and buffer.find(b"\n\n", start, crlf) < 0 and buffer.find(b"\n\r\n", start, crlf + 3) < 0:
        return crlf + 4
    match = _HEAD_END.search(buffer, start)
    return match.end() if match else -1


def incomplete(buffer: bytes) -> Optional[BadRequest]:
    """The refusal of an unfinished head that is already too long, if any."""
    if len(buffer) > MAX_LINE and buffer.find(b"\n", 0, MAX_LINE + 2) < 0:
        return BadRequest(414, "Bad request. The request line is too long")
    if len(buffer) > MAX_HEAD:
        return BadRequest(431, "Bad request. The request header fields are too large")
    return None


def parse_head(data: bytes) -> Head:
    """The head ``data`` (up to and including its blank line), or BadRequest."""
    text = data.decode("latin-1")
    requestline, _, block = text.partition("\n")
    requestline = requestline[:-1] if requestline.endswith("\r") else requestline
    if len(requestline) > MAX_LINE - 2:
        raise BadRequest(414, "Bad request. The request line is too long")
    words = requestline.split()
    version = _VERSIONS.get(words[2]) if len(words) == 3 else None
    if version is None:
        version = _version(words)
    method, target = words[0], words[1]
    if target.startswith("//"):  # as http.server does: //path is not a network-path reference here
        target = "/" + target.lstrip("/")
    fields = _fields(block[:-2] if block.endswith("\r\n") else block[:-1])  # less the blank line
    if "transfer-encoding" in fields:
        raise BadRequest(400, "Bad request. Transfer-Encoding is not supported; send Content-Length")
    length = fields.get("content-length")
    if length is not None and not _LENGTH.match(length):
        raise BadRequest(400, "Bad request. Invalid Content-Length")
    size = int(length) if length else 0
    if size > MAX_BODY:
        raise BadRequest(400, f"Bad request. Request body is larger than {MAX_BODY} bytes")
    close = version < (1, 1)
    if "connection" in fields:
        options = {token.strip() for token in fields["connection"].lower().split(",")}
        close = "close" in options or (close and "keep-alive" not in options)
    expect = version >= (1, 1) and fields.get("expect", "").lower() == "100-continue"
    return Head(method, target, requestline, Headers(fields), size, close, expect)


def _version(words: List[str]) -> Tuple[int, int]:
    """The HTTP version of a request line other than the usual ones, or BadRequest."""
    if len(words) == 2 and words[0] == "GET":
        raise BadRequest(400, "Bad request. HTTP/0.9 is not supported; send HTTP/1.1")
    if len(words) != 3:
        raise BadRequest(400, "Bad request. The request line is not METHOD TARGET HTTP/1.1")
    version = words[2]
    numbers = version[5:].split(".") if version.startswith("HTTP/") else []
    if len(numbers) != 2 or not all(n.isdigit() and n.isascii() and len(n) <= 10 for n in numbers):
        raise BadRequest(400, f"Bad request. Bad HTTP version {version[:40]!r}")
    major, minor = int(numbers[0]), int(numbers[1])
    if major >= 2:
        raise BadRequest(400, f"Bad request. HTTP/{major}.{minor} is not supported; send HTTP/1.1")
    return major, minor


def _fields(block: str) -> Dict[str, str]:
    """The header field lines ``block`` by lower-case name (the first of a
    repeated field), or BadRequest."""
    lines = block.count("\n")
    if lines > MAX_HEADERS:
        raise BadRequest(431, f"Bad request. More than {MAX_HEADERS} header fields")
    if len(block) > MAX_LINE and any(len(line) > MAX_LINE for line in block.split("\n")):
        raise BadRequest(431, "Bad request. A header field is too long")
    pairs = _FIELD.findall(block)
    if len(pairs) != lines:
        raise BadRequest(400, "Bad request. BadRequest header field")
    fields: Dict[str, str] = {}
    for name, value in pairs:
        name, value = name.lower(), value.strip(" \t")
        if name not in fields:
            fields[name] = value
        elif name == "content-length" and fields[name] != value:
            raise BadRequest(400, "Bad request. Conflicting Content-Length fields")
    return fields


def request(head: Head, body: bytes, client: str, client_port: int = 0) -> Request:
    """The Request the Service answers, or BadRequest for a target that is not a URL."""
    target, _, query = head.target.partition("?")
    query = query.partition("#")[0]
    if target.startswith(("http://", "https://")):  # absolute form, as sent to proxies
        try:
            target = urlsplit(target).path or "/"
        except ValueError:
            raise BadRequest(400, "Bad request. The request target is not a valid URL") from None
    segments = target.split("/")
    if segments[0] == "":
        segments = segments[1:]
    if segments and segments[-1] == "":
        segments = segments[:-1]
    parts = tuple(unquote(s, errors="replace") for s in segments) if "%" in target else tuple(segments)
    return Request(head.method, target, parts, query, params(query), head.headers, client, body, client_port)


def params(query: str) -> Tuple[Tuple[str, str], ...]:
    """The query's (name, value) pairs, blank values kept: ``parse_qsl``'s answer,
    found faster when nothing in it is escaped."""
    if "%" in query or "+" in query:
        return tuple(parse_qsl(query, keep_blank_values=True))
    pairs = []
    for field in query.split("&"):
        name, equals, value = field.partition("=")
        if name or equals:
            pairs.append((name, value))
    return tuple(pairs)


def encode(response: Response, *, date: str, head_only: bool = False, close: bool = False) -> bytes:
    """The answer's bytes: status line, headers (``Connection: close`` when the
    connection ends after it, unless truncated) and body (none for HEAD; half
    of it under the full Content-Length when ``truncate``)."""
    body, length = response.body, len(response.body)
    if response.truncate:
        body = body[: length // 2]
        length = max(length, len(body) + 1)
    extra = "".join(f"{name}: {value}\r\n" for name, value in response.headers) if response.headers else ""
    if close and not response.truncate and ("Connection", "close") not in response.headers:
        extra += "Connection: close\r\n"
    server = f"Server: {response.server}\r\n" if response.server else ""  # a proxy's own answer has none
    head = (f"HTTP/1.1 {response.status} {_PHRASES.get(response.status, '')}\r\n{server}"
            f"Date: {date}\r\nContent-Type: {response.content_type}\r\nContent-Length: {length}\r\n"
            f"{extra}\r\n").encode("latin-1")
    return head if head_only else head + body


def http_date(seconds: float) -> str:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), whatever the locale."""
    t = time.gmtime(seconds)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")
