"""`events watch` as a service, end to end: killed (SIGKILL, a real process)
before a hook, during it and between the hook and the acknowledgement, then
restarted; the systemd unit checked by systemd-analyze and its ExecStart run;
notifications to a receiver on 127.0.0.1; the documented rehearsal. Every
step waits on something the watch did (a file, the state), never on time."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time

import pytest

from imdsctl.emulator import events as se
from imdsctl.events import scheduled
from tests.lib.events import Watch
from tests.lib.helpers import ok
from tests.lib.process import IMDSCTL
from tests.lib.receiver import Receiver

#: No rate limit here: the in-process restarts pace their requests 10 ms apart, not 200 ms
#: (pacing has its own tests); the watch processes keep the real 200 ms.
pytestmark = [pytest.mark.e2e, pytest.mark.imds_emulator(throttle=False)]

#: A hook that notes its run, says it started, and waits for the test's go.
HOOK = ('echo "$IMDS_EVENT_ID $IMDS_HOOK_ATTEMPT $IMDS_EVENT_TYPE" >> "$DIR/runs"\n'
        'touch "$DIR/started.$IMDS_EVENT_ID"\n'
        'i=0; while [ ! -e "$DIR/go" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done\n')


@pytest.fixture
def service(imds_emulator, run, tmp_path, monkeypatch):
    """Events on the emulator, the hook, the state file; ``service.watch(*args)`` starts a watch."""
    monkeypatch.setenv("DIR", str(tmp_path))
    monkeypatch.setattr(scheduled, "MIN_INTERVAL", 0.01)
    (tmp_path / "hook.sh").write_text(HOOK)

    class Service:
        state_file = tmp_path / "events.json"
        emulator = imds_emulator

        @staticmethod
        def schedule(*specs):
            state = se.attach(imds_emulator.service, events=specs)
            return state, [e["EventId"] for e in state.document()["Events"]]

        @staticmethod
        def args(*more):
            return ["--interval", "0.2", "--exec", f"sh {tmp_path}/hook.sh", "--ack",
                    "--state", str(Service.state_file), *more]

        @staticmethod
        def records():
            return json.loads(Service.state_file.read_text())["events"]

        @staticmethod
        def runs():
            runs = tmp_path / "runs"
            return runs.read_text().splitlines() if runs.exists() else []

        @staticmethod
        def restart():
            """The watch again, in this process (the kill needs a process; the restart does not)."""
            return run("events", "watch", "--once", *Service.args())

    return Service


def until(done, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def kill(watch):
    """SIGKILL the watch: no handler runs, nothing is flushed."""
    watch.process.kill()
    watch.process.wait(5)


def test_killed_during_a_hook_and_before_the_next(service, tmp_path):
    state, (reboot, freeze) = service.schedule("Reboot", "Freeze")
    watch = Watch(*service.args())
    until(lambda: (tmp_path / f"started.{reboot}").exists())
    kill(watch)  # mid-hook for the Reboot; before the Freeze's hook
    records = service.records()
    assert records[reboot]["attempts"] == 1 and "hookEnded" not in records[reboot]
    assert freeze not in records
    (tmp_path / "go").touch()  # the orphaned hook ends (under systemd, the unit's cgroup ends it)
    watch.finish(10)

    result = service.restart()
    ok(result)
    assert service.runs() == [f"{reboot} 1 Reboot", f"{reboot} 2 Reboot", f"{freeze} 1 Freeze"]
    assert f"hook for Reboot {reboot} was interrupted (the watch stopped while it ran): running it again" \
        in result.stderr
    records = service.records()
    assert [(r["attempts"], r["hook"], "acknowledged" in r) for r in (records[reboot], records[freeze])] \
        == [(2, "exited 0", True), (1, "exited 0", True)]
    assert [e["EventStatus"] for e in state.document()["Events"]] == ["Started", "Started"]


def test_killed_between_the_hook_and_the_acknowledgement(service, tmp_path):
    state, (reboot,) = service.schedule("Reboot")
    watch = Watch(*service.args())
    until(lambda: (tmp_path / f"started.{reboot}").exists())
    service.emulator.add_fault("reset*inf@/metadata/scheduledevents")  # no acknowledgement gets through
    (tmp_path / "go").touch()
    until(lambda: "hookEnded" in service.records().get(reboot, {}))
    kill(watch)
    watch.finish(10)
    record = service.records()[reboot]
    assert (record["hook"], "acknowledged" in record) == ("exited 0", False)
    assert state.document()["Events"][0]["EventStatus"] == "Scheduled"
    service.emulator.clear_faults()

    result = service.restart()
    ok(result)
    assert service.runs() == [f"{reboot} 1 Reboot"]  # not run again
    assert f"hook for Reboot {reboot} ran before this watch started (exited 0): not run again\n" \
           f"imdsctl: acknowledged Reboot {reboot}" in result.stderr
    assert state.document()["Events"][0]["EventStatus"] == "Started"
    assert "acknowledged" in service.records()[reboot]


def test_killed_before_any_hook(service, tmp_path):
    (tmp_path / "go").touch()
    state, (reboot,) = service.schedule("Reboot")
    service.emulator.add_fault("delay=30@/metadata/scheduledevents")  # the first poll hangs
    watch = Watch(*service.args())
    until(lambda: any(r.fault is not None for r in service.emulator.requests))  # it is held there
    kill(watch)
    watch.finish(10)
    assert service.runs() == [] and not service.state_file.exists()
    result = service.restart()
    ok(result)
    assert service.runs() == [f"{reboot} 1 Reboot"]


def test_a_restarted_watch_runs_no_finished_hook_again(service, tmp_path):
    (tmp_path / "go").touch()
    state, (reboot,) = service.schedule("Reboot")
    for _ in range(3):
        result = service.restart()
        ok(result)
    assert service.runs() == [f"{reboot} 1 Reboot"]


# -- the systemd unit ---------------------------------------------------------------------------------------


def exec_start(unit: str):
    """ExecStart= as systemd reads it (for the quoting `events unit` writes:
    double quotes with \\" and \\\\, $$ and %%)."""
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    return [word.replace("$$", "$").replace("%%", "%") for word in shlex.split(line[len("ExecStart="):])]


def test_the_unit_is_valid_and_runs_this_installation(run, imds_emulator, tmp_path, monkeypatch):
    se.attach(imds_emulator.service, events=["Reboot"])
    hook = f"printf '%s\\n' \"$IMDS_EVENT_TYPE 100% \\\\o/ $HOME\" >> {tmp_path}/out; exit 0"
    unit = ok(run("events", "unit", "--exec", hook, "--ack", "--hook-timeout", "60",
                  "--state", str(tmp_path / "events.json"))).stdout
    for line in ("Restart=on-failure", "KillMode=mixed", "TimeoutStopSec=90", "StateDirectoryMode=0700"):
        assert f"\n{line}\n" in unit
    argv = exec_start(unit)
    assert argv == [IMDSCTL, "events", "watch", "-o", "json", "--state", str(tmp_path / "events.json"),
                    "--exec", hook, "--hook-timeout", "60", "--ack"]
    result = subprocess.run([*argv, "--once"], env=dict(os.environ), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_text() == f"Reboot 100% \\o/ {os.environ['HOME']}\n"
    assert [json.loads(line)["change"] for line in result.stdout.splitlines()] == ["new"]
    assert "\x1b" not in result.stderr and len(result.stderr.splitlines()) == 2  # hook exited 0; acknowledged


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(run, tmp_path):
    unit = tmp_path / "imdsctl-events.service"
    unit.write_text(ok(run("events", "unit", "--exec", 'drain "$(hostname)" 100%', "--ack",
                           "--notify", "https://hooks.example/x", "--notify-format", "slack")).stdout)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "imdsctl-events" not in result.stdout + result.stderr, result.stderr


# -- notifications ------------------------------------------------------------------------------------------


def test_each_change_and_outcome_reaches_the_webhook(service, run, tmp_path):
    (tmp_path / "go").touch()
    state, (reboot,) = service.schedule("Reboot")
    receiver = Receiver()
    try:
        ok(run("events", "watch", "--once", *service.args("--notify", receiver.url)))
        bodies = receiver.bodies()  # all of them: the watch waits (a bounded time) for its notifications
    finally:
        receiver.close()
    assert [(b["change"], b["event"]["EventId"], b.get("outcome")) for b in bodies] == [
        ("new", reboot, None), ("handled", reboot, "hook exited 0; acknowledged")]


# -- the rehearsal ------------------------------------------------------------------------------------------


def test_the_documented_rehearsal(tmp_path):
    drain = tmp_path / "drain.sh"
    drain.write_text('#!/bin/sh\n'
                     'echo "$IMDS_EVENT_TYPE $IMDS_EVENT_SECONDS_LEFT $IMDS_HOOK_TIMEOUT" >> drained\n')
    drain.chmod(0o755)
    rehearsal = [IMDSCTL, "emulate", "--event", "Preempt@30", "--events-time-factor", "0.1", "--",
                 IMDSCTL, "events", "watch", "--exec", "./drain.sh", "--ack", "--max-events", "1"]
    result = subprocess.run(rehearsal, cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    kind, left, timeout = (tmp_path / "drained").read_text().split()
    assert (record["change"], record["event"]["EventType"]) == ("new", "Preempt")
    assert (kind, timeout) == ("Preempt", "10")  # under 10 s left: the floor
    assert 0 <= int(left) <= 3  # 30 s of notice, scaled by 0.1
    if record["event"]["EventStatus"] == "Scheduled":  # not Started already on a very slow start
        assert f"imdsctl: acknowledged Preempt {record['event']['EventId']}" in result.stderr


def test_an_unsafe_state_file_costs_one_line_not_the_watch(service, run, tmp_path):
    (tmp_path / "go").touch()
    state, (reboot,) = service.schedule("Reboot")
    service.state_file.symlink_to(tmp_path / "elsewhere")
    result = ok(run("events", "watch", "--once", *service.args()))
    said = [line for line in result.stderr.splitlines() if "state file" in line]
    assert said == [f"imdsctl: state file {service.state_file} is a symbolic link: not used; this watch "
                    "keeps its state in memory (remove it, or pass another --state)"]
    assert service.runs() == [f"{reboot} 1 Reboot"] and not (tmp_path / "elsewhere").exists()


def test_a_second_watch_on_the_same_state_is_a_usage_error(service, run, tmp_path):
    watch = Watch(*service.args())
    try:
        until(lambda: service.state_file.with_name("events.json.lock").exists())
        until(lambda: any(r.path == "/metadata/scheduledevents" for r in service.emulator.requests))
        result = ok(run("events", "watch", "--once", *service.args()), 2)
    finally:
        watch.stop()
    assert result.stderr == ("imdsctl: another imdsctl events watch uses the state file "
                             f"{service.state_file}\nhint: stop it, or give this watch its own --state\n")
