"""A watch's notifications (`events watch --notify URL`): each change, and how
each handled event ended, POSTed to a webhook as JSON.

Sending never holds the watch up: ``send`` puts the notification on a
bounded queue (QUEUE_SIZE; when it is full the notification is dropped, and
that is said) and returns; one background thread POSTs them in order. Each
notification has BUDGET seconds: connection failures, timeouts, 429 and 5xx
are retried with back-off inside it; another status, or the budget spent,
gives it up with one line on stderr. Nothing about a webhook ends the watch.
On exit the queue gets FLUSH seconds to empty.

Formats: ``json`` sends the record itself, plus ``host`` and ``text`` (a line
for people); ``slack`` sends ``{"text": ...}``, which Slack's incoming
webhooks (and Teams', Mattermost's, Discord's /slack ones) take.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from typing import Any, Callable, Dict, Optional
from urllib.parse import urlsplit

from imdsctl.imds import internet
from imdsctl.reporter import SILENT

Record = Dict[str, Any]

FORMATS = ("json", "slack")
QUEUE_SIZE = 100
BUDGET = 10.0
ATTEMPT_TIMEOUT = 5.0
FLUSH = 5.0
_RETRY = frozenset({408, 429}) | frozenset(range(500, 600))
_STOP = object()


def text(record: Record, host: str) -> str:
    """The notification as one line for people."""
    event = record.get("event") or {}
    label = f"{event.get('EventType', '?')} {event.get('EventId', '?')}"
    if record.get("change") == "handled":
        return f"{host}: {label}: {record.get('outcome', '')}"
    resources = ", ".join(str(r) for r in event.get("Resources") or [])
    line = f"{host}: {record.get('change')} {label} {event.get('EventStatus', '')} on {resources or '?'}"
    if record.get("change") == "gone":
        return f"{host}: gone {label} (completed or cancelled)"
    return line + (f", not before {event['NotBefore']}" if event.get("NotBefore") else "")


def where(url: str) -> str:
    """A webhook URL as it may be logged: scheme and host only (the path of a
    Slack webhook is its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


class Notifier:
    """POST records to ``url`` from a background thread (see the module)."""

    def __init__(self, url: str, fmt: str = "json", *, post: Callable[..., int] = internet.post_webhook,
                 budget: float = BUDGET, attempt_timeout: float = ATTEMPT_TIMEOUT, flush: float = FLUSH,
                 queue_size: int = QUEUE_SIZE, log: Callable[[str], None] = SILENT.note,
                 host: Optional[str] = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, dropped: Callable[[], None] = lambda: None):
        if fmt not in FORMATS:
            raise ValueError(f"notification format {fmt!r} is not one of {', '.join(FORMATS)}")
        self.url, self.format = url, fmt
        self.host = host or socket.gethostname()
        self._post, self._log = post, log
        self.budget, self.attempt_timeout, self.flush = budget, attempt_timeout, flush
        self._sleep, self._clock, self._on_drop = sleep, clock, dropped
        self._queue: queue.Queue[Any] = queue.Queue(queue_size)
        self._closing: Optional[float] = None  # the clock time sending ends, once closing
        self._dropped = 0
        self.queued = self.sent = self.failed = 0
        self._thread = threading.Thread(target=self._run, name="imdsctl-notify", daemon=True)
        self._thread.start()

    def payload(self, record: Record) -> Any:
        line = text(record, self.host)
        if self.format == "slack":
            return {"text": line}
        return {**record, "host": self.host, "text": line}

    def send(self, record: Record) -> None:
        """Queue ``record``; never blocks (a full queue drops it, said once per run of drops)."""
        try:
            self._queue.put_nowait(self.payload(record))
            self.queued += 1
        except queue.Full:
            self._dropped += 1
            self._on_drop()
            if self._dropped == 1:
                self._log(f"notifications to {where(self.url)} are not keeping up: "
                          f"queue full ({self._queue.maxsize}), dropping")
            return
        if self._dropped:
            self._log(f"{self._dropped} notification(s) to {where(self.url)} dropped")
            self._dropped = 0

    def close(self, wait: bool = True) -> None:
        """Stop: with ``wait``, what is queued has FLUSH seconds (and the POST in
        flight its attempt's timeout) to go; what did not is said in one line."""
        self._closing = self._clock() + (self.flush if wait else 0.0)
        try:
            self._queue.put(_STOP, timeout=self.flush + self.attempt_timeout if wait else 0.001)
        except queue.Full:
            pass
        if not wait:
            return
        self._thread.join(self.flush + self.attempt_timeout)
        unsent = self.queued - self.sent - self.failed
        if unsent > 0:
            self._log(f"{unsent} notification(s) to {where(self.url)} not sent")

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        self.close(wait=kind is None)

    # -- the sending thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._closing is not None and self._clock() >= self._closing:
                continue  # too late: close() counts it as not sent
            self._deliver(item)

    def _deliver(self, payload: Any) -> None:
        """POST one payload, retrying inside its budget; one line if it fails."""
        started = self._clock()
        end = started + self.budget
        attempt, delay = 0, 0.5
        while True:
            if self._closing is not None:
                end = min(end, self._closing)
            attempt += 1
            timeout = max(0.05, min(self.attempt_timeout, end - self._clock()))
            try:
                status = self._post(self.url, payload, timeout=timeout)
                reason = f"answered {status}"
            except OSError as exc:
                status, reason = 0, str(exc)
            if 200 <= status < 300:
                self.sent += 1
                return
            if (status and status not in _RETRY) or self._clock() + delay >= end:
                self.failed += 1
                self._log(f"notification to {where(self.url)} failed: {reason} "
                          f"({attempt} attempt(s) in {self._clock() - started:.1f}s); not retried")
                return
            self._sleep(delay)
            delay = min(delay * 2, 4.0)
