"""`events watch --metrics` / `--metrics-file`: the series a Watcher's observer
keeps (imdsctl.events.metrics), /metrics and /healthz, the node_exporter file."""

from __future__ import annotations

import os
import stat
import sys
import threading
import urllib.request

import pytest

from imdsctl.errors import ImdsNotFoundError, NotImdsError, UnavailableError, UnreachableError
from imdsctl.events import metrics as watch_metrics
from imdsctl.events import observe
from imdsctl.events.notify import Notifier
from imdsctl.events.state import MAX_ATTEMPTS
from tests.lib.clock import FakeTime
from tests.lib.events import ID1, ID2, Scripted, doc, event, watcher
from tests.lib.helpers import ok


def value(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels)


def fresh(fake=None, **options):
    fake = fake or FakeTime()
    options = {"interval": 1.0, "timeout": 5.0, **options}
    return watch_metrics.Metrics(clock=fake.clock, now=fake.wall, **options), fake


def unavailable(status):
    return UnavailableError(f"IMDS kept answering {status}", status=status)


def test_the_series_follow_the_polls():
    scheduled = doc(2, event(ID1, kind="Reboot", in_seconds=600), event(ID2, kind="Preempt", in_seconds=30))
    started = doc(3, event(ID1, kind="Reboot", in_seconds=600), event(ID2, kind="Preempt", status="Started"))
    client = Scripted(scheduled, unavailable(410), unavailable(429), unavailable(503),
                      UnreachableError("no answer"), started, doc(4))
    metrics, _ = fresh()
    w, fake = watcher(client, output="none", observer=metrics, max_events=None)
    metrics._clock, metrics._now = fake.clock, fake.wall
    polls = []
    metrics.on_poll = _recording(metrics.on_poll, lambda: polls.append(_events(metrics)))
    with pytest.raises(IndexError):  # the script ends the loop
        w.run()
    assert polls[0] == {("Reboot", "Scheduled"): 1, ("Preempt", "Scheduled"): 1}
    assert polls[5] == {("Reboot", "Scheduled"): 1, ("Preempt", "Started"): 1}
    assert polls[6] == {}
    assert {o: value(metrics, "imdsctl_imds_requests_total", outcome=o) for o in observe.POLL_OUTCOMES} == {
        "ok": 3, "not_found": 0, "updating": 1, "throttled": 1, "server_error": 1, "unreachable": 1,
        "not_imds": 0}
    assert value(metrics, "imdsctl_scheduled_events_document_incarnation") == 4
    assert value(metrics, "imdsctl_imds_up") == 1
    assert value(metrics, "imdsctl_last_poll_timestamp_seconds") == pytest.approx(fake.wall(), abs=2)
    assert value(metrics, "imdsctl_info", version=watch_metrics.__version__, vm="vm1",
                 api_version="2020-07-01") == 1


def _recording(original, after):
    def on_poll(outcome, document):
        original(outcome, document)
        after()
    return on_poll


def _events(metrics):
    return {(s.labels["type"], s.labels["status"]): s.value
            for family in metrics.registry.collect() if family.name == "imdsctl_scheduled_events"
            for s in family.samples if s.value}


def test_imds_up_is_0_after_a_failed_poll_and_the_next_start_is_reckoned_when_scraped():
    metrics, fake = fresh()
    assert value(metrics, "imdsctl_imds_up") == 0
    metrics.on_poll("ok", doc(2, event(kind="Preempt", in_seconds=30)))
    left = value(metrics, "imdsctl_scheduled_event_next_start_seconds", type="Preempt")
    fake.sleep(10)
    assert value(metrics, "imdsctl_scheduled_event_next_start_seconds", type="Preempt") == \
        pytest.approx(left - 10, abs=0.01)
    assert value(metrics, "imdsctl_scheduled_event_next_start_seconds", type="Reboot") is None
    metrics.on_poll("throttled", None)
    assert value(metrics, "imdsctl_imds_up") == 0


def test_labels_come_from_fixed_sets_only():
    metrics, _ = fresh()
    metrics.on_poll("ok", doc(2, event(ID1, kind="Hibernate"), event(ID2, status="Paused")))
    assert _events(metrics) == {("other", "Scheduled"): 1, ("Reboot", "other"): 1}
    text = metrics.exposition()[0].decode()
    assert ID1 not in text and ID2 not in text and "vm1" not in text.replace('vm=""', "")


