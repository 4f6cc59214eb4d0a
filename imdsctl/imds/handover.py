"""The one hand-over between the two HTTP paths, and the one word for a failed attempt.

The quick path (imdsctl.imds.quick) makes at most one attempt at a GET and,
when that attempt is not the plain happy path, raises Unusual carrying an
``Attempt``: what it sent (endpoint, path, query) and what came of it (an
answer, or a failure by kind). Whoever takes the request over passes that
object to the full client explicitly (``ImdsClient(..., handover=attempt)``,
``Session(..., handover=attempt)``), which takes it as its own first attempt
when, and only when, it asks the same endpoint for the same path and query;
nothing is kept at module level, so a second client never sees another's
attempt.

``failure`` says what a failed attempt means, for both paths: the reason
people read, the outcome the request log records, and whether IMDS itself
began to answer (a broken IMDS, not an absent one). Its messages are written
here once.
"""

from __future__ import annotations

from imdsctl import catalog
from imdsctl.errors import ImdsHttpError
from imdsctl.imds.answers import Retryable

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time: this is the start-up path
    from typing import Dict, Mapping, Optional, Tuple

#: The kinds of failed attempt: the connection timed out or was refused; no answer came in
#: time; the answer began and never finished (``detail``: the bytes received); the
#: connection dropped or the answer was cut short (``detail``: what the socket said).
CONNECT_TIMED_OUT, CONNECT_FAILED, READ_TIMED_OUT, UNFINISHED, DROPPED = (
    "connect timeout", "connect error", "read timeout", "unfinished", "dropped")


class Attempt:
    """One GET the quick path sent, and what came of it: ``answer`` (status,
    reason, headers, body) for an answer it does not handle, else ``kind`` and
    ``detail`` of its failure (and the connect's ``errno``, which tells what
    stands in the way: imdsctl.imds.mediation)."""

    __slots__ = ("endpoint", "path", "query", "answer", "kind", "detail", "errno")

    def __init__(self, endpoint: str, path: str, query: Mapping[str, str], *,
                 answer: Optional[Tuple[int, str, Dict[str, str], bytes]] = None,
                 kind: str = "", detail: str = "", errno: Optional[int] = None):
        self.endpoint, self.path = endpoint.rstrip("/"), path
        self.query = tuple(query.items())
        self.answer, self.kind, self.detail, self.errno = answer, kind, detail, errno

    def matches(self, endpoint: str, path: str, query: Mapping[str, str]) -> bool:
        """Whether a GET of ``path`` with ``query`` at ``endpoint`` is this attempt's request."""
        return (self.endpoint, self.path, self.query) == (endpoint.rstrip("/"), path, tuple(query.items()))

    def __repr__(self) -> str:
        came = f"answer {self.answer[0]}" if self.answer is not None else self.kind
        return f"Attempt(GET {self.endpoint}{self.path} {dict(self.query)}: {came})"


def failure(kind: str, detail: str, url: str, errno: Optional[int] = None) -> Tuple[str, Retryable]:
    """(the request log's outcome, the Retryable to raise) for an attempt at
    ``url`` that failed as ``kind``."""
    if kind == CONNECT_TIMED_OUT:
        return "timed out connecting", Retryable("timed out connecting", connect=True, timed_out=True)
    if kind == READ_TIMED_OUT:
        return "timed out waiting for the answer", Retryable("timed out waiting for the answer")
    if kind == CONNECT_FAILED:
        return "connect error", Retryable(f"cannot connect ({detail})", connect=True, errno=errno)
    if kind == UNFINISHED:  # it began to answer and never finished: a broken IMDS
        what = f"timed out with the answer unfinished ({detail} bytes)"
        return what, Retryable(what, ImdsHttpError(what, url=url))
    # Something listens and began to answer: a broken IMDS, not an absent one.
    reason = f"connection dropped or answer truncated ({detail})"
    return "dropped", Retryable(reason, ImdsHttpError(reason, url=url))


def failing_hint(status: int) -> str:
    """What to do about IMDS failing with ``status`` until the budget ran out."""
    if status in (404, 410):  # the identity endpoint answers 404 too while IMDS updates
        return (f"IMDS answers {status} while it is being updated, for up to 70 s: wait and retry, "
                "or raise --timeout")
    if status == 429:
        return ("IMDS allows 5 requests per second per VM: find what else polls it (and make it cache), "
                "or raise --timeout")
    if status >= 500:
        return (f"IMDS itself is failing ({status}): wait and retry, or raise --timeout; if it lasts, "
                "'imdsctl doctor' explains and 'imdsctl collect' gathers what a support case needs")
    return ("answers were cut off or stalled: a proxy or a firewall in the path may be interfering; "
            "retry, or raise --timeout")


def short(exc: BaseException) -> str:
    """An exception as one short line, for a reason."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]


def instance_path(route: str) -> str:
    """The URL path of an instance route (``compute/vmId``)."""
    route = route.strip("/")
    return catalog.INSTANCE_PATH + ("/" + route if route else "")
