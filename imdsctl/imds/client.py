"""ImdsClient: the one way imdsctl talks to the Instance Metadata Service.

Usable as a library::

    from imdsctl.imds.client import ImdsClient
    with ImdsClient(timeout=10) as imds:
        vm_id = imds.leaf("compute/vmId")
        doc = imds.instance()

What it guarantees (each rule has a test in tests/test_client.py):

* ``Metadata: true`` on every request, never ``X-Forwarded-For``;
* proxies are never used, whatever HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY
  say (``trust_env=False``, no proxy mounts), redirects are never followed;
* one time budget per client bounds every attempt and every back-off sleep;
  connection errors, dropped or truncated answers, 410, 429 and 5xx are
  retried with exponential back-off and jitter, other 4xx never;
* an answer that cannot be IMDS (a redirect, an HTML page, a body that is
  not the JSON or text asked for, a body over the size cap) raises
  NotImdsError instead of being trusted;
* every failure is an ImdsctlError subclass carrying its exit code.

This module imports neither click nor rich.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import httpx

from imdsctl import __version__, catalog
from imdsctl.errors import (
    ImdsHttpError,
    NotImdsError,
    RefusedError,
    UnavailableError,
    UnreachableError,
    UsageError,
)
from imdsctl.imds import mediation
from imdsctl.imds.answers import MAX_BODY, RETRY_STATUSES, Answer, Retryable, newest_versions, validate
from imdsctl.imds.budget import Budget
from imdsctl.imds.endpoint import check_sendable, checked
from imdsctl.imds.environ import API_VERSION, ENDPOINT, TIMEOUT, check_api_version, environment, read
from imdsctl.imds.environ import timeout as env_timeout
from imdsctl.imds.handover import (
    CONNECT_FAILED,
    CONNECT_TIMED_OUT,
    DROPPED,
    READ_TIMED_OUT,
    UNFINISHED,
    Attempt,
    failing_hint,
    failure,
)
from imdsctl.imds.handover import instance_path as _instance_path
from imdsctl.imds.handover import short as _short
from imdsctl.imds.transport import BudgetTransport

DEFAULT_TIMEOUT = catalog.DEFAULT_TIMEOUT
DEFAULT_CONNECT_TIMEOUT = catalog.CONNECT_TIMEOUT

_BACKOFF_BASE = 0.25
_BACKOFF_CAP = 8.0
#: A retry is not started with less than this left after its back-off (or a
#: tenth of the budget, when that is less): it could only time out, and its
#: timeout would hide the status IMDS kept answering.
_MIN_ATTEMPT = 0.1


class ImdsClient:
    """A client of IMDS for one invocation (one httpx.Client, one time budget).

    ``api_version``: None means the newest version this release knows, with a
    single fall-back to the newest version IMDS lists if it refuses that one;
    ``"latest"`` resolves the newest from /metadata/versions; any other value
    is used as given and never changed.

    ``connect_attempts``: fail fast off Azure, be patient on it. While nothing
    has answered yet, this many failed connections (refused, unreachable, or
    timed out) end the request as unreachable before the budget does; once
    anything has answered, connection errors are retried until the budget
    ends. None retries them for the whole budget (``imdsctl wait``).

    ``handover``: the quick path's attempt (imdsctl.imds.handover.Attempt),
    taken as this client's first attempt at the same GET, within this budget.

    ``endpoint``, ``api_version`` and ``timeout`` not given (None) come from
    IMDSCTL_ENDPOINT, IMDSCTL_API_VERSION and IMDSCTL_TIMEOUT in ``environ``
    (None: the process's environment; ``{}``: none), as on the command line.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        api_version: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        debug: Optional[Callable[[str], None]] = None,
        max_body: int = MAX_BODY,
        transport: Optional[httpx.BaseTransport] = None,
        connect_attempts: Optional[int] = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        handover: Optional[Attempt] = None,
        environ: Optional[Mapping[str, str]] = None,
    ):
        environ = environment(environ)  # what is not given comes from IMDSCTL_* (imds/environ.py)
        endpoint = read(environ, ENDPOINT, str) if endpoint is None else endpoint
        api_version = read(environ, API_VERSION, check_api_version) if api_version is None else api_version
        timeout = read(environ, TIMEOUT, env_timeout) if timeout is None else timeout
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        endpoint = checked(endpoint or catalog.DEFAULT_ENDPOINT)
        if not 0 < timeout < float("inf"):  # also refuses NaN
            raise UsageError(f"timeout must be a positive number of seconds, got {timeout}")
        self.endpoint = endpoint
        self._explicit_version = api_version not in (None, "")
        self._api_version = api_version or catalog.DEFAULT_API_VERSION
        self._fell_back = False
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self._debug = debug
        self.max_body = max_body
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self.connect_attempts = connect_attempts
        self._answered = False  #: whether anything has answered an HTTP request yet
        #: The quick path's attempt, taken as this client's first when it asks the same (imds.handover).
        self._handover = handover
        self._budget = Budget(self.timeout, clock)  # kept on the socket by the transport
        if transport is None:
            transport = BudgetTransport(self._budget, https=endpoint.lower().startswith("https://"))
        self._http = httpx.Client(
            base_url=endpoint,
            headers={"Metadata": "true", "User-Agent": f"imdsctl/{__version__}",
                     "Accept-Encoding": "identity"},
            trust_env=False,
            follow_redirects=False,
            transport=transport,
        )
        #: (method, url, status or error, seconds) of every attempt, for collect/doctor.
        self.log: List[Tuple[str, str, str, float]] = []

    # -- context management -------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ImdsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API ---------------------------------------------------------

    @property
    def api_version(self) -> str:
        """The instance api-version requests use (after any resolution)."""
        if self._api_version == "latest":
            self._api_version = self.versions()[-1]
        return self._api_version

    def reset_budget(self, timeout: Optional[float] = None) -> None:
        """Start a new time budget (``timeout`` seconds, default the client's),
        for long-running callers that make one logical request after another."""
        if timeout is not None:
            self.timeout = float(timeout)
        self._budget.restart(self.timeout)

    def remaining(self) -> float:
        """Seconds left of this client's time budget."""
        return self._budget.remaining()

    def versions(self) -> List[str]:
        """The api-versions IMDS offers, oldest first."""
        answer = self.request("GET", catalog.VERSIONS_PATH, versioned=False)
        versions = answer.body.get("apiVersions") if isinstance(answer.body, dict) else None
        if not isinstance(versions, list) or not versions or not all(isinstance(v, str) for v in versions):
            raise NotImdsError(
                f"GET {catalog.VERSIONS_PATH} returned JSON without an apiVersions list",
                "something other than IMDS may be answering on " + self.endpoint)
        return sorted(versions, key=catalog.version_key)

    def instance(self, route: str = "") -> Any:
        """The JSON of /metadata/instance or of a container below it."""
        return self.request("GET", _instance_path(route)).body

    def leaf(self, route: str) -> str:
        """A leaf value below /metadata/instance, fetched with format=text."""
        return self.request("GET", _instance_path(route), params={"format": "text"},
                            expect="text").body

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Dict[str, str]] = None,
        expect: str = "json",
        versioned: bool = True,
        api_version: Optional[str] = None,
        json_body: Any = None,
        retry_statuses: frozenset = RETRY_STATUSES,
    ) -> Answer:
        """Send one logical request (with retries) and return a validated Answer.

        ``expect``: "json" (the body must be JSON), "text" (UTF-8 text, for
        format=text leaves) or "any" (any 2xx is success and the body is left
        as bytes: answers nobody reads, such as a scheduled-events POST).
        ``api_version`` overrides the instance api-version for endpoint
        families with their own version sets (scheduled events, identity).
        """
        while True:
            query: Dict[str, str] = {}
            if versioned:
                query["api-version"] = api_version or self.api_version
            query.update(params or {})
            check_sendable(f"{method} {path}", query, json_body)
            try:
                return self._with_retries(method, path, query, expect, json_body, retry_statuses)
            except RefusedError as err:
                newest = newest_versions(err.body)
                if api_version or not newest or not versioned:
                    raise
                if self._explicit_version or self._fell_back:
                    raise RefusedError(
                        f"IMDS refused api-version {query['api-version']} for {method} {path}; "
                        f"it offers {', '.join(newest)}",
                        "pass --api-version with one of those, or --api-version latest",
                        status=err.status, body=err.body, url=err.url) from None
                self._fell_back = True
                self._say(f"api-version {self._api_version} refused; falling back to {newest[0]}")
                self._api_version = newest[0]

    # -- internals ------------------------------------------------------------

    def _say(self, message: str) -> None:
        if self._debug is not None:
            self._debug(message)

    def _with_retries(self, method: str, path: str, query: Dict[str, str], expect: str,
                      json_body: Any, retry_statuses: frozenset) -> Answer:
        attempt, refused, started = 0, 0, self._clock()
        answered: Optional[ImdsHttpError] = None  # the last failure IMDS itself caused
        why: Tuple[Optional[int], bool] = (None, False)  # the last connect failure's errno, timed out
        where = f"{method} {path}"
        while True:
            remaining = self.remaining()
            try:
                if remaining <= 0 and not self._handed(method, path, query):
                    raise _BudgetSpent()
                return self._attempt(method, path, query, expect, json_body, remaining,
                                     retry_statuses)
            except Retryable as failure:
                reason, retry_after = failure.reason, failure.retry_after
                refused = refused + 1 if failure.connect else 0
                if failure.http_error is not None:
                    answered = failure.http_error
                if failure.connect:
                    why = (failure.errno, failure.timed_out)
            except _BudgetSpent:
                reason, retry_after = "time budget spent", None
            attempt += 1
            delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1)) * (0.5 + self._jitter() / 2)
            if retry_after is not None:
                delay = max(delay, retry_after)
            remaining = self.remaining()
            absent = not self._answered and self.connect_attempts is not None \
                and refused >= self.connect_attempts
            if delay + min(_MIN_ATTEMPT, self.timeout / 10) > remaining or absent:
                spent = f"{attempt} attempt(s) in {self._clock() - started:.1f}s"
                self._say(f"giving up on {where}: {reason}; {spent}, "
                          f"{max(remaining, 0):.2f}s of the {self.timeout:g}s budget left")
                if answered is not None:
                    raise UnavailableError(
                        f"IMDS kept failing for {where} ({reason}; {spent})", failing_hint(answered.status),
                        status=answered.status, body=answered.body, url=answered.url)
                raise self._unreachable(f"IMDS at {self.endpoint} did not answer {where}: {reason} ({spent})",
                                        absent, *why)
            self._say(f"retrying {where} in {delay:.2f}s ({reason}; attempt {attempt + 1}, "
                      f"{remaining:.2f}s left)")
            self._sleep(delay)

    def _unreachable(self, message: str, absent: bool, code: Optional[int], timed_out: bool
                     ) -> UnreachableError:
        """IMDS unreachable, with its cause when something on this machine stands in between
        (only at IMDS's own address: an explicit endpoint is what it is)."""
        hint = self._unreachable_hint(absent)
        if self.endpoint != catalog.DEFAULT_ENDPOINT:
            return UnreachableError(message, hint)
        cause, detail = mediation.unreachable(code, timed_out)
        return UnreachableError(message, mediation.CAUSES.get(cause, hint), cause=cause or "unreachable",
                                detail={"absent": "yes" if absent else "", **detail})

    def _unreachable_hint(self, absent: bool) -> str:
        then = "at boot, 'imdsctl wait' waits for IMDS" if absent else "or raise --timeout"
        if self.endpoint != catalog.DEFAULT_ENDPOINT:
            return (f"nothing answers at {self.endpoint}, which --endpoint or IMDSCTL_ENDPOINT named: is an "
                    "emulator running there ('imdsctl emulator serve')?"
                    + ("" if absent else " Or raise --timeout"))
        return ("not on an Azure VM, or no route to 169.254.169.254 (firewall, missing route, not the "
                f"primary NIC); {then}")

    def _attempt(self, method: str, path: str, query: Dict[str, str], expect: str,
                 json_body: Any, remaining: float, retry_statuses: frozenset) -> Answer:
        handed = self._handover if self._handed(method, path, query) else None
        if handed is not None:  # the quick path's attempt: this client's first, once
            self._handover = None
            return self._taken_over(path, query, handed, expect, retry_statuses)
        timeout = httpx.Timeout(remaining, connect=min(self.connect_timeout, remaining))
        started = self._clock()
        url = f"{self.endpoint}{path}"
        self._budget.received = 0
        try:
            with self._http.stream(method, path, params=query, json=json_body,
                                   timeout=timeout) as resp:
                url = str(resp.request.url)
                raw = self._read_capped(resp, url)
        except httpx.TimeoutException as exc:
            if self._budget.received:  # it began to answer and never finished
                raise self._failed(method, url, UNFINISHED, str(self._budget.received), started) from None
            kind = CONNECT_TIMED_OUT if isinstance(exc, httpx.ConnectTimeout) else READ_TIMED_OUT
            raise self._failed(method, url, kind, "", started) from None
        except httpx.ConnectError as exc:
            raise self._failed(method, url, CONNECT_FAILED, _short(exc), started,
                               mediation.errno_of(exc)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise self._failed(method, url, DROPPED, _short(exc), started) from None
        except httpx.DecodingError as exc:
            raise NotImdsError(f"the answer to {method} {path} could not be decoded ({_short(exc)})",
                               "IMDS sends plain bodies: something else is answering on "
                               + self.endpoint) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise UsageError(f"bad endpoint {self.endpoint!r}: {_short(exc)}") from None
        elapsed = self._clock() - started
        self._answered = True
        self._record(method, url, str(resp.status_code), started)
        self._say(f"{method} {url} -> {resp.status_code} ({elapsed * 1000:.1f} ms, {len(raw)} bytes)")
        return validate(f"{method} {path}", url, self.endpoint, resp.status_code, resp.reason_phrase,
                        resp.headers, raw, expect, elapsed, retry_statuses)

    def _read_capped(self, resp: httpx.Response, url: str) -> bytes:
        declared = resp.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body:
            raise NotImdsError(f"the answer to GET {url} declares {declared} bytes, "
                               f"over the {self.max_body}-byte cap: not an IMDS answer")
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            if self.remaining() <= 0:  # a read timeout bounds each read, not a trickle of them
                raise httpx.ReadTimeout("the answer trickled in past the time budget")
            size += len(chunk)
            if size > self.max_body:
                raise NotImdsError(f"the answer to {resp.request.method} {url} is over the "
                                   f"{self.max_body}-byte cap: not an IMDS answer")
            chunks.append(chunk)
        return b"".join(chunks)

    def _handed(self, method: str, path: str, query: Dict[str, str]) -> bool:
        """Whether this request is the one the quick path handed over."""
        handed = self._handover
        return method == "GET" and handed is not None and handed.matches(self.endpoint, path, query)

    def _failed(self, method: str, url: str, kind: str, detail: str, started: float,
                errno: Optional[int] = None) -> Retryable:
        """The attempt at ``url`` failed as ``kind`` (handover.failure's words): logged, to be raised."""
        outcome, retryable = failure(kind, detail, url, errno)
        self._record(method, url, outcome, started)
        return retryable

    def _taken_over(self, path: str, query: Dict[str, str], handed: Attempt,
                    expect: str, retry_statuses: frozenset) -> Answer:
        """The quick path's attempt, as this client's own: its answer validated,
        or its failure raised, as an attempt over httpx would."""
        url = f"{self.endpoint}{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        if handed.answer is None:
            raise self._failed("GET", url, handed.kind, handed.detail, self._clock(), handed.errno)
        status, phrase, headers, raw = handed.answer
        self._answered = True
        self.log.append(("GET", url, str(status), 0.0))
        return validate(f"GET {path}", url, self.endpoint, status, phrase, httpx.Headers(headers), raw,
                        expect, 0.0, retry_statuses)

    def _record(self, method: str, url: str, outcome: str, started: float) -> None:
        self.log.append((method, url, outcome, self._clock() - started))


class _BudgetSpent(Exception):
    pass
