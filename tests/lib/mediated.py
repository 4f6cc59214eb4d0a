"""Builders for what stands between a process and IMDS: a system-root fixture tree
(IMDSCTL_SYSROOT) and a command run in a network namespace made for it.

``in_netns`` runs a command in a fresh network namespace made by
imdsctl.emulator.linklocal.netns.isolate(), which checks from inside that lo is
its only interface before anything is sent; the setup commands (ip, iptables)
then change that namespace only, and the check is made again before the command
runs. Nothing there can leave the machine: lo is all there is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from imdsctl.catalog import IMDS_ADDRESS

AZURE_TAG = "7783-7084-3265-9085-8269-3286-77"

_HELPER = r"""
import json, subprocess, sys
from imdsctl.emulator.linklocal import netns
netns.isolate()
spec = json.loads(sys.argv[1])
for command in spec["setup"]:
    subprocess.run(command, check=True, capture_output=True, timeout=20)
netns.verify()
done = subprocess.run(spec["argv"], env=spec["env"], capture_output=True, text=True, timeout=spec["timeout"])
print(json.dumps([done.returncode, done.stdout, done.stderr]))
"""


def sysroot(base: Path, *, vendor: Optional[str] = None, asset_tag: str = "", product: str = "",
            efi: bool = False, cgroup: str = "0::/\n", dockerenv: bool = False, pod: bool = False,
            interfaces: Sequence[str] = ("lo", "eth0"), locked: bool = False) -> Path:
    """A directory standing for / with the DMI, /proc and cgroup facts asked for."""
    root = base / "sysroot"
    dmi = root / "sys/class/dmi/id"
    dmi.mkdir(parents=True, exist_ok=True)
    if vendor is not None:
        (dmi / "sys_vendor").write_text(vendor + "\n")
        (dmi / "chassis_asset_tag").write_text(asset_tag + "\n")
        (dmi / "product_name").write_text(product + "\n")
    if efi:
        (root / "sys/firmware/efi").mkdir(parents=True)
    proc = root / "proc"
    (proc / "1").mkdir(parents=True, exist_ok=True)
    (proc / "net").mkdir(exist_ok=True)
    (proc / "1/cgroup").write_text(cgroup)
    dev = "Inter-|   Receive\n face |bytes\n" + "".join(f"{name}: 0 0 0 0\n" for name in interfaces)
    (proc / "net/dev").write_text(dev)
    route = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
    if locked:
        route += "*\tFEA9FEA9\t00000000\t0205\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n"
    (proc / "net/route").write_text(route)
    if dockerenv:
        (root / ".dockerenv").write_text("")
    if pod:
        (root / "var/run/secrets/kubernetes.io/serviceaccount").mkdir(parents=True)
    return root


def netns_or_skip() -> None:
    """Skip, with the reason, where a test cannot make network namespaces as root with ip and iptables."""
    from imdsctl.emulator.linklocal import netns

    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("building these situations needs root on Linux (a network namespace, ip, iptables)")
    missing = [tool for tool in ("ip", "iptables") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    reason = netns.probe()
    if reason is not None:
        pytest.skip(f"no private network namespace here: {reason}")


def nobody_can_run_imdsctl_or_skip() -> None:
    """Skip, with the reason, where uid 65534 cannot run this interpreter and import imdsctl
    (a Python or a checkout in a directory other users cannot read, e.g. under /root)."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed")
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                           "-c", "import imdsctl"], capture_output=True, text=True, timeout=60,
                          cwd="/", env={**os.environ, "HOME": "/tmp"})
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"uid 65534 cannot run {sys.executable} with imdsctl: {last[:160]}")


def in_netns(setup: List[List[str]], argv: List[str], env: Dict[str, str], timeout: float = 60.0):
    """(exit code, stdout, stderr) of ``argv`` run in a fresh lo-only namespace after ``setup``."""
    netns_or_skip()
    spec = json.dumps({"setup": setup, "argv": argv, "env": env, "timeout": timeout})
    done = subprocess.run([sys.executable, "-c", _HELPER, spec], capture_output=True, text=True,
                          timeout=timeout + 30, env={**os.environ})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def imdsctl(*args: str) -> List[str]:
    return [sys.executable, "-m", "imdsctl", *args]


def clean_env(**extra: str) -> Dict[str, str]:
    """The environment of a command that reaches the real address (inside a namespace only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMDSCTL_", "KUBERNETES_"))}
    env.update(extra)
    return env


#: A prohibit route, as systemd-imds's locked mode adds (IMDS's address taken off lo first).
PROHIBIT = [["ip", "addr", "del", f"{IMDS_ADDRESS}/32", "dev", "lo"],
            ["ip", "route", "add", "prohibit", f"{IMDS_ADDRESS}/32"]]
#: A silent drop of everything to IMDS.
DROP = [["iptables", "-A", "OUTPUT", "-d", IMDS_ADDRESS, "-j", "DROP"]]
#: A silent drop for every uid but root (waagent-style owner match).
DROP_NOT_ROOT = [["iptables", "-A", "OUTPUT", "-d", IMDS_ADDRESS, "-m", "owner", "!", "--uid-owner", "0",
                  "-j", "DROP"]]


class VarlinkServer:
    """A test double of systemd-imds's Varlink service, written from its interface
    definition (io.systemd.InstanceMetadata: method Get(key) -> data, Base64; errors
    KeyNotFound, NotAvailable, Timeout, CommunicationFailure...): JSON messages ended
    by a NUL byte on a Unix stream socket at ``root``/run/systemd/io.systemd.InstanceMetadata.
    ``values`` maps keys to values; ``errors`` keys to an error name."""

    def __init__(self, root: Path, values: Dict[str, str], errors: Optional[Dict[str, str]] = None):
        import socket
        import threading

        self.values, self.errors = values, errors or {}
        self.calls: List[dict] = []
        self.path = root / "run/systemd/io.systemd.InstanceMetadata"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(8)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> VarlinkServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()

    def _serve(self) -> None:
        import base64

        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                received = b""
                while b"\0" not in received:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                call = json.loads(received.split(b"\0")[0])
                self.calls.append(call)
                key = call.get("parameters", {}).get("key", "")
                if call.get("method") != "io.systemd.InstanceMetadata.Get":
                    reply = {"error": "org.varlink.service.MethodNotFound", "parameters": {}}
                elif key in self.errors:
                    reply = {"error": f"io.systemd.InstanceMetadata.{self.errors[key]}", "parameters": {}}
                elif key in self.values:
                    reply = {"parameters": {"data": base64.b64encode(self.values[key].encode()).decode()}}
                else:
                    reply = {"error": "io.systemd.InstanceMetadata.KeyNotFound", "parameters": {}}
                conn.sendall(json.dumps(reply).encode() + b"\0")


def short_root(prefix: str = "imdsctl-root-") -> Path:
    """A fixture root with a short path: a Unix socket's path is at most 107 bytes."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
