"""`imdsctl emulate --link-local` as root: COMMAND runs in a user namespace of
its own, so it has no capability over the host (#18.12).  No test here sends a
packet: the escapes tried run `true` or only open and setns(2)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from imdsctl.emulator.linklocal import netns

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(os.geteuid() != 0, reason="COMMAND's own user namespace is root's case")]

EMULATE = [sys.executable, "-m", "imdsctl", "emulate", "--link-local", "--"]

#: A process in the host's namespaces that this test may reach (PID 1 may be another container's).
HOST = os.getpid()
SETNS = textwrap.dedent(f"""\
    import ctypes, errno, os
    libc = ctypes.CDLL(None, use_errno=True)
    for name in ("net", "mnt"):
        try:
            fd = os.open(f"/proc/{HOST}/ns/{{name}}", os.O_RDONLY)
        except OSError as exc:
            print(name, errno.errorcode[exc.errno]); continue
        code = libc.setns(fd, 0)
        print(name, "joined" if code == 0 else errno.errorcode[ctypes.get_errno()])
    """)


@pytest.fixture(scope="module")
def namespaces():
    reason = netns.probe()
    if reason is not None:
        pytest.skip(f"no private network namespace here: {reason}")


def emulate(*command):
    return subprocess.run([*EMULATE, *command], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_nsenter_into_the_hosts_network_fails(namespaces):
    done = emulate("nsenter", f"--net=/proc/{HOST}/ns/net", "true")
    assert done.returncode != 0
    assert "Permission denied" in done.stderr or "Operation not permitted" in done.stderr


def test_setns_into_the_hosts_namespaces_fails(namespaces):
    done = emulate(sys.executable, "-c", SETNS)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    for name in ("net", "mnt"):
        assert any(line in (f"{name} EPERM", f"{name} EACCES") for line in lines), done.stdout


def test_command_has_no_capability_in_the_hosts_user_namespace(namespaces):
    done = emulate(sys.executable, "-c", "print(open('/proc/self/uid_map').read().split())")
    assert done.returncode == 0, done.stderr
    assert os.readlink("/proc/self/ns/user") != ""
    inside = emulate("readlink", "/proc/self/ns/user").stdout.strip()
    assert inside and inside != os.readlink("/proc/self/ns/user")


def test_a_root_command_still_reads_imds_and_writes_root_owned_files(namespaces, tmp_path):
    target = tmp_path / "owned"
    target.write_text("before")
    os.chmod(target, 0o600)
    script = f"id -u; imdsctl compute vm-id; echo after > {target}; ls -n {target}"
    done = emulate("sh", "-c", script)
    assert done.returncode == 0, done.stderr
    uid, vm_id, listing = done.stdout.splitlines()
    assert uid == "0" and len(vm_id) == 36
    assert target.read_text() == "after\n" and listing.split()[2:4] == ["0", "0"]


def test_a_root_command_may_still_bind_port_80_in_the_namespace(namespaces):
    bind = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 80)); print('bound')"
    done = emulate(sys.executable, "-c", bind)
    assert done.returncode == 0 and done.stdout == "bound\n", done.stderr
