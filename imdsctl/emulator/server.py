"""The HTTP transport (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive) and
the Emulator, the public handle on a running emulator."""

from __future__ import annotations

import re
import selectors
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterable, List, Optional, Union
from urllib.parse import parse_qsl, unquote, urlsplit

from . import attested
from .events import ScheduledEvents
from .faults import Fault, FaultPlan
from .messages import SERVER, Request, Response, error
from .profiles import DEFAULT_PROFILE, Profile, ProfileSource, load_profile
from .service import LoggedRequest, RequestLog, Service
from .throttle import DEFAULT_RATE, Throttle

#: The variables that point clients at an emulator: imdsctl's, and the Azure SDKs'.
CLIENT_VARIABLES = ("IMDSCTL_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST")

#: Request bodies are read (to keep the connection usable) up to this size.
MAX_BODY = 64 * 1024


class _Malformed(Exception):
    """A request the transport refuses before the service sees it."""


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into Requests for the Service and writes its Responses.
    Any method token reaches the service (which answers 405), never the
    stdlib's 501; the stdlib's own refusals of malformed requests are JSON 4xx."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def __getattr__(self, name: str) -> Callable[[], None]:
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def version_string(self) -> str:
        return SERVER

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        self.close_connection = True
        self.request_version = self.protocol_version  # a status line even for garbage
        self.log_error("code %d, message %s", code, message)
        self._send(error(code if code < 500 else 400, message or "Bad request"))

    def _serve(self) -> None:
        try:
            request = self._request()
        except _Malformed as exc:
            self.close_connection = True
            self._send(error(400, str(exc)))
            return
        try:
            response = self.server.service.handle(request)
        except Exception as exc:  # a bug in the emulator: say so in one line
            sys.stderr.write(f"imdsctl emulator: internal error: {type(exc).__name__}: {exc}\n")
            response = error(500, "Internal emulator error")
        self._send(response)

    def _request(self) -> Request:
        target, _, query = self.path.partition("?")
        query = query.partition("#")[0]
        if target.startswith(("http://", "https://")):  # absolute form, as sent to proxies
            target = urlsplit(target).path or "/"
        segments = target.split("/")
        if segments[0] == "":
            segments = segments[1:]
        if segments and segments[-1] == "":
            segments = segments[:-1]
        return Request(
            method=self.command,
            path=target,
            parts=tuple(unquote(s, errors="replace") for s in segments),
            query=query,
            params=tuple(parse_qsl(query, keep_blank_values=True)),
            headers=self.headers,
            client=self.client_address[0],
            body=self._body(),
        )

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") is not None:
            raise _Malformed("Bad request. Transfer-Encoding is not supported; send Content-Length")
        length = (self.headers.get("Content-Length") or "0").strip()
        if not re.fullmatch(r"[0-9]{1,12}", length):
            raise _Malformed("Bad request. Invalid Content-Length")
        if int(length) > MAX_BODY:
            raise _Malformed(f"Bad request. Request body is larger than {MAX_BODY} bytes")
        return self.rfile.read(int(length))

    def _send(self, response: Response) -> None:
        if response.reset:
            self._reset()
            return
        if response.delay and self.server.stopping.wait(response.delay):
            self.close_connection = True  # stopping: give up on the delayed answer
            return
        body, length = response.body, len(response.body)
        if response.truncate:
            body = body[: length // 2]
            length = max(length, len(body) + 1)
            self.close_connection = True
        self.send_response_only(response.status)
        self.send_header("Server", response.server)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection and not response.truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_request(response.status, len(body))

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the peer sees a reset (RST), not an orderly close."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.log_message('"%s" reset', self.requestline)


class _Server(ThreadingHTTPServer):
    """The listening socket, its accept loop and the connections it opened."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple, service: Service, verbose: bool, idle_timeout: float):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.service = service
        self.verbose = verbose
        self.idle_timeout = idle_timeout
        self.stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._connections: Dict[socket.socket, threading.Thread] = {}
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        super().__init__(address, _Handler)
        self.socket.setblocking(False)  # a connection gone before accept() must not block the loop

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's getfqdn() may wait on DNS
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer: one line when verbose, no traceback."""
        if self.verbose:
            exc = sys.exc_info()[1]
            sys.stderr.write(f"{client_address[0]} - connection error: {type(exc).__name__}: {exc}\n")

    def start(self) -> None:
        self._thread.name = f"imds-emulator:{self.server_port}"
        self._thread.start()

    def _accept_loop(self) -> None:
        # serve_forever() polls for shutdown; this loop wakes at once on stop().
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self.stopping.is_set():
                        self.handle_request()

    def stop(self, timeout: float) -> None:
        """Stop accepting, end open (keep-alive or delayed) connections, and wait
        up to ``timeout`` seconds for every thread."""
        deadline = time.monotonic() + timeout
        self.stopping.set()
        self._wake_w.send(b"\0")
        self._thread.join(timeout)
        self.server_close()
        self._wake_r.close()
        self._wake_w.close()
        with self._lock:
            open_now = list(self._connections.items())
        for connection, _ in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for _, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections[connection] = threading.current_thread()

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)


