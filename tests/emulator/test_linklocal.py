"""`imdsctl emulate --link-local` and the plugin's ``link_local=True``: the
emulator at IMDS's own address (linklocal.URL, port 80) in a private network
namespace.

Safety: IMDS's address is used only inside namespaces these tests create, and
every client below first checks from inside (/proc/self/net/dev) that lo is
the namespace's only interface, exiting before it sends anything otherwise;
imdsctl checks the same before it binds, and this process stays under the
guard of tests/conftest.py (no connect outside loopback). The tests skip,
with the reason, where the system gives no namespace."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import imdsctl
from imdsctl import catalog
from imdsctl.cli import cli
from imdsctl.emulator import load_profile
from imdsctl.emulator.linklocal import netns, serve

pytestmark = pytest.mark.e2e
pytest_plugins = ["pytester"]

SPOT = load_profile("spot-vmss").instance["compute"]
LINUX = load_profile("linux-2025").instance["compute"]
EMULATE = [sys.executable, "-m", "imdsctl", "emulate", "--link-local"]

#: Prepended to every client: not one packet unless lo is the only interface here.
GUARD = textwrap.dedent("""\
    import os, sys
    rows = open("/proc/self/net/dev").read().splitlines()[2:]
    names = sorted(row.split(":", 1)[0].strip() for row in rows if ":" in row)
    if names != ["lo"]:
        sys.exit(f"refusing: this namespace has {names}, not only lo")
    """)

URLLIB = GUARD + textwrap.dedent("""\
    import urllib.request
    assert "IMDSCTL_ENDPOINT" not in os.environ and "AZURE_POD_IDENTITY_AUTHORITY_HOST" not in os.environ
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        "IMDS/metadata/instance/compute/priority?api-version=2021-02-01&format=text",
        headers={"Metadata": "true"})
    print(opener.open(request, timeout=5).read().decode())
    """).replace("IMDS/", serve.URL + "/")

CURL = GUARD + textwrap.dedent("""\
    os.execvp("curl", ["curl", "-s", "--noproxy", "*", "-H", "Metadata: true",
                       "IMDS/metadata/instance/compute/vmId?api-version=2021-02-01&format=text"])
    """).replace("IMDS/", serve.URL + "/")


@pytest.fixture(scope="session")
def namespaces():
    """Skip unless a private network namespace can be made here (tried once, in a child)."""
    reason = netns.probe()
    if reason is not None:
        pytest.skip(f"no private network namespace here: {reason}")


def emulate(*args, timeout=30):
    return subprocess.run([*EMULATE, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_python_urllib_reaches_the_real_address(namespaces):
    done = emulate("--profile", "spot-vmss", "--", sys.executable, "-c", URLLIB)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Spot\n", "")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_curl_one_liner_reaches_the_real_address(namespaces):
    done = emulate("--profile", "spot-vmss", "--", sys.executable, "-c", CURL)
    assert (done.returncode, done.stdout, done.stderr) == (0, SPOT["vmId"], "")


def test_imdsctl_and_azure_identity_with_no_endpoint_variable(namespaces):
    pytest.importorskip("azure.identity")
    client = GUARD + textwrap.dedent("""\
        import subprocess
        from azure.identity import ManagedIdentityCredential
        vm = subprocess.run([sys.executable, "-m", "imdsctl", "compute", "vm-id"], capture_output=True,
                            text=True, check=True).stdout
        token = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
        print(vm.strip(), token.token.count("."))
        """)
    done = emulate("--", sys.executable, "-c", client, timeout=60)
    assert (done.returncode, done.stdout) == (0, f"{LINUX['vmId']} 2\n"), done.stderr


def test_the_exit_code_and_the_caller_network_are_untouched(namespaces):
    done = emulate("--", sys.executable, "-c", GUARD + "sys.exit(7)")
    assert (done.returncode, done.stderr) == (7, "")
    with socket.socket() as probe, pytest.raises(OSError) as refused:  # binding sends no packet
        probe.bind((netns.LINK_LOCAL, 0))
    assert refused.value.errno == errno.EADDRNOTAVAIL  # never put on this namespace's lo


@pytest.mark.verify
def test_the_attested_chain_at_the_real_address(namespaces, tmp_path):
    """Only the root trusted: the intermediate comes from the leaf's caIssuers URL,
    at IMDS's own address, fetched inside the namespace."""
    client = GUARD + textwrap.dedent("""\
        import subprocess
        bundle = open("ca.pem", "rb").read()  # written before COMMAND starts: root, intermediate
        open("root.pem", "wb").write(bundle.split(b"-----END CERTIFICATE-----")[0]
                                     + b"-----END CERTIFICATE-----\\n")
        sys.exit(subprocess.run([sys.executable, "-m", "imdsctl", "attested", "verify", "--ca-file",
                                 "root.pem", "-q", "checks[2].reason"]).returncode)
        """)
    done = subprocess.run([*EMULATE, "--attested-ca-out", "ca.pem", "--", sys.executable, "-c", client],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(
        f"; fetched {serve.URL}/pkiops/certs/imdsctl-emulator-issuer.crt")


# -- nothing runs without a namespace that can be trusted ---------------------------------------


def test_without_namespaces_nothing_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(netns, "unavailable", lambda: "network namespaces are Linux's; this is plan9")
    ran = tmp_path / "ran"
    result = CliRunner().invoke(cli, ["emulate", "--link-local", "--", "touch", str(ran)])
    assert result.exit_code == 2
    assert result.output == ("imdsctl: --link-local: no private network namespace, so nothing ran: "
                             "network namespaces are Linux's; this is plan9\n")
    assert not ran.exists()


def test_a_namespace_that_fails_runs_nothing(monkeypatch, tmp_path):
    """The failure happens in the forked child; the parent reports it, and COMMAND never starts."""
    def refuse():
        raise netns.NamespaceError("the new network namespace has interfaces other than lo: eth0")

    monkeypatch.setattr(netns, "isolate", refuse)
    ran = tmp_path / "ran"
    result = CliRunner().invoke(cli, ["emulate", "--link-local", "--", "touch", str(ran)])
    assert result.exit_code == 2
    assert result.output == ("imdsctl: --link-local: no private network namespace, so nothing ran: "
                             "the new network namespace has interfaces other than lo: eth0\n")
    assert not ran.exists()


class Unstarted:
    started = False

    def start(self):
        self.started = True
        return self


def test_the_emulator_binds_only_after_lo_is_found_alone(monkeypatch):
    monkeypatch.setattr(netns, "isolate", lambda: None)  # as if unshare had done nothing
    monkeypatch.setattr(netns, "interfaces", lambda: ["eth0", "lo"])
    imds = Unstarted()
    with pytest.raises(netns.NamespaceError, match="interfaces other than lo: eth0$"):
        serve.serve_here(imds)
    assert not imds.started
    monkeypatch.setattr(netns, "interfaces", lambda: ["lo"])
    added = []
    monkeypatch.setattr(netns, "add_address", added.append)  # never in this test's own namespace
    monkeypatch.setattr(serve, "WireServer", Unstarted)
    served, wire = serve.serve_here(imds)
    assert served.started and wire.started and added == ["168.63.129.16"]


@pytest.mark.parametrize(("names", "message"), [
    (["eth0", "lo"], "interfaces other than lo: eth0$"),
    (["lo", "sit0", "tunl0"], "other than lo: sit0, tunl0 .fallback tunnel devices: sysctl "
                              "net.core.fb_tunnels_only_for_init_net=2"),
    ([], "other than lo: none, not even lo"),
])
def test_verify_accepts_lo_alone(monkeypatch, names, message):
    monkeypatch.setattr(netns, "interfaces", lambda: names)
    with pytest.raises(netns.NamespaceError, match=message):
        netns.verify()
    monkeypatch.setattr(netns, "interfaces", lambda: ["lo"])
    netns.verify()


def test_interfaces_are_read_from_this_namespace():
    assert "lo" in netns.interfaces()


@pytest.mark.parametrize(("platform", "euid", "switch", "reason"), [
    ("darwin", 501, None, "network namespaces are Linux's; this is darwin"),
    ("linux", 1000, ("/proc/sys/user/max_user_namespaces", 0), "user.max_user_namespaces = 0"),
    ("linux", 1000, ("/proc/sys/kernel/unprivileged_userns_clone", 0), "unprivileged_userns_clone = 0"),
    ("linux", 1000, ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 1),
     "apparmor_restrict_unprivileged_userns = 1"),
    ("linux", 0, ("/proc/sys/user/max_user_namespaces", 0), None),  # root needs no user namespace
])
def test_plain_reasons_are_found_without_trying(monkeypatch, platform, euid, switch, reason):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    monkeypatch.setattr(os.path, "exists", lambda path: True)
    monkeypatch.setattr(netns, "_read_int", lambda path: switch[1] if switch and path == switch[0] else None)
    found = netns.unavailable()
    assert found == reason if reason is None else reason in found


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_an_unprivileged_user_gets_a_user_and_network_namespace(tmp_path):
    """The path for everyone but root: unshare(CLONE_NEWUSER | CLONE_NEWNET), id maps, netlink."""
    python = next((p for p in ("/usr/bin/python3", sys.executable) if os.access(p, os.X_OK)), None)
    command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, "-m",
               "imdsctl.emulator.linklocal.netns"]
    # The user must read the tree it imports, and this clone may live where only root can
    # (under /root, or in pytest's private tmp_path): a copy in a directory it may read.
    readable = Path(tempfile.mkdtemp(prefix="imdsctl-nobody-"))
    try:
        readable.chmod(0o755)
        shutil.copytree(Path(imdsctl.__file__).parent, readable / "imdsctl",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for path in readable.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=readable,
                              env={"PATH": os.environ["PATH"], "PYTHONPATH": str(readable)})
    finally:
        shutil.rmtree(readable)
    if done.returncode != 0 and "ermission denied" in done.stderr:
        pytest.skip(f"no Python the unprivileged user may run: {done.stderr.strip()}")
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


