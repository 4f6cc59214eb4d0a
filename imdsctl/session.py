"""What a command talks to: IMDS through one ImdsClient, or a snapshot.

``Settings`` is what every IMDS command was asked (the small context object
the command line builds once, at parse time); ``Session`` turns it into
answers. The domain modules (views, events, identity, ...) take a Session;
so can a program using imdsctl as a library (IMDSCTL_ENDPOINT, IMDSCTL_TIMEOUT
and IMDSCTL_API_VERSION apply as on the command line, an argument winning)::

    from imdsctl import Session, instance

    with Session(timeout=10) as imds:
        print(instance.compute(imds, "vm-id").data)

A Session says nothing on its own (its ``reporter`` is silent): the command
line gives it one that writes notes and spinners to stderr.
"""

from __future__ import annotations

from collections import namedtuple

from imdsctl import catalog
from imdsctl.errors import ImdsNotFoundError, UsageError
from imdsctl.imds import environ as env
from imdsctl.imds.environ import check_api_version  # noqa: F401  (the command line's check too)
from imdsctl.reporter import SILENT

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, List, Mapping, Optional

    from imdsctl.imds.handover import Attempt
    from imdsctl.imds.protocols import Client
    from imdsctl.reporter import Reporter

#: Where a setting came from: the command line, the environment, or its default.
COMMANDLINE, ENVIRONMENT, DEFAULT = "commandline", "environment", "default"

#: The environment variables imdsctl reads, documented in --help, the README and the man page.
VARIABLES = (
    ("IMDSCTL_ENDPOINT", f"IMDS base URL (default {catalog.DEFAULT_ENDPOINT})"),
    ("IMDSCTL_API_VERSION", f"instance api-version (default {catalog.DEFAULT_API_VERSION}, or 'latest')"),
    ("IMDSCTL_TIMEOUT",
     f"total time budget in seconds for all attempts (default {catalog.DEFAULT_TIMEOUT:g})"),
    ("IMDSCTL_OUTPUT", "default output format"),
    ("IMDSCTL_MAX_AGE", "answer get/compute/network from a snapshot younger than this (seconds)"),
    ("IMDSCTL_VIA", "the way to IMDS: auto (default: systemd-imds's socket when its route locks IMDS), "
                    "imds or systemd-imds (--via)"),
    ("IMDSCTL_SYSROOT", "for tests: a directory standing for / where DMI, /proc and systemd-imds's "
                        "socket are read"),
    ("IMDSCTL_CACHE_DIR", "where snapshots and the events watch's state are kept (default: a private "
                          "runtime directory)"),
    ("IMDSCTL_NOTIFY_URL", "events watch: the webhook each change is POSTed to (--notify)"),
    ("IMDSCTL_NOTIFY_FORMAT", "events watch: json or slack (--notify-format)"),
    ("NO_COLOR", "when set and not empty, never colour output (https://no-color.org)"),
)