@pytest.mark.parametrize("err, outcome", [
    (unavailable(410), "updating"), (unavailable(429), "throttled"), (unavailable(500), "server_error"),
    (ImdsNotFoundError("404"), "not_found"), (UnreachableError("x"), "unreachable"),
    (NotImdsError("html"), "not_imds")])
def test_poll_outcomes(err, outcome):
    assert observe.poll_outcome(err) == outcome


def test_a_poll_that_ends_the_watch_is_counted():
    metrics, _ = fresh()
    w, _ = watcher(Scripted(NotImdsError("an HTML page")), output="none", observer=metrics)
    with pytest.raises(NotImdsError):
        w.run()
    assert value(metrics, "imdsctl_imds_requests_total", outcome="not_imds") == 1


def test_hooks_and_acknowledgements_are_counted(tmp_path):
    metrics, _ = fresh()
    client = Scripted(doc(2, event(ID1)), doc(3, event(ID1), event(ID2)), name="vm1")
    w, _ = watcher(client, output="none", observer=metrics, hook=f'test "$IMDS_EVENT_ID" = {ID1}',
                   approve=True, max_events=2)
    w.run()
    assert value(metrics, "imdsctl_hook_runs_total", outcome="succeeded") == 1
    assert value(metrics, "imdsctl_hook_runs_total", outcome="failed") == 1
    assert value(metrics, "imdsctl_hook_duration_seconds_count") == 2
    assert value(metrics, "imdsctl_acknowledgements_total", result="sent") == 1
    failing = Scripted(doc(2, event(ID1)), post_error=UnavailableError("500", status=500))
    w, _ = watcher(failing, output="none", observer=metrics, approve=True, max_events=1)
    w.run()
    assert value(metrics, "imdsctl_acknowledgements_total", result="failed") == 1


def test_a_hook_interrupted_too_often_counts_as_interrupted():
    metrics, _ = fresh()
    w, _ = watcher(Scripted(doc(2, event(ID1))), output="none", observer=metrics, hook="exit 0",
                   max_events=1)
    w.state.record(event(ID1), 0)["attempts"] = MAX_ATTEMPTS
    w.run()
    assert value(metrics, "imdsctl_hook_runs_total", outcome="interrupted") == 1
    assert value(metrics, "imdsctl_hook_duration_seconds_count") == 0


@pytest.mark.parametrize("ok_, text, outcome", [
    (True, "exited 0", "succeeded"), (False, "exited 3", "failed"),
    (False, "was killed by signal 9", "failed"),
    (False, "still running after 30s: killed", "timed_out"),
    (False, "interrupted 2 times: not run again", "interrupted")])
def test_hook_outcomes(ok_, text, outcome):
    assert observe.hook_outcome(ok_, text) == outcome


def test_dropped_notifications_are_counted():
    metrics, _ = fresh()
    release = threading.Event()

    def post(url, payload, timeout):
        release.wait(10)
        return 200

    notifier = Notifier("http://127.0.0.1:9/hook", post=post, queue_size=1,
                        dropped=metrics.on_notification_dropped)
    try:
        for _ in range(5):
            notifier.send({"change": "new", "event": event()})
    finally:
        release.set()
        notifier.close()
    assert value(metrics, "imdsctl_notifications_dropped_total") >= 3


def test_healthz_is_503_once_the_last_good_poll_is_older_than_three_intervals_and_the_timeout():
    metrics, fake = fresh(interval=2.0, timeout=5.0)
    assert metrics.healthy()[0] is False
    metrics.on_poll("ok", doc(1))
    fake.sleep(11)
    metrics.on_poll("unreachable", None)  # a failed poll does not make it fresh
    assert metrics.healthy()[0] is True
    fake.sleep(0.5)
    healthy, line = metrics.healthy()
    assert healthy is False and "limit 11s" in line


