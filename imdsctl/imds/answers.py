"""What an IMDS answer must look like, whichever transport brought it.

``validate`` is the one policy for answers: a redirect or an HTML page means
something else answered; the body must be the JSON or text asked for;
410, 429 and 5xx are worth another attempt (``Retryable``); 404 is not
found; another 4xx is a refusal, with IMDS's own words on one line. The
client (httpx) applies it; no other module decides what an answer means.

``loads`` is the one JSON reader for what comes from outside (answers,
snapshots given to diff, the attested document): JSON that parses but that
IMDS never sends - nested deeper than MAX_DEPTH, NaN or Infinity (or a number
too big for a float), a lone surrogate that no output can encode - is
``Malformed``, with the path where it was found.
"""

from __future__ import annotations

import json
import math
import re

from imdsctl import catalog
from imdsctl.errors import ImdsHttpError, ImdsNotFoundError, NotImdsError, RefusedError, one_line

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, Dict, List, Mapping, Optional

MAX_BODY = 1 << 20  # 1 MiB: the whole instance document is a few KiB

#: The deepest JSON imdsctl accepts: the instance document is 7 levels deep.
MAX_DEPTH = 32

#: Statuses worth another attempt: IMDS updating (410), throttled (429), server errors.
RETRY_STATUSES = frozenset({410, 429}) | frozenset(range(500, 600))


class Answer:
    """A validated IMDS answer: status, headers and the decoded body."""

    __slots__ = ("status", "headers", "body", "elapsed")

    def __init__(self, status: int, headers: Mapping[str, str], body: Any, elapsed: float):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed


class Malformed(ValueError):
    """JSON that parses but that IMDS never sends; ``path`` (``compute/tagsList/0``) says where."""

    def __init__(self, what: str, path: str = ""):
        super().__init__(what + (f" at {one_line(path, 120)}" if path else ""))
        self.what, self.path = what, path

    def within(self, key: str) -> Malformed:
        """The same finding, one level further out."""
        return Malformed(self.what, f"{key}/{self.path}" if self.path else key)


class _NotFinite:
    """NaN, Infinity or a float that overflows, kept until its path is known."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _float(text: str) -> Any:
    number = float(text)
    return number if math.isfinite(number) else _NotFinite(text)


#: Only a \uD800-\uDFFF escape makes a lone surrogate: without one, strings need no check.
_SURROGATE_ESCAPE: Dict[type, re.Pattern[Any]] = {bytes: re.compile(rb"\\u[dD][89a-fA-F]"),
                                                  str: re.compile(r"\\u[dD][89a-fA-F]")}


def loads(raw: Any) -> Any:
    """JSON text (bytes or str) as Python values; ValueError when it is not JSON,
    Malformed (a ValueError) when it is JSON that IMDS never sends."""
    try:
        value = json.loads(raw, parse_constant=_NotFinite, parse_float=_float)
    except RecursionError:
        raise Malformed(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    escapes = _SURROGATE_ESCAPE[str if isinstance(raw, str) else bytes].search(raw)
    _check(value, 0, escapes is not None)
    return value


def check(value: Any) -> None:
    """Malformed at the first place ``value`` is not what JSON from IMDS holds:
    deeper than MAX_DEPTH, a number that is not finite, a lone surrogate."""
    _check(value, 0, True)


def _check(node: Any, depth: int, strings: bool) -> None:
    kind = type(node)
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            raise Malformed(f"JSON nested deeper than {MAX_DEPTH} levels")
        key: Any  # a str in an object (the only place _unicode reads it), an index in a list
        for key, child in (node.items() if kind is dict else enumerate(node)):
            if strings and kind is dict and not is_text(key):
                raise Malformed("a key that is not valid Unicode (a lone surrogate)")
            try:
                if type(child) in _CHECKED:
                    _check(child, depth + 1, strings)
            except Malformed as exc:
                raise exc.within(str(key)) from None
    elif kind is str:
        if strings and not is_text(node):
            raise Malformed("a string that is not valid Unicode (a lone surrogate)")
    elif kind is _NotFinite:
        raise Malformed(f"the number {node.text[:20]}, which is not finite")
    elif kind is float and not math.isfinite(node):  # made by Python, not parsed (a --query sum)
        raise Malformed(f"the number {node}, which is not finite")


_CHECKED = (dict, list, str, _NotFinite, float)


def is_text(text: str) -> bool:
    """Whether ``text`` is text a request or a document can carry (no lone surrogates)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


# -- the shapes views rely on -----------------------------------------------------------

_KINDS: Dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def shaped(value: Any, kind: type, where: str) -> Any:
    """``value`` when it has the shape IMDS documents (``kind``: dict, list or
    str), else NotImdsError naming ``where``: views take answers apart only
    through this check (and ``objects``)."""
    if not isinstance(value, kind):
        raise NotImdsError(f"{where} is {_kind_of(value)}, not {_KINDS[kind]}: not the shape IMDS gives it",
                           "something other than IMDS may be answering")
    return value


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return next((name for kind, name in _KINDS.items() if isinstance(value, kind)), "a value")


def objects(value: Any, where: str) -> List[Dict[str, Any]]:
    """A list of objects (absent or null: none), checked entry by entry."""
    if value is None:
        return []
    return [shaped(item, dict, f"{where}/{index}") for index, item in enumerate(shaped(value, list, where))]


def error_text(body: Any) -> str:
    """The message inside an IMDS error body ({"error"} or OAuth style), on one
    line, without control characters, at most 200 characters: it goes to stderr."""
    text = None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "error_description") if body.get(k)]
        text = ": ".join(parts) if parts else None
    if text is None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else \
            body if isinstance(body, str) else json.dumps(body)
    return one_line(text)


