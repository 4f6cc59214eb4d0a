"""Notifications (`events watch --notify`): internet.post_webhook and the
Notifier against a webhook receiver on 127.0.0.1 that answers, fails, is
slow, and refuses. Back-off sleeps are injected; every wait is bounded."""

from __future__ import annotations

import json
import threading
import time

import pytest

from imdsctl.events.notify import Notifier, text, where
from imdsctl.imds import internet
from tests.lib.clock import FakeTime
from tests.lib.receiver import Receiver, closed_port_url

EVENT = {"EventId": "C7061BAC-AFDC-4513-B24B-AA5F13A16123", "EventStatus": "Scheduled",
         "EventType": "Preempt", "ResourceType": "VirtualMachine", "Resources": ["vm1"],
         "NotBefore": "Mon, 11 Apr 2044 22:26:58 GMT"}
NEW = {"change": "new", "DocumentIncarnation": 2, "event": EVENT}
HANDLED = {"change": "handled", "DocumentIncarnation": 2, "event": EVENT, "hook": "exited 0",
           "acknowledged": True, "outcome": "hook exited 0; acknowledged"}


@pytest.fixture
def receivers():
    started = []

    def start(*script):
        started.append(Receiver(*script))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


class Log(list):
    """A log that records lines (the Notifier's stderr)."""

    def __call__(self, line):
        self.append(line)


def notifier(url, fmt="json", **options):
    """A Notifier on a fake clock (unless given one), its log and its sleeps."""
    log, fake = Log(), FakeTime()
    options = {"host": "node-7", "log": log, "sleep": fake.sleep, "clock": fake.clock, **options}
    return Notifier(url, fmt, **options), log, fake.sleeps


# -- post_webhook ------------------------------------------------------------------------------------


def test_post_webhook_sends_json_and_returns_the_status(receivers):
    receiver = receivers(202)
    assert internet.post_webhook(receiver.url, {"a": 1}) == 202
    request = receiver.requests[0]
    assert (request["method"], request["body"]) == ("POST", {"a": 1})
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"].startswith("imdsctl/")


def test_post_webhook_failures_are_oserrors_or_valueerrors():
    with pytest.raises(ValueError):
        internet.post_webhook("ftp://127.0.0.1/x", {})
    with pytest.raises(OSError):
        internet.post_webhook(closed_port_url(), {}, timeout=1)


def test_post_webhook_honours_proxies_from_the_environment(receivers, monkeypatch):
    """A webhook is an internet service: HTTP_PROXY applies (unlike IMDS)."""
    proxy = receivers()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server.server_address[1]}")
    assert internet.post_webhook("http://127.0.0.2:9/hook", {"via": "proxy"}, timeout=2) == 200
    assert proxy.requests[0]["target"] == "http://127.0.0.2:9/hook"  # the absolute form: a proxy request
    assert proxy.requests[0]["body"] == {"via": "proxy"}


# -- formats -------------------------------------------------------------------------------------------


def test_json_carries_the_record_the_host_and_a_line(receivers):
    receiver = receivers()
    with notifier(receiver.url)[0] as n:
        n.send(NEW)
        n.send(HANDLED)
    assert receiver.bodies() == [
        {**NEW, "host": "node-7",
         "text": f"node-7: new Preempt {EVENT['EventId']} Scheduled on vm1, not before {EVENT['NotBefore']}"},
        {**HANDLED, "host": "node-7",
         "text": f"node-7: Preempt {EVENT['EventId']}: hook exited 0; acknowledged"}]


def test_slack_gets_text_only(receivers):
    receiver = receivers()
    with notifier(receiver.url, "slack")[0] as n:
        n.send({"change": "gone", "DocumentIncarnation": 3, "event": EVENT})
    gone = f"node-7: gone Preempt {EVENT['EventId']} (completed or cancelled)"
    assert receiver.bodies() == [{"text": gone}]


def test_lines_for_people_and_urls_for_logs():
    assert text({"change": "changed", "event": dict(EVENT, EventStatus="Started", NotBefore="")}, "h") == \
        f"h: changed Preempt {EVENT['EventId']} Started on vm1"
    assert where("https://hooks.slack.com/services/T0/B0/secret") == "https://hooks.slack.com"
    assert where("http://127.0.0.1:8080/x?token=s") == "http://127.0.0.1:8080"
    with pytest.raises(ValueError):
        Notifier("http://127.0.0.1:9/", "xml")