class Settings(namedtuple("Settings", "endpoint api_version timeout debug endpoint_from api_version_from via",
                          defaults=(catalog.DEFAULT_ENDPOINT, None, catalog.DEFAULT_TIMEOUT, False, DEFAULT,
                                    DEFAULT, "auto"))):
    """What an IMDS command was asked (endpoint, api_version, timeout, debug),
    where the endpoint and the api-version came from (COMMANDLINE,
    ENVIRONMENT or DEFAULT), and the way to IMDS (``via``: imds, systemd-imds,
    or auto: systemd-imds's Varlink socket when its route locks IMDS away).
    The endpoint is checked when settings are built (imdsctl.imds.endpoint.checked:
    a UsageError, exit 2, before any request)."""

    __slots__ = ()

    def __new__(cls, endpoint: str = catalog.DEFAULT_ENDPOINT, *rest: Any, **fields: Any) -> Settings:
        from imdsctl.imds.endpoint import checked

        return super().__new__(cls, checked(endpoint or catalog.DEFAULT_ENDPOINT), *rest, **fields)

    def api_version_for(self, endpoint: catalog.Endpoint) -> Optional[str]:
        """The api-version for an endpoint family, by its rule (api_version_for)."""
        return api_version_for(endpoint, self.api_version, self.api_version_from == ENVIRONMENT)

    @classmethod
    def from_environ(cls, environ: Optional[Mapping[str, str]] = None, *, endpoint: Optional[str] = None,
                     api_version: Optional[str] = None, timeout: Optional[float] = None,
                     debug: bool = False) -> Settings:
        """Settings from the arguments given, else from IMDSCTL_ENDPOINT, IMDSCTL_API_VERSION
        and IMDSCTL_TIMEOUT in ``environ`` (None: the process's; ``{}``: none), else the
        defaults; each remembering where it came from."""
        environ = env.environment(environ)
        endpoint_from = api_version_from = COMMANDLINE
        if endpoint is None:
            endpoint = env.read(environ, env.ENDPOINT, str)
            endpoint_from = ENVIRONMENT if endpoint else DEFAULT
        if api_version is None:
            api_version = env.read(environ, env.API_VERSION, check_api_version)
            api_version_from = ENVIRONMENT if api_version else DEFAULT
        if timeout is None:
            timeout = env.read(environ, env.TIMEOUT, env.timeout)
        return cls(endpoint or catalog.DEFAULT_ENDPOINT, api_version,
                   catalog.DEFAULT_TIMEOUT if timeout is None else timeout, debug, endpoint_from,
                   api_version_from)


def api_version_for(endpoint: catalog.Endpoint, asked: Optional[str],
                    from_env: bool = False) -> Optional[str]:
    """The api-version to send to ``endpoint`` when the user asked for ``asked``
    (``from_env``: through IMDSCTL_API_VERSION rather than --api-version).

    None means the instance api-version of the client (the default, with its
    single fall-back, or 'latest' resolved from /metadata/versions). Families
    with versions of their own ignore IMDSCTL_API_VERSION, give 'latest' their
    own meaning or refuse it, and may refuse versions they do not list
    (UsageError)."""
    if not asked or (from_env and not endpoint.env_version):
        return endpoint.default
    if asked == "latest" and endpoint.latest is not None:
        if not endpoint.latest:
            raise UsageError(f"--api-version latest names the newest instance api-version, not one the "
                             f"{endpoint.label} endpoint is known to take",
                             f"leave it out ({endpoint.label} uses {endpoint.default}) or name a version")
        return endpoint.latest
    if endpoint.strict and asked not in (endpoint.versions or ()):
        raise UsageError(f"{asked} is not a {endpoint.label} api-version; choose from "
                         f"{', '.join(endpoint.versions or ())}",
                         f"{endpoint.label.lower()} have their own api-versions: leave --api-version out "
                         f"for {endpoint.default}")
    return asked


#: When the command began (time.monotonic()), set by the entry point: the time budget bounds
#: the whole command, so a client created later gets what is left of it.
_BEGAN: Optional[float] = None


def begin(at: float) -> None:
    """Start the command's time budget at ``at`` (time.monotonic())."""
    global _BEGAN
    _BEGAN = at


def remaining(timeout: float) -> float:
    """What is left of a budget of ``timeout`` seconds begun with the command."""
    import time

    return timeout if _BEGAN is None else max(timeout - (time.monotonic() - _BEGAN), 0.001)


