"""`imdsctl events` against the emulator over real loopback sockets, with the
rate limit on as on a VM; watches run as processes and are stopped by signals.
Scenario time is compressed (emulator.events time_factor), every wait is bounded."""

from __future__ import annotations

import json
import signal
import time

import pytest

from imdsctl.emulator import events as se
from tests.lib.events import Watch
from tests.lib.helpers import ok

pytestmark = pytest.mark.e2e


@pytest.fixture
def scenario(imds_emulator):
    """Schedule events on the emulator: scenario(*specs, time_factor=1) -> its state."""
    def schedule(*specs: str, time_factor: float = 1.0, enable_delay: float = 0.0) -> se.ScheduledEvents:
        return se.attach(imds_emulator.service, time_factor=time_factor, enable_delay=enable_delay,
                         events=specs)
    return schedule


def methods(emulator):
    return [(r.method, r.status) for r in emulator.requests]


# -- list and ack -------------------------------------------------------------------------------------


def test_list_shows_the_emulators_document(run, imds_emulator, scenario):
    state = scenario("Reboot", "Preempt")
    assert json.loads(ok(run("events", "list")).stdout) == state.document()
    assert imds_emulator.requests[0].query == "api-version=2020-07-01"


def test_an_older_api_version_hides_newer_types_and_fields(run, scenario):
    scenario("Freeze", "Terminate")
    events = json.loads(ok(run("events", "list", "--api-version", "2017-08-01")).stdout)["Events"]
    assert [e["EventType"] for e in events] == ["Freeze"]
    assert "Description" not in events[0]


def test_the_first_call_waits_for_enablement(run, scenario):
    scenario(enable_delay=0.5)
    started = time.monotonic()
    ok(run("events", "list"))
    assert time.monotonic() - started >= 0.5


def test_ack_starts_an_event_early(run, imds_emulator, scenario):
    state = scenario("Reboot", "Freeze")
    reboot = state.document()["Events"][0]["EventId"]
    result = ok(run("events", "ack", reboot.lower(), "-o", "json"))
    assert json.loads(result.stdout) == [{"EventId": reboot, "EventType": "Reboot", "Acknowledged": True,
                                          "StatusBefore": "Scheduled", "StatusAfter": "Started"}]
    assert [e["EventStatus"] for e in state.document()["Events"]] == ["Started", "Scheduled"]
    assert methods(imds_emulator) == [("GET", 200), ("POST", 200), ("GET", 200)]
    text = ok(run("events", "ack", reboot, "-o", "text")).stdout  # every format says what it did
    assert "[0].StatusBefore\tStarted" in text and "[0].StatusAfter\tStarted" in text


def test_ack_of_an_unknown_id_exits_3_and_sends_nothing(run, imds_emulator, scenario):
    scenario("Reboot")
    result = ok(run("events", "ack", "C7061BAC-AFDC-4513-B24B-AA5F13A16123"), 3)
    assert "C7061BAC-AFDC-4513-B24B-AA5F13A16123" in result.stderr
    assert methods(imds_emulator) == [("GET", 200)]


def test_a_malformed_id_forced_through_is_refused_with_4(run, scenario):
    scenario()
    assert "Invalid EventId" in ok(run("events", "ack", "--force", "reboot-1"), 4).stderr


# -- watch -------------------------------------------------------------------------------------------


def test_watch_once(run, scenario):
    state = scenario("Reboot", "Freeze")
    result = ok(run("events", "watch", "--once"))
    document = state.document()
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"change": "new", "DocumentIncarnation": document["DocumentIncarnation"], "event": e}
        for e in document["Events"]]


def test_watch_once_ack_starts_an_event_early(run, imds_emulator, scenario):
    state = scenario("Reboot")
    ok(run("events", "watch", "--once", "--ack", "--exec", "exit 0"))
    assert state.document()["Events"][0]["EventStatus"] == "Started"
    assert [m for m, _ in methods(imds_emulator)] == ["GET", "GET", "POST"]  # name, events, ack


def test_watch_sees_scheduled_started_gone_and_runs_the_hook_once(imds_emulator, scenario, tmp_path):
    # Each transition is made when the watch has shown the one before: no race with scenario time.
    hook = tmp_path / "hook.sh"
    hook.write_text(f'env | grep ^IMDS_ | sort >> {tmp_path}/hook.log\necho ran >> {tmp_path}/runs\n')
    state = scenario("Reboot")
    event_id = state.document()["Events"][0]["EventId"]
    watch = Watch("--interval", "0.2", "--exec", f"sh {hook}")
    try:
        watch.until(lambda lines: len(lines) == 1)
        state.approve([event_id])
        watch.until(lambda lines: len(lines) == 2)
        state.cancel(event_id)
        seen = watch.until(lambda lines: len(lines) == 3)
    finally:
        code, _, err = watch.stop()
    assert [(r["change"], r["event"]["EventStatus"], r["event"]["EventId"]) for r in seen] == [
        ("new", "Scheduled", event_id), ("changed", "Started", event_id), ("gone", "Started", event_id)]
    assert (tmp_path / "runs").read_text() == "ran\n"
    logged = dict(line.split("=", 1) for line in (tmp_path / "hook.log").read_text().splitlines())
    assert (logged["IMDS_EVENT_ID"], logged["IMDS_EVENT_TYPE"], logged["IMDS_EVENT_STATUS"]) == \
        (event_id, "Reboot", "Scheduled")
    assert code == 0 and err.endswith("imdsctl: stopped (SIGTERM)\n")
    assert 429 not in [status for _, status in methods(imds_emulator)]  # within IMDS's 5 per second


def test_watch_ack_lets_the_event_start_before_not_before(imds_emulator, scenario):
    state = scenario("Redeploy")  # 10 minutes of notice: only the approval can start it now
    watch = Watch("--interval", "0.2", "--ack")
    try:
        seen = watch.until(lambda lines: len(lines) == 2)
    finally:
        code, _, err = watch.stop()
    assert [(r["change"], r["event"]["EventStatus"]) for r in seen] == [("new", "Scheduled"),
                                                                          ("changed", "Started")]
    assert state.document()["Events"][0]["EventStatus"] == "Started"
    assert "imdsctl: acknowledged Redeploy" in err and code == 0


def test_sigterm_stops_a_running_watch_cleanly(imds_emulator, scenario):
    scenario()
    watch = Watch("--interval", "0.2")
    deadline = time.monotonic() + 10
    while not imds_emulator.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    code, out, err = watch.stop(signal.SIGTERM)
    assert (code, out, err) == (0, "", "imdsctl: stopped (SIGTERM)\n")
    assert time.monotonic() - started < 2


def test_ctrl_c_stops_a_watch_with_130(imds_emulator, scenario):
    scenario()
    watch = Watch("--interval", "0.2")
    deadline = time.monotonic() + 10
    while not imds_emulator.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    code, _, err = watch.stop(signal.SIGINT)
    assert (code, err) == (130, "imdsctl: interrupted\n")