class Emulator:
    """A local, faithful IMDS on a loopback port.

    ``profile`` is a built-in name, a JSON file path, a parsed document or a
    Profile.  ``port=0`` takes a free port (see ``url`` after ``start()``).
    ``throttle`` applies IMDS's rate limit of ``rate`` requests per second;
    ``faults`` are Faults or spec strings armed from the start; ``control``
    serves the ``/_emulator/`` control channel.  ``events`` are scheduled
    events to add to the profile's (specs such as ``"Preempt@30"``, see
    imdsctl.emulator.events.SYNTAX), their times scaled by
    ``events_time_factor``; ``events_enable_delay`` delays the first
    scheduled-events answer, as IMDS does while it enables the feature.
    ``attested_ca`` and ``attested_key`` (PEM bytes or paths) supply the CA
    that signs attested documents (default: one generated per process, see
    ``attested_ca_pem``); ``attested_validity`` is their validity in seconds
    (default 6 h).  Use as a context manager or
    call ``start()`` and ``stop()``::

        with Emulator(profile="spot-vmss", throttle=False) as imds:
            imds.add_fault("410*2@/metadata/instance")
            run_my_client(imds.url)
            assert len(imds.requests) == 3
    """

    def __init__(self, profile: Union[ProfileSource, Profile] = DEFAULT_PROFILE,
                 host: str = "127.0.0.1", port: int = 0, *, throttle: bool = True,
                 rate: int = DEFAULT_RATE, faults: Iterable[Union[Fault, str]] = (),
                 control: bool = False, versions_require_metadata: bool = True,
                 verbose: bool = False, idle_timeout: float = 60.0, log_size: int = 10_000,
                 events: Iterable[Union[str, Any]] = (), events_time_factor: float = 1.0,
                 events_enable_delay: float = 0.0, attested_ca: Any = None, attested_key: Any = None,
                 attested_validity: Optional[float] = None):
        self.profile = profile if isinstance(profile, Profile) else load_profile(profile)
        self.host = host
        self._requested_port = port
        self._verbose = verbose
        self._idle_timeout = idle_timeout
        self.service = Service(
            self.profile,
            throttle=Throttle(rate) if throttle else None,
            faults=FaultPlan(_as_fault(f) for f in faults),
            log=RequestLog(log_size),
            control=control,
            versions_require_metadata=versions_require_metadata,
            scheduled_events=ScheduledEvents.for_profile(
                self.profile, time_factor=events_time_factor, enable_delay=events_enable_delay,
                events=events),
            signing=attested.Signing(),
        )
        if attested_ca is not None or attested_key is not None or attested_validity is not None:
            attested.configure(self.service, ca_cert=attested_ca, ca_key=attested_key,
                               validity=attested_validity)
        self._server: Optional[_Server] = None

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<Emulator {self.profile.name} {where}>"

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve from a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._server = _Server((self.host, self._requested_port), self.service,
                               self._verbose, self._idle_timeout)
        self._server.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and wait for the threads."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(timeout)

    def __enter__(self) -> Emulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port served (the real one when started with port 0)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: what IMDSCTL_ENDPOINT should be."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def environment(self) -> Dict[str, str]:
        """Environment variables pointing imdsctl and the Azure SDKs at this emulator."""
        return {name: self.url for name in CLIENT_VARIABLES}

    # -- what the control channel offers, in Python ---------------------------------

    def add_fault(self, fault: Union[Fault, str]) -> Fault:
        """Arm a fault (a Fault or a spec such as ``"503*2@/metadata/instance"``)."""
        armed = _as_fault(fault)
        self.service.faults.add(armed)
        return armed

    def clear_faults(self) -> None:
        self.service.faults.clear()

    @property
    def faults(self) -> List[Fault]:
        """The armed faults, with their remaining counts."""
        return self.service.faults.active()

    @property
    def requests(self) -> List[LoggedRequest]:
        """The requests answered so far (control channel excluded), oldest first."""
        return self.service.log.entries()

    def clear_requests(self) -> None:
        self.service.log.clear()

    def schedule_event(self, event: Union[str, Any], **fields: Any) -> Dict[str, Any]:
        """Schedule an event: a spec (``"Reboot"``, ``"Preempt@30"``), an EventSpec or
        its JSON form, with EventSpec fields as keywords (``resources=("vm1",)``).
        Returns the event as IMDS shows it, with its EventId."""
        return self.service.scheduled_events.schedule(event, **fields)

    @property
    def scheduled_events(self) -> ScheduledEvents:
        """The scheduled-events state: ``document()``, ``approve()``, ``cancel()``."""
        return self.service.scheduled_events

    @property
    def attested_ca_pem(self) -> bytes:
        """The CA certificates (PEM) attested documents chain to: what
        ``imdsctl attested verify --ca-file`` needs (needs cryptography)."""
        return attested.ca_bundle_pem(self.service)

    def reset_throttle(self) -> None:
        """Forget recent requests, as if the last second had been quiet."""
        if self.service.throttle is not None:
            self.service.throttle.reset()


def _as_fault(fault: Union[Fault, str]) -> Fault:
    return fault if isinstance(fault, Fault) else Fault.parse(fault)
