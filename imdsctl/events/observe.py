"""What a watch tells an observer (`events watch --metrics`): each poll, each
hook, each acknowledgement, each notification dropped.

``Watcher`` calls its observer at these points and nowhere else; the observer
only listens (it never changes what the watch does). ``NOOP`` is the default;
imdsctl.events.metrics is the observer that keeps Prometheus series. The
outcomes are words from fixed sets (POLL_OUTCOMES, HOOK_OUTCOMES,
ACK_RESULTS), so that a metric labelled by them stays small.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Protocol

from imdsctl.errors import ImdsctlError, ImdsNotFoundError, NotImdsError, UnavailableError, UnreachableError

Document = Dict[str, Any]

#: How a poll of /metadata/scheduledevents ended.
POLL_OUTCOMES = ("ok", "not_found", "updating", "throttled", "server_error", "unreachable", "not_imds")
#: How a hook run by this watch ended.
HOOK_OUTCOMES = ("succeeded", "failed", "timed_out", "interrupted")
#: What became of an acknowledgement the watch sent.
ACK_RESULTS = ("sent", "failed")


class WatchObserver(Protocol):
    """What a Watcher tells (see the module)."""

    def on_start(self, vm: Optional[str], api_version: str) -> None:
        """Before the first poll: this VM's compute name (None: not read) and the api-version."""

    def on_poll(self, outcome: str, document: Optional[Document]) -> None:
        """A poll ended: one of POLL_OUTCOMES, and the document when it is "ok"."""

    def on_hook(self, outcome: str, seconds: float) -> None:
        """A hook ended (one of HOOK_OUTCOMES) after ``seconds``."""

    def on_ack(self, result: str) -> None:
        """An acknowledgement was sent and IMDS took it ("sent"), or it was not ("failed")."""

    def on_notification_dropped(self) -> None:
        """A notification was dropped: the webhook's queue was full."""


class NoObserver:
    """The observer that hears and does nothing."""

    def on_start(self, vm: Optional[str], api_version: str) -> None:
        pass

    def on_poll(self, outcome: str, document: Optional[Document]) -> None:
        pass

    def on_hook(self, outcome: str, seconds: float) -> None:
        pass

    def on_ack(self, result: str) -> None:
        pass

    def on_notification_dropped(self) -> None:
        pass


NOOP = NoObserver()


def poll_outcome(err: ImdsctlError) -> str:
    """The POLL_OUTCOMES word for a poll that failed with ``err``: 404 not_found,
    410 updating, 429 throttled, 5xx (and other statuses kept failing) server_error,
    no answer unreachable, an answer that is not IMDS's not_imds."""
    if isinstance(err, UnavailableError):
        return {410: "updating", 429: "throttled"}.get(err.status, "server_error")
    if isinstance(err, ImdsNotFoundError):
        return "not_found"
    if isinstance(err, UnreachableError):
        return "unreachable"
    if isinstance(err, NotImdsError):
        return "not_imds"
    return "server_error"


def hook_outcome(ok: bool, text: str) -> str:
    """The HOOK_OUTCOMES word for a hook's Outcome (imdsctl.events.hook)."""
    if ok:
        return "succeeded"
    if text.startswith("still running after"):
        return "timed_out"
    if text.startswith("interrupted"):
        return "interrupted"
    return "failed"