# -- the pytest plugin --------------------------------------------------------------------------


@pytest.mark.imds_emulator(link_local=True, profile="spot-vmss")
def test_the_plugin_serves_at_the_real_address(imds_emulator):
    assert imds_emulator.url == serve.URL == catalog.DEFAULT_ENDPOINT
    done = imds_emulator.run([sys.executable, "-c", URLLIB], text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Spot\n", "")
    (asked,) = imdsctl_requests = imds_emulator.requests
    assert (asked.path, asked.status, asked.client) == ("/metadata/instance/compute/priority", 200,
                                                        netns.LINK_LOCAL), imdsctl_requests
    imds_emulator.add_fault("410")
    done = imds_emulator.run([sys.executable, "-c", URLLIB], text=True)
    assert done.returncode == 1 and "HTTP Error 410" in done.stderr
    assert [r.status for r in imds_emulator.requests] == [200, 410]


def test_the_plugin_skips_with_its_reason(pytester, monkeypatch):
    monkeypatch.setattr(netns, "unavailable", lambda: "testing: no namespaces")
    pytester.makepyfile(test_user="""
        import pytest

        @pytest.mark.imds_emulator(link_local=True)
        def test_boot(imds_emulator):
            raise AssertionError("must not run")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no private network namespace for a link-local emulator: "
                                 "testing: no namespaces*"])


def test_a_link_local_emulator_takes_no_host_or_port():
    with pytest.raises(TypeError, match=re.escape(f"{netns.LINK_LOCAL}:80")):
        serve.LinkLocalEmulator(port=8080)