# -- failures: retried inside the budget, logged, never fatal --------------------------------------------


def test_5xx_and_429_are_retried_with_back_off(receivers):
    receiver = receivers(500, 429, 503)
    n, log, sleeps = notifier(receiver.url)
    n.send(NEW)
    n.close()
    assert len(receiver.requests) == 4 and n.sent == 1 and log == []
    assert sleeps == [0.5, 1.0, 2.0]


def test_another_status_is_not_retried_and_the_secret_is_not_logged(receivers):
    receiver = receivers(404)
    n, log, _ = notifier(receiver.url)
    n.send(NEW)
    n.close()
    port = receiver.server.server_address[1]
    assert len(receiver.requests) == 1 and n.failed == 1 and len(log) == 1
    assert log[0].startswith(f"notification to http://127.0.0.1:{port} failed: answered 404 "
                             "(1 attempt(s) in ")
    assert log[0].endswith("); not retried") and "secret-token" not in log[0]


def test_a_failing_receiver_is_given_up_within_the_budget(receivers):
    receiver = receivers(*[500] * 10)
    n, log, sleeps = notifier(receiver.url, budget=2.0)
    n.send(NEW)
    n.close()
    assert len(receiver.requests) == 3 and sleeps == [0.5, 1.0]  # a third back-off would end past 2 s
    assert n.failed == 1 and len(log) == 1 and "answered 500 (3 attempt(s) in 1.5s)" in log[0]


def test_a_refusing_receiver_is_logged_once_per_notification():
    n, log, sleeps = notifier(closed_port_url(), budget=1.0)
    n.send(NEW)
    n.send(HANDLED)
    n.close()
    assert n.failed == 2 and len(log) == 2 and sleeps == [0.5, 0.5]
    assert all("failed:" in line and "refused" in line.lower() for line in log)


def test_a_slow_receiver_never_holds_the_watch_up(receivers):
    receiver = receivers(*[(200, 3.0)] * 5)
    n, log, _ = notifier(receiver.url, budget=0.4, attempt_timeout=0.2, flush=0.5,
                         clock=time.monotonic, sleep=time.sleep)
    started = time.monotonic()
    for _ in range(3):
        n.send(NEW)
    assert time.monotonic() - started < 0.05  # send() only queues
    n.close()
    assert time.monotonic() - started < 0.5 + 0.2 + 0.5  # close: FLUSH and one attempt, no more
    assert n.sent == 0 and "no answer within 0.2s" in log[0]
    assert n.failed == 3 or log[-1].endswith("not sent")


def test_a_full_queue_drops_and_says_so():
    entered, release = threading.Event(), threading.Event()

    def post(*args, **kwargs):
        entered.set()
        release.wait(5)
        return 200

    n, log, _ = notifier("http://127.0.0.1:9/", queue_size=1, post=post)
    n.send(NEW)
    assert entered.wait(5)  # the thread holds the first; the queue has room for one more
    for _ in range(3):
        n.send(NEW)
    assert log == ["notifications to http://127.0.0.1:9 are not keeping up: queue full (1), dropping"]
    release.set()
    n.close()
    assert n.sent == 2 and len(log) == 1


def test_close_delivers_what_is_queued(receivers):
    receiver = receivers()
    n, log, _ = notifier(receiver.url)
    for incarnation in range(5):
        n.send(dict(NEW, DocumentIncarnation=incarnation))
    n.close()
    assert [b["DocumentIncarnation"] for b in receiver.bodies()] == [0, 1, 2, 3, 4] and log == []


def test_close_without_waiting_returns_at_once(receivers):
    receiver = receivers((200, 2.0))
    n, log, _ = notifier(receiver.url)
    n.send(NEW)
    receiver.wait_for(1)
    started = time.monotonic()
    n.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert time.monotonic() - started < 0.2 and log == []


def test_payloads_are_json(receivers):
    receiver = receivers()
    with notifier(receiver.url)[0] as n:
        n.send(dict(NEW, event=dict(EVENT, Description="café \u2014 \"quoted\"")))
    assert json.loads(json.dumps(receiver.bodies()[0]))["event"]["Description"] == "café \u2014 \"quoted\""