def _get(url, accept=None):
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_metrics_and_healthz_over_http_with_content_negotiation():
    metrics, fake = fresh()
    server = watch_metrics.serve(metrics, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _get(base + "/healthz")[0] == 503
        metrics.on_poll("ok", doc(2, event()))
        status, kind, body = _get(base + "/metrics")
        assert status == 200 and kind.startswith("text/plain; version=0.0.4")
        assert 'imdsctl_scheduled_events{status="Scheduled",type="Reboot"} 1.0' in body
        status, kind, body = _get(base + "/metrics", "application/openmetrics-text; version=1.0.0")
        assert kind.startswith("application/openmetrics-text") and body.endswith("# EOF\n")
        assert _get(base + "/healthz")[0] == 200
        assert _get(base + "/other")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_the_metrics_file_is_written_whole_after_every_poll_mode_0644(tmp_path):
    path = tmp_path / "imdsctl.prom"
    metrics, _ = fresh(path=str(path))
    old = os.umask(0o077)
    try:
        metrics.on_poll("ok", doc(2, event()))
    finally:
        os.umask(old)
    first = path.stat()
    assert stat.S_IMODE(first.st_mode) == 0o644
    assert 'imdsctl_scheduled_events{status="Scheduled",type="Reboot"} 1.0' in path.read_text()
    metrics.on_poll("ok", doc(3))
    assert path.stat().st_ino != first.st_ino  # renamed over, never rewritten in place
    assert 'type="Reboot"} 1.0' not in path.read_text()
    assert os.listdir(tmp_path) == ["imdsctl.prom"]  # no temporary file left


def test_a_metrics_file_that_cannot_be_written_is_said_not_fatal(tmp_path):
    said = []
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    metrics, _ = fresh(path=str(tmp_path / "link"), log=said.append)
    metrics.on_poll("ok", doc(1))
    assert len(said) == 1 and "could not write the metrics file" in said[0]
    assert not (tmp_path / "elsewhere").exists()


def test_without_prometheus_client_the_options_exit_2_naming_the_extra(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "imdsctl.events.metrics")
    monkeypatch.delattr(sys.modules["imdsctl.events"], "metrics")
    result = ok(run("events", "watch", "--once", "--metrics-file", "x.prom"), 2)
    assert "pip install 'imdsctl[metrics]'" in result.stderr


@pytest.mark.parametrize("given", ["localhost", "1.2.3.4:http", "::1:9108", "127.0.0.1:70000"])
def test_a_bad_metrics_address_is_a_usage_error(run, given):
    assert "HOST:PORT" in ok(run("events", "watch", "--once", "--metrics", given), 2).stderr


def test_a_watch_without_metrics_does_not_import_prometheus_client():
    import subprocess

    code = ("import sys, imdsctl.cli.events, imdsctl.events.watch, imdsctl.events.observe; "
            "sys.exit('prometheus_client' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@pytest.mark.e2e
def test_a_watch_serves_metrics_and_healthz_against_the_emulator(imds_emulator):
    import socket
    import time

    from imdsctl.emulator import events as se
    from tests.lib.events import Watch

    se.attach(imds_emulator.service, events=("Terminate",))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    watch = Watch("--interval", "0.5", "--metrics", str(port), "-o", "json")
    try:
        watch.until(lambda lines: len(lines) == 1)
        deadline = time.monotonic() + 30
        while True:  # the first poll's answer is on stdout before the observer has it
            status, _, body = _get(f"http://127.0.0.1:{port}/metrics")
            if 'imdsctl_scheduled_events{status="Scheduled",type="Terminate"} 1.0' in body:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.2)
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        code, _, err = watch.stop()
    assert code == 0 and f"imdsctl: metrics at http://127.0.0.1:{port}/metrics\n" in err


@pytest.mark.parametrize("given, address", [
    ("9108", ("127.0.0.1", 9108)), (":9108", ("127.0.0.1", 9108)), ("0.0.0.0:9108", ("0.0.0.0", 9108)),
    ("[::1]:9108", ("::1", 9108)), ("[::]:0", ("::", 0))])
def test_metrics_addresses(given, address):
    from imdsctl.cli.events import _listen

    assert _listen(None, None, given) == address


def test_a_port_in_use_is_a_usage_error_before_any_poll(run):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = ok(run("events", "watch", "--once", "--metrics", f"127.0.0.1:{port}"), 2)
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
