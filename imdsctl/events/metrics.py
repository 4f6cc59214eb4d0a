"""A watch's metrics (`events watch --metrics HOST:PORT`, `--metrics-file PATH`):
Prometheus series kept by an observer of the watch (imdsctl.events.observe).

``Metrics`` hears each poll, hook, acknowledgement and dropped notification
and keeps the series below in a registry of its own (prometheus_client, the
library Prometheus publishes; this module is imported only when metrics are
asked for). Labels take values from fixed sets only: never an event id or a
resource name (a series per event would grow without bound).

- ``imdsctl_scheduled_events{type,status}``: the events listed now, by
  EventType (Freeze ... Terminate, other) and EventStatus (Scheduled, Started, other);
- ``imdsctl_scheduled_event_next_start_seconds{type}``: seconds until the soonest
  NotBefore of that type, reckoned when scraped (absent when none is Scheduled);
- ``imdsctl_scheduled_events_document_incarnation``;
- ``imdsctl_hook_runs_total{outcome}`` and the ``imdsctl_hook_duration_seconds`` histogram;
- ``imdsctl_acknowledgements_total{result}``;
- ``imdsctl_imds_requests_total{outcome}`` (one per poll: how it ended) and
  ``imdsctl_imds_up`` (1 when the last poll got the document);
- ``imdsctl_last_poll_timestamp_seconds`` (the last poll that got the document),
  ``imdsctl_notifications_dropped_total`` and ``imdsctl_info{version,vm,api_version}``.

``serve`` answers ``/metrics`` (the Prometheus text format, or OpenMetrics when
the Accept header asks) and ``/healthz`` (200 while the last successful poll is
younger than three intervals plus the timeout, else 503) from a thread.
``write`` puts the text format in a file for node_exporter's textfile collector,
atomically and readable by others (imdsctl.files.write_readable, mode 0644).
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder, generate_latest

from imdsctl import __version__, files
from imdsctl.events import scheduled
from imdsctl.events.observe import ACK_RESULTS, HOOK_OUTCOMES, POLL_OUTCOMES, Document

TYPES = ("Freeze", "Reboot", "Redeploy", "Preempt", "Terminate")
STATUSES = ("Scheduled", "Started")
OTHER = "other"
#: Hooks drain nodes: seconds to a quarter of an hour.
HOOK_BUCKETS = (0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)


class Metrics:
    """The watch's series (see the module); ``interval`` and ``timeout`` are the
    watch's (for /healthz), ``log`` says a metrics file that could not be written."""

    def __init__(self, *, interval: float, timeout: float, path: Optional[str] = None,
                 log: Callable[[str], None] = lambda line: None, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], float] = time.time):
        self.interval, self.timeout, self.path = interval, timeout, path
        self._log, self._clock, self._now = log, clock, now
        self._lock = threading.Lock()
        self._document: Optional[Document] = None
        self._up = False
        self._last_ok: Optional[float] = None        # clock time of the last poll that got the document
        self._last_ok_wall: Optional[float] = None
        self._info = {"version": __version__, "vm": "", "api_version": ""}
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = _counter("imdsctl_imds_requests", "Polls of scheduled events, by how they ended.",
                                 "outcome", POLL_OUTCOMES, self.registry)
        self.hooks = _counter("imdsctl_hook_runs", "Hooks this watch ran, by how they ended.", "outcome",
                              HOOK_OUTCOMES, self.registry)
        self.acks = _counter("imdsctl_acknowledgements", "Acknowledgements sent, by result.", "result",
                             ACK_RESULTS, self.registry)
        self.dropped = Counter("imdsctl_notifications_dropped", "Notifications dropped (queue full).",
                               registry=self.registry)
        self.hook_seconds = Histogram("imdsctl_hook_duration_seconds", "How long hooks ran.",
                                      buckets=HOOK_BUCKETS, registry=self.registry)
        self.registry.register(_State(self))

    # -- the observer -----------------------------------------------------------------------

    def on_start(self, vm: Optional[str], api_version: str) -> None:
        with self._lock:
            self._info.update(vm=vm or "", api_version=api_version)

    def on_poll(self, outcome: str, document: Optional[Document]) -> None:
        self.requests.labels(outcome).inc()
        with self._lock:
            self._up = document is not None
            if document is not None:
                self._document = document
                self._last_ok, self._last_ok_wall = self._clock(), self._now()
        if self.path is not None:
            self.write()

    def on_hook(self, outcome: str, seconds: float) -> None:
        self.hooks.labels(outcome).inc()
        if outcome != "interrupted":  # an interrupted hook did not run this time
            self.hook_seconds.observe(seconds)

    def on_ack(self, result: str) -> None:
        self.acks.labels(result).inc()

    def on_notification_dropped(self) -> None:
        self.dropped.inc()

    # -- what is read -------------------------------------------------------------------------

    def healthy(self) -> Tuple[bool, str]:
        """(whether the last successful poll is recent enough, a line saying it)."""
        with self._lock:
            last = self._last_ok
        limit = 3 * self.interval + self.timeout
        if last is None:
            return False, "no successful poll yet\n"
        age = self._clock() - last
        if age > limit:
            return False, f"last successful poll {age:.1f}s ago (limit {limit:g}s)\n"
        return True, f"ok: last successful poll {age:.1f}s ago\n"

    def exposition(self, accept: str = "") -> Tuple[bytes, str]:
        """(the series, their content type) in the format ``accept`` asks for."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def write(self) -> None:
        """The series to ``path`` in the text format, atomically (mode 0644); a failure is said."""
        assert self.path is not None
        try:
            files.write_readable(self.path, generate_latest(self.registry))
        except OSError as err:
            self._log(f"could not write the metrics file {self.path}: {err.strerror or err}")

    def close(self) -> None:
        if self.path is not None:
            self.write()

    def snapshot(self) -> Tuple[Optional[Document], bool, Optional[float], Dict[str, str]]:
        with self._lock:
            return self._document, self._up, self._last_ok_wall, dict(self._info)


def _counter(name: str, text: str, label: str, values: Iterable[str], registry: CollectorRegistry) -> Counter:
    counter = Counter(name, text, [label], registry=registry)
    for value in values:  # every value of the fixed set is there from the start, at 0
        counter.labels(value)
    return counter


class _State:
    """The gauges read from the last document, reckoned when collected."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        document, up, last_wall, info = self.metrics.snapshot()
        yield from _events(document, self.metrics._now())
        if document is not None:
            yield GaugeMetricFamily("imdsctl_scheduled_events_document_incarnation",
                                    "DocumentIncarnation of the last document.",
                                    value=float(document.get("DocumentIncarnation") or 0))
        yield GaugeMetricFamily("imdsctl_imds_up", "1 when the last poll got the document.", value=float(up))
        if last_wall is not None:
            yield GaugeMetricFamily("imdsctl_last_poll_timestamp_seconds",
                                    "When the last poll got the document (Unix time).", value=last_wall)
        family = InfoMetricFamily("imdsctl", "The watch: imdsctl's version, this VM, the api-version.",
                                  labels=sorted(info))
        family.add_metric([info[k] for k in sorted(info)], {})
        yield family