def looks_like_html(content_type: str, raw: bytes) -> bool:
    head = raw[:512].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


class Retryable(Exception):
    """A failure worth another attempt: ``http_error`` when IMDS itself answered it,
    ``connect`` when the connection itself failed (nothing listening, no route)."""

    def __init__(self, reason: str, http_error: Optional[ImdsHttpError] = None,
                 retry_after: Optional[float] = None, connect: bool = False, errno: Optional[int] = None,
                 timed_out: bool = False):
        super().__init__(reason)
        self.reason, self.http_error, self.retry_after = reason, http_error, retry_after
        self.connect = connect  #: the connection itself failed (nothing listening, no route)
        self.errno, self.timed_out = errno, timed_out  #: why it failed (mediation.unreachable)


def newest_versions(body: Any) -> List[str]:
    versions = body.get("newest-versions") if isinstance(body, dict) else None
    if isinstance(versions, list) and versions and all(isinstance(v, str) for v in versions):
        return versions
    return []


#: An identity answer's body may hold a token: only its status line is ever said
#: (its fields stay on the error, for the refusals identity.py explains).
_IDENTITY = catalog.IDENTITY_INFO_PATH.rsplit("/", 1)[0] + "/"


def _described(where: str, status: int, reason_phrase: str, body: Any, raw: bytes) -> str:
    """The status line, and IMDS's own words on one line (never an identity answer's)."""
    reason = f"{status} {reason_phrase}".strip()
    identity = where.split(" ", 1)[-1].startswith(_IDENTITY)
    detail = error_text(body) if raw.strip() and not identity else ""
    if detail.lower() == reason_phrase.lower():
        detail = ""  # {"error": "Gone"} says nothing the status line did not
    return reason + (f": {detail}" if detail else "")


def validate(where: str, url: str, endpoint: str, status: int, reason_phrase: str, headers: Mapping[str, str],
         raw: bytes, expect: str = "json", elapsed: float = 0.0,
         retry_statuses: frozenset = RETRY_STATUSES) -> Answer:
    """The Answer to ``where`` ("GET /metadata/instance") if ``raw`` (the body
    of an answer with ``status`` and ``headers`` from ``url``) is one IMDS
    could have sent, checked as ``expect`` says: "json" (the body must be
    JSON), "text" (UTF-8, for format=text leaves) or "any" (any 2xx, the body
    left as bytes). Otherwise NotImdsError (a redirect, HTML, a body that is
    not what was asked for), Retryable (a status worth another attempt),
    ImdsNotFoundError (404) or RefusedError (another 4xx)."""
    content_type = headers.get("content-type", "")
    if 300 <= status < 400:
        raise NotImdsError(
            f"{where} was redirected ({status}) to {headers.get('location', '?')}: "
            "IMDS never redirects, so something else answered",
            "check for a proxy or a captive portal; imdsctl ignores proxy variables")
    if looks_like_html(content_type, raw):
        raise NotImdsError(
            f"{where} got an HTML page (HTTP {status}) instead of IMDS's JSON",
            "a proxy, captive portal or local web server is answering on " + endpoint)
    body: Any = raw
    if 200 <= status < 300 and expect == "any":  # an answer whose body nobody reads
        return Answer(status, headers, raw, elapsed)
    if status == 200 and expect == "text":
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NotImdsError(f"{where} returned text that is not UTF-8") from None
        return Answer(status, headers, body, elapsed)
    if raw.strip() or status == 200:
        try:
            body = loads(raw)
        except Malformed as exc:
            if status == 200:
                raise NotImdsError(f"{where} returned JSON that IMDS never sends: {exc}",
                                   "something other than IMDS may be answering on " + endpoint) from None
        except ValueError:
            if status == 200:
                raise NotImdsError(
                    f"{where} returned a body that is not JSON: {error_text(raw)!r}",
                    "something other than IMDS may be answering on " + endpoint) from None
    if status == 200:
        return Answer(status, headers, body, elapsed)
    described = _described(where, status, reason_phrase, body, raw)
    kwargs = dict(status=status, body=body, url=url)
    if status in retry_statuses:
        retry_after = headers.get("retry-after", "").strip()
        seconds = float(retry_after) if retry_after.isascii() and retry_after.isdigit() else None  # not "²"
        raise Retryable(described, ImdsHttpError(described, **kwargs), seconds)
    if status == 404:
        instance = where.split(" ", 1)[-1].startswith(catalog.INSTANCE_PATH + "/")
        raise ImdsNotFoundError(f"IMDS has nothing at {where} ({described})",
                                "check the path: keys are case-sensitive, indices 0-based" if instance
                                else None, **kwargs)
    raise _refused(where, described, headers, raw, kwargs)


def _refused(where: str, described: str, headers: Mapping[str, str], raw: bytes,
             kwargs: Dict[str, Any]) -> RefusedError:
    """A refusal, said as the one who refused: IMDS, or what stands in front of it."""
    from imdsctl.imds.mediation import CAUSES, refusal  # only for a refusal: off the start-up path

    cause = refusal(kwargs["status"], headers, raw)
    if cause:
        who = "aad-pod-identity's NMI" if cause == "nmi" else "the Guest Proxy Agent"
        return RefusedError(f"{who} refused {where}: {described}", CAUSES[cause], cause=cause, **kwargs)
    return RefusedError(f"IMDS refused {where}: {described}", None, **kwargs)

