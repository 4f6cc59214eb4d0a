"""`events watch --kubernetes-node` end to end: the emulator's scheduled events,
a recording kubectl on PATH, watches as processes killed (SIGKILL) and restarted.
Every wait is on something the watch did (the state file, a kubectl call)."""

from __future__ import annotations

import json
import time

import pytest

from imdsctl.emulator import events as se
from imdsctl.events import scheduled
from tests.lib.events import Watch
from tests.lib.helpers import ok
from tests.lib.kubectl import FakeKubectl

pytestmark = [pytest.mark.e2e, pytest.mark.imds_emulator(throttle=False)]


@pytest.fixture
def kubectl(tmp_path, monkeypatch):
    fake = FakeKubectl(tmp_path / "bin")
    fake.on_path(monkeypatch)
    monkeypatch.setattr(scheduled, "MIN_INTERVAL", 0.01)
    return fake


def until(done, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_reboot_drains_the_node_named_by_node_name_then_is_acknowledged(run, imds_emulator, kubectl,
                                                                          monkeypatch):
    monkeypatch.setenv("NODE_NAME", "node1")
    state = se.attach(imds_emulator.service, events=["Reboot", "Freeze"])
    result = ok(run("events", "watch", "--once", "--kubernetes-node", "--ack"))
    assert kubectl.verbs() == ["get", "cordon", "annotate", "drain", "annotate"]
    assert [e["EventStatus"] for e in state.document()["Events"]] == ["Started", "Started"]
    assert "drained node node1 for Reboot" in result.stderr
    assert "annotated (Freeze is not drained: see --drain-on)" in result.stderr


def test_what_the_command_line_refuses(run, imds_emulator, kubectl, monkeypatch, tmp_path):
    se.attach(imds_emulator.service, events=["Reboot"])
    result = ok(run("events", "watch", "--once", "--kubernetes-node"), 2)
    assert "NODE_NAME is not set" in result.stderr and "--kubernetes-node NAME" in result.stderr
    result = ok(run("events", "watch", "--once", "--kubernetes-node", "n", "--drain-on", "Reboot,Nap"), 2)
    assert "unknown event type Nap" in result.stderr
    result = ok(run("events", "watch", "--once", "--kubernetes-node", "n", "--kubectl",
                    str(tmp_path / "none")), 2)
    assert "--kubectl PATH" in result.stderr
    assert kubectl.calls() == []


def test_killed_and_restarted_nothing_is_done_twice_and_the_node_comes_back(run, imds_emulator, kubectl,
                                                                            tmp_path):
    state_file = tmp_path / "events.json"
    state = se.attach(imds_emulator.service, events=["Reboot"])
    reboot = state.document()["Events"][0]["EventId"]
    args = ["--interval", "0.2", "--kubernetes-node", "node1", "--ack", "--state", str(state_file)]

    def record():
        return json.loads(state_file.read_text())["events"].get(reboot, {}) if state_file.exists() else {}

    watch = Watch(*args)
    until(lambda: "acknowledged" in record())
    watch.process.kill()
    watch.finish(10)
    done = kubectl.calls()
    assert [c[0] for c in done] == ["get", "cordon", "annotate", "drain"]

    ok(run("events", "watch", "--once", *args))  # restarted: the event is still listed
    assert kubectl.calls() == done

    watch = Watch(*args)  # restarted again; the event completes while it watches
    try:
        watch.until(lambda lines: len(lines) == 1)
        state.cancel(reboot)
        until(lambda: "uncordon" in kubectl.verbs())
    finally:
        watch.stop()
    ok(run("events", "watch", "--once", *args))
    assert kubectl.verbs() == ["get", "cordon", "annotate", "drain", "uncordon"]
    assert record()["kubeUncordoned"] is True and not kubectl.node()["unschedulable"]
