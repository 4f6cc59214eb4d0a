"""doctor --wireserver-as-root (#20.1, #20.4): WireServer asked as this uid and as
root (or, as root, as uid 65534 too), so that waagent's root-only firewall is
told apart from a network that reaches no one. The rows from their parts, then
for real: WireServer emulated at 168.63.129.16 in a namespace of the test's own,
behind waagent's real iptables rules (`emulate --link-local --wireserver-root-only`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from imdsctl.support import platform, privileged
from tests.lib.mediated import nobody_can_run_imdsctl_or_skip

ROOT_ONLY = {80: "HTTP/1.1 200 OK", 32526: "accepted"}


def reaches(port, timeout):
    return ROOT_ONLY[port]


def drops(port, timeout):
    raise TimeoutError("timed out")


def seen(ok: bool):
    return [(port, ok, text if ok else "timed out") for port, text in ROOT_ONLY.items()]


@pytest.mark.parametrize("euid, mine, second, verdict, says", [
    # as uid 1000: dropped, while root gets through: waagent's firewall, by design
    (1000, drops, ("root", seen(True), ""), "warn", "(only root may reach WireServer) keeps this uid out"),
    # as uid 1000: dropped, and root too: the VM agent's problem
    (1000, drops, ("root", seen(False), ""), "warn", "root does not reach WireServer either"),
    (1000, reaches, ("root", seen(True), ""), "ok", "every uid reaches WireServer"),
    # as root: through, and nobody dropped: the firewall is in place
    (0, reaches, ("uid 65534", seen(False), ""), "ok", "is in place"),
    (0, drops, ("uid 65534", seen(False), ""), "warn", "root does not reach WireServer"),
    (1000, drops, ("root", None, "not asked as root: sudo -n: a password is required"), "warn",
     "not asked as root: sudo -n: a password is required"),
])
def test_the_row_from_both_probes(monkeypatch, euid, mine, second, verdict, says):
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    monkeypatch.setattr(privileged, "second_probe", lambda ask, ports, timeout: second)
    check, got, detail, remedy, code = platform.wireserver_row(True, 1.0, mine, second=True)
    assert (check, got, code) == ("wireserver", verdict, 0)
    assert says in detail, detail
    assert f"as uid {euid}: " in detail and (remedy == "") == (verdict == "ok")


def test_without_the_option_one_probe_and_the_remedy_names_it(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    asked = []
    monkeypatch.setattr(privileged, "second_probe", lambda *a: asked.append(a))
    row = platform.wireserver_row(True, 1.0, drops)
    assert row[1] == "warn" and ":80 timed out" in row[2] and not asked
    assert "--wireserver-as-root" in row[3]


def test_sudo_that_refuses_is_said_in_one_phrase(monkeypatch, tmp_path):
    fake = tmp_path / "sudo"
    fake.write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert privileged._as_root(1.0) == (None, "not asked as root: sudo -n: sudo: a password is required")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert privileged._as_root(1.0) == (None, "not asked as root: there is no sudo")


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to uid 65534 needs root")
def test_as_root_the_second_probe_runs_as_nobody():
    def who(port, timeout):
        return f"uid {os.getuid()} gid {os.getgid()} groups {os.getgroups()}"

    label, probe, _ = privileged.second_probe(who, (80,), 1.0)
    assert label == "uid 65534" and probe == [(80, True, "uid 65534 gid 65534 groups []")]


# -- for real, in a namespace of the test's own ---------------------------------------------------


def _emulate(*args: str) -> dict:
    from imdsctl.emulator.linklocal import netns

    if os.geteuid() != 0 or not shutil.which("iptables"):
        pytest.skip("waagent's firewall rule needs root and iptables")
    reason = netns.probe()
    if reason is not None:
        pytest.skip(f"no private network namespace here: {reason}")
    done = subprocess.run([sys.executable, "-m", "imdsctl", "emulate", "--link-local", *args],
                          capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return {row["check"]: row for row in json.loads(done.stdout)}


def test_root_behind_waagents_firewall_sees_it_in_place():
    rows = _emulate("--wireserver-root-only", "--", "imdsctl", "doctor", "--wireserver-as-root", "-o", "json")
    row = rows["wireserver"]
    assert row["verdict"] == "ok", row
    assert "as uid 0: :80 HTTP/1.1 200 OK, :32526 accepted" in row["detail"]
    assert "as uid 65534: :80 timed out, :32526 timed out" in row["detail"]
    assert "waagent's firewall (only root may reach WireServer) is in place" in row["detail"]


def test_without_the_firewall_every_uid_reaches_it():
    rows = _emulate("--", "imdsctl", "doctor", "--wireserver-as-root", "-o", "json")
    assert "every uid reaches WireServer" in rows["wireserver"]["detail"]


def test_a_user_behind_the_firewall_is_told_why_without_sudo():
    nobody_can_run_imdsctl_or_skip()
    script = (f"HOME=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups "
              f"{sys.executable} -m imdsctl doctor --wireserver-as-root -o json")
    rows = _emulate("--wireserver-root-only", "--", "sh", "-c", script)
    row = rows["wireserver"]
    assert row["verdict"] == "warn" and "as uid 65534: :80 timed out, :32526 timed out" in row["detail"]
    assert "not asked as root" in row["detail"]