class Session:
    """IMDS through one ImdsClient, created on first use (so a command that
    needs no request never imports httpx), or, after use_cache(), a snapshot
    of the instance document (imdsctl.imds.snapshot).

    ``reporter`` hears the notes, spinners and --debug lines of what runs in
    this session (imdsctl.reporter); by default nothing is said. ``handover``
    is an attempt the quick path made and did not handle (imdsctl.imds.handover),
    for this session's client to take as its own.

    Without ``settings``, the keyword arguments given (endpoint, api_version,
    timeout, debug) win, and IMDSCTL_ENDPOINT, IMDSCTL_API_VERSION and
    IMDSCTL_TIMEOUT in ``environ`` (None: the process's environment; ``{}``:
    none) give the rest (Settings.from_environ)."""

    def __init__(self, settings: Optional[Settings] = None, *, reporter: Optional[Reporter] = None,
                 handover: Optional[Attempt] = None, environ: Optional[Mapping[str, str]] = None,
                 **fields: Any):
        self.settings = settings if settings is not None else Settings.from_environ(environ, **fields)
        self.reporter: Reporter = reporter if reporter is not None else SILENT
        self._handover = handover
        self._client: Optional[Client] = None
        self._document: Any = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self.varlink()
        if self._client is None:
            from imdsctl.imds.client import ImdsClient

            s = self.settings
            self._client = ImdsClient(s.endpoint, s.api_version, timeout=remaining(s.timeout),
                                      debug=self.reporter.debug if s.debug else None, handover=self._handover,
                                      environ={})  # the settings read the environment already
        return self._client

    def varlink(self) -> Any:
        """A client of systemd-imds's Varlink socket, when ``via`` asks for it or finds it needed."""
        from imdsctl.imds import mediation

        path = mediation.varlink_path(self.settings.endpoint, self.settings.via)
        if path is None:
            return None
        import time

        from imdsctl.imds.varlink import VarlinkClient

        self.explain(f"reading through systemd-imds's Varlink socket {path}")
        deadline = time.monotonic() + remaining(self.settings.timeout)
        return VarlinkClient(path, deadline, self.settings.api_version)

    @property
    def api_version(self) -> str:
        """The instance api-version answers come in."""
        if self._document is not None and self.settings.api_version != "latest":
            return self.settings.api_version or catalog.DEFAULT_API_VERSION
        return self.client.api_version

    def explain(self, message: str) -> None:
        """A --debug line about where an answer came from."""
        if self.settings.debug:
            self.reporter.debug(message)

    def use_cache(self, max_age: float) -> bool:
        """Answer instance reads from a snapshot younger than max_age seconds,
        taking (and saving) a fresh one with a single request when there is
        none. True when an existing snapshot answers."""
        if max_age <= 0:
            return False
        from imdsctl.imds.snapshot import Cache

        cache = Cache(self.settings.endpoint, self.settings.api_version or catalog.DEFAULT_API_VERSION)
        self._document = cache.load(max_age)
        if self._document is not None:
            self.explain(f"answered from the snapshot {cache.path}")
            return True
        self.explain(f"cache: {cache.why_not}; fetching the instance document")
        self._document = self.client.instance()
        if not cache.store(self._document):
            self.explain(f"cache: {cache.why_not}")
        return False

    def use_document(self, document: Any) -> None:
        """Answer instance reads from ``document``, a snapshot already loaded."""
        self._document = document

    def instance(self, route: str = "") -> Any:
        if self._document is None:
            return self.client.instance(route)
        return _snapshot_walk(self._document, route)

    def leaf(self, route: str) -> Any:
        if self._document is None:
            return self.client.leaf(route)
        return _snapshot_walk(self._document, route)

    def loadbalancer(self) -> Any:
        # Always the documented load balancer version: --api-version names an instance one.
        body = self.client.request("GET", catalog.LOADBALANCER_PATH,
                                   api_version=catalog.LOADBALANCER_API_VERSION).body
        return body.get("loadbalancer", body) if isinstance(body, dict) else body

    def versions(self) -> List[str]:
        return self.client.versions()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _snapshot_walk(document: Any, route: str) -> Any:
    """A route in a snapshot, failing the way IMDS's 404 does."""
    try:
        return catalog.walk(document, route)
    except LookupError:
        raise ImdsNotFoundError(f"the snapshot has no {route}") from None