def _events(document: Optional[Document], now: float) -> List[Metric]:
    """imdsctl_scheduled_events and imdsctl_scheduled_event_next_start_seconds for ``document``."""
    counts = {(t, s): 0 for t in TYPES for s in STATUSES}
    soonest: Dict[str, float] = {}
    for event in (document or {}).get("Events") or []:
        kind = event.get("EventType") if event.get("EventType") in TYPES else OTHER
        status = event.get("EventStatus") if event.get("EventStatus") in STATUSES else OTHER
        counts[(kind, status)] = counts.get((kind, status), 0) + 1
        at = scheduled.not_before(event) if status == "Scheduled" else None
        if at is not None:
            soonest[kind] = min(at, soonest.get(kind, at))
    pending = GaugeMetricFamily("imdsctl_scheduled_events", "Events listed now, by type and status.",
                                labels=["type", "status"])
    for (kind, status), count in counts.items():
        pending.add_metric([kind, status], count)
    start = GaugeMetricFamily("imdsctl_scheduled_event_next_start_seconds",
                              "Seconds until the soonest NotBefore of Scheduled events of this type.",
                              labels=["type"])
    for kind, at in sorted(soonest.items()):
        start.add_metric([kind], max(0.0, at - now))
    return [pending, start]


def serve(metrics: Metrics, host: str, port: int) -> ThreadingHTTPServer:
    """Answer /metrics and /healthz on (host, port) from a daemon thread; the server
    (``server_address`` has the port bound; ``shutdown()`` stops it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, content_type, status = *metrics.exposition(self.headers.get("Accept", "")), 200
            elif path == "/healthz":
                ok, line = metrics.healthy()
                body, content_type, status = line.encode(), "text/plain; charset=utf-8", 200 if ok else 503
            else:
                body, content_type, status = b"not found: try /metrics or /healthz\n", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a scrape a second is not news

    class MetricsServer(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    server = MetricsServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="imdsctl-metrics", daemon=True).start()
    return server

