"""What an IMDS answer must look like, whichever transport brought it.

``validate`` is the one policy for answers: a redirect or an HTML page means
something else answered; the body must be the JSON or text asked for;
410, 429 and 5xx are worth another attempt (``Retryable``); 404 is not
found; another 4xx is a refusal, with IMDS's own words on one line. The
client (httpx) applies it; no other module decides what an answer means.
"""

from __future__ import annotations

import json

from . import catalog
from .errors import ImdsHttpError, ImdsNotFoundError, NotImdsError, RefusedError, one_line

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, List, Mapping, Optional

MAX_BODY = 1 << 20  # 1 MiB: the whole instance document is a few KiB

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
                 retry_after: Optional[float] = None, connect: bool = False):
        super().__init__(reason)
        self.reason, self.http_error, self.retry_after = reason, http_error, retry_after
        self.connect = connect  #: the connection itself failed (nothing listening, no route)


def newest_versions(body: Any) -> List[str]:
    versions = body.get("newest-versions") if isinstance(body, dict) else None
    if isinstance(versions, list) and versions and all(isinstance(v, str) for v in versions):
        return versions
    return []


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
            body = json.loads(raw)
        except ValueError:
            if status == 200:
                raise NotImdsError(
                    f"{where} returned a body that is not JSON: {error_text(raw)!r}",
                    "something other than IMDS may be answering on " + endpoint) from None
    if status == 200:
        return Answer(status, headers, body, elapsed)
    reason = f"{status} {reason_phrase}".strip()
    detail = error_text(body) if raw.strip() else ""
    if detail.lower() == reason_phrase.lower():
        detail = ""  # {"error": "Gone"} says nothing the status line did not
    described = reason + (f": {detail}" if detail else "")
    kwargs = dict(status=status, body=body, url=url)
    if status in retry_statuses:
        retry_after = headers.get("retry-after", "")
        raise Retryable(described, ImdsHttpError(described, **kwargs),
                         float(retry_after) if retry_after.isdigit() else None)
    if status == 404:
        instance = where.split(" ", 1)[-1].startswith(catalog.INSTANCE_PATH + "/")
        raise ImdsNotFoundError(f"IMDS has nothing at {where} ({described})",
                                "check the path: keys are case-sensitive, indices 0-based" if instance
                                else None, **kwargs)
    raise RefusedError(f"IMDS refused {where}: {described}", None, **kwargs)

