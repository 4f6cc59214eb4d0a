"""Deadlines kept end to end (issue 18, points 7, 8, 9): a webhook that
trickles its answer, SIGTERM during the watch's first request, and every
signal that would have killed the watch with its hook still running. Real
processes and loopback servers; every wait is bounded by a generous deadline."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from imdsctl.emulator import events as se
from imdsctl.events import scheduled
from imdsctl.events.notify import Notifier
from imdsctl.imds import internet
from tests.lib.events import Watch
from tests.lib.helpers import RawServer, trickle


def test_a_trickling_webhook_ends_at_the_attempts_deadline():
    with RawServer(trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", every=0.1), stop_after=30) as server:
        started = time.monotonic()
        with pytest.raises(OSError, match="no answer within 1s"):
            internet.post_webhook(server.url + "/hook", {"a": 1}, timeout=1.0)
        assert time.monotonic() - started < 10  # 1 s asked; 30 s if every read had its own timeout


def test_one_trickling_webhook_does_not_hold_the_later_notifications():
    lines = []
    with RawServer(trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", every=0.1), stop_after=60) as server:
        notifier = Notifier(server.url + "/hook", budget=1.0, attempt_timeout=0.5, flush=1.0, host="n",
                            log=lines.append)
        started = time.monotonic()
        for n in range(3):
            notifier.send({"change": "new", "DocumentIncarnation": n, "event": {"EventId": str(n)}})
        deadline = time.monotonic() + 30
        while notifier.failed < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        notifier.close(wait=False)
    assert notifier.failed == 3, lines
    assert elapsed < 20, elapsed  # about 3 s: each attempt ends at its deadline, not at the trickle's end


# -- signals, with real processes ---------------------------------------------------------------------------


#: A hook that notes its pid and run, says it started, and waits (bounded) for the test's go.
HOOK = ('echo $$ > "$DIR/pid.$IMDS_EVENT_ID"; echo "$IMDS_EVENT_ID $IMDS_HOOK_ATTEMPT" >> "$DIR/runs"\n'
        'touch "$DIR/started.$IMDS_EVENT_ID"\n'
        'i=0; while [ ! -e "$DIR/go" ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done\n')


def until(done, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def handler(imds_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("DIR", str(tmp_path))
    monkeypatch.setattr(scheduled, "MIN_INTERVAL", 0.01)
    (tmp_path / "hook.sh").write_text(HOOK)
    state_file = tmp_path / "events.json"
    args = ["--interval", "0.2", "--exec", f"sh {tmp_path}/hook.sh", "--ack", "--state", str(state_file)]
    return imds_emulator, args, state_file


@pytest.mark.e2e
@pytest.mark.imds_emulator(throttle=False)
@pytest.mark.parametrize("path", ["/metadata/instance/compute/name", "/metadata/scheduledevents"])
def test_sigterm_during_the_first_request_exits_0_promptly(handler, path):
    emulator, args, _ = handler
    emulator.add_fault(f"delay=60@{path}")
    watch = Watch(*args, "--timeout", "90")
    until(lambda: any(r.fault is not None for r in emulator.requests))
    started = time.monotonic()
    code, _, err = watch.stop(signal.SIGTERM, timeout=30)
    assert code == 0, err
    assert time.monotonic() - started < 10
    assert "stopped (SIGTERM)" in err


@pytest.mark.e2e
@pytest.mark.imds_emulator(throttle=False)
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_stop_signal_mid_hook_waits_for_the_hook_and_records_its_end(handler, tmp_path, sig):
    emulator, args, state_file = handler
    se.attach(emulator.service, events=["Reboot"])
    watch = Watch(*args)
    until(lambda: list(tmp_path.glob("started.*")))
    (started,) = tmp_path.glob("started.*")
    event_id = started.name.split(".", 1)[1]
    pid = int((tmp_path / f"pid.{event_id}").read_text())
    watch.process.send_signal(sig)
    time.sleep(0.3)  # not a synchronisation: a watch killed by the signal would be gone by now
    assert watch.process.poll() is None and alive(pid)  # the hook is waited for
    (tmp_path / "go").touch()
    code, _, err = watch.finish(30)
    assert code == 0, err
    assert f"stopped ({signal.Signals(sig).name})" in err
    assert not alive(pid)
    record = json.loads(state_file.read_text())["events"][event_id]
    assert (record["attempts"], record["hook"], record["hookOk"]) == (1, "exited 0", True)


@pytest.mark.e2e
@pytest.mark.imds_emulator(throttle=False)
def test_sigusr1_and_sigalrm_never_kill_the_watch_nor_orphan_its_hook(handler, tmp_path):
    emulator, args, state_file = handler
    se.attach(emulator.service, events=["Reboot"])
    watch = Watch(*args)
    until(lambda: list(tmp_path.glob("started.*")))
    (started,) = tmp_path.glob("started.*")
    event_id = started.name.split(".", 1)[1]
    pid = int((tmp_path / f"pid.{event_id}").read_text())
    for sig in (signal.SIGUSR1, signal.SIGALRM):
        watch.process.send_signal(sig)
    time.sleep(0.3)  # not a synchronisation: a watch killed by the signal would be gone by now
    assert watch.process.poll() is None and alive(pid)
    (tmp_path / "go").touch()
    until(lambda: "hookEnded" in json.loads(state_file.read_text())["events"].get(event_id, {}))
    assert watch.process.poll() is None  # still watching
    code, _, err = watch.stop(signal.SIGTERM, timeout=30)
    assert code == 0, err
    assert "SIGUSR1 ignored" in err and "SIGALRM ignored" in err
    assert not alive(pid)
    assert os.path.exists(state_file)
    record = json.loads(state_file.read_text())["events"][event_id]
    assert (record["attempts"], record["hook"]) == (1, "exited 0")
