"""`imdsctl emulate --link-local [--wireserver-root-only]`: WireServer at
168.63.129.16 in the private namespace (versions XML on :80, the
HostGAPlugin's /health and /versions on :32526), and waagent's root-only rule.

Safety: as in test_linklocal.py, every client first checks from inside that lo
is the namespace's only interface and sends nothing otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from imdsctl.emulator.linklocal import netns, wireserver

pytestmark = pytest.mark.e2e
#: Prepended to every client: not one packet unless lo is the only interface here.
GUARD = textwrap.dedent("""\
    import os, sys
    rows = open("/proc/self/net/dev").read().splitlines()[2:]
    names = sorted(row.split(":", 1)[0].strip() for row in rows if ":" in row)
    if names != ["lo"]:
        sys.exit(f"refusing: this namespace has {names}, not only lo")
    """)
EMULATE = [sys.executable, "-m", "imdsctl", "emulate", "--link-local"]

CLIENT = GUARD + textwrap.dedent("""\
    import socket, urllib.request
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for url in ("http://168.63.129.16/?comp=versions", "http://168.63.129.16:32526/health",
                "http://168.63.129.16:32526/versions"):
        try:
            answer = opener.open(url, timeout=3)
            print(url, answer.status, answer.read().decode().replace(chr(10), " "))
        except OSError as exc:
            print(url, "failed", type(exc).__name__, getattr(exc, "reason", ""))
    """)


def test_answers_are_waagents():
    assert wireserver.answer(80, "/?comp=versions")[0] == 200
    assert "<Preferred>\n    <Version>2015-04-05</Version>" in wireserver.answer(80, "/?comp=versions")[2]
    assert wireserver.answer(80, "/")[0] == 400
    assert wireserver.answer(32526, "/health")[:2] == (200, "text/plain")
    assert wireserver.answer(32526, "/versions")[2] == '["2015-09-01"]'


def _namespace_or_skip(root: bool) -> None:
    reason = netns.probe()
    if reason is not None:
        pytest.skip(f"no private network namespace here: {reason}")
    if root and os.geteuid() != 0:
        pytest.skip("waagent's rule is an iptables rule: needs root")
    if root and not (shutil.which("iptables") and shutil.which("setpriv")):
        pytest.skip("needs iptables and setpriv")


def _emulate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*EMULATE, *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_wireserver_answers_in_the_namespace():
    _namespace_or_skip(root=False)
    done = _emulate("--", sys.executable, "-c", CLIENT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("http://168.63.129.16/?comp=versions 200 <?xml") and "<Versions>" in lines[0]
    assert lines[1] == "http://168.63.129.16:32526/health 200 "
    assert lines[2] == 'http://168.63.129.16:32526/versions 200 ["2015-09-01"]'


def test_root_only_lets_root_in_and_drops_nobody():
    _namespace_or_skip(root=True)
    # nobody runs the client with a Python it can read (this one may be under /root, 0700)
    python = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if python is None or subprocess.run([*nobody, python, "-c", "pass"], capture_output=True,
                                        timeout=60).returncode != 0:
        pytest.skip(f"uid 65534 can run no system python3 ({python})")
    script = (f"{python} -c '{CLIENT}'; "
              f"setpriv --reuid=65534 --regid=65534 --clear-groups {python} -c '{CLIENT}'")
    assert "'" not in CLIENT
    done = _emulate("--wireserver-root-only", "--", "sh", "-c", script)
    assert done.returncode == 0, done.stderr
    root, nobody = done.stdout.splitlines()[:3], done.stdout.splitlines()[3:]
    assert all(" 200 " in line for line in root), root
    assert len(nobody) == 3 and all(" failed " in line for line in nobody), nobody  # dropped: a timeout


def test_root_only_needs_link_local():
    done = subprocess.run([*EMULATE[:4], "--wireserver-root-only", "--", "true"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "--wireserver-root-only needs --link-local" in done.stderr


def test_the_firewall_rule_is_never_added_outside_a_lo_only_namespace(monkeypatch):
    if netns.interfaces() == ["lo"]:
        pytest.skip("this test process's own namespace has only lo: nothing to refuse")
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(netns.NamespaceError, match="interfaces other than lo"):
        wireserver.firewall("/usr/sbin/iptables")
    assert ran == []
