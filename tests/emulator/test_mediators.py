"""The emulator's `--as` modes: the Guest Proxy Agent (Enforce, Audit) and
aad-pod-identity's NMI in front of the emulated IMDS, and what an ordinary read
says when it meets them (exit 4 and a hint naming the cause)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from imdsctl.emulator import Emulator
from imdsctl.emulator.mediators import peer_uid
from tests.lib.mediated import imdsctl


def read(imds: Emulator, *args: str, user: bool = False) -> subprocess.CompletedProcess:
    argv = imdsctl(*args, "--timeout", "5")
    if user:
        from tests.lib.mediated import nobody_can_run_imdsctl_or_skip

        nobody_can_run_imdsctl_or_skip()
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    env = {**os.environ, "IMDSCTL_ENDPOINT": imds.url, "HOME": "/tmp"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("extra", [(), ("--debug",)])
def test_gpa_enforce_refuses_a_uid_not_allowed(extra):
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the read as another uid")
    with Emulator(as_="gpa-enforce", allow_uids=[0]) as imds:
        assert read(imds, "compute", "vm-id", *extra).returncode == 0
        refused = read(imds, "compute", "vm-id", *extra, user=True)
    assert refused.returncode == 4, refused.stderr
    assert "the Guest Proxy Agent refused" in refused.stderr
    assert "inVMAccessControlProfile" in refused.stderr


def test_gpa_answers_carry_its_header_and_doctor_sees_it():
    with Emulator(as_="gpa-audit", allow_uids=[]) as imds:  # audit: nobody allowed, nothing refused
        done = read(imds, "doctor", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert "through the Guest Proxy Agent" in done.stdout


def test_gpa_enforce_in_doctor():
    with Emulator(as_="gpa-enforce", allow_uids=[]) as imds:
        done = read(imds, "doctor", "-o", "json")
    assert done.returncode == 4, done.stderr
    assert "refused by the Guest Proxy Agent's rules" in done.stdout


def test_nmi_refuses_a_token_in_its_own_words():
    with Emulator(as_="nmi") as imds:
        assert read(imds, "compute", "vm-id").returncode == 0  # instance requests pass through
        done = read(imds, "identity", "token", "--resource", "https://management.azure.com/")
    assert done.returncode == 4, done.stderr
    assert "aad-pod-identity's NMI" in done.stderr and "AzureIdentityBinding" in done.stderr


def test_the_peer_uid_of_a_loopback_client():
    with Emulator() as imds, socket.create_connection(("127.0.0.1", imds.port), timeout=5) as conn:
        host, port = conn.getsockname()
        assert peer_uid(host, port) == os.geteuid()


def test_the_cli_takes_as():
    done = subprocess.run([sys.executable, "-m", "imdsctl", "emulator", "serve", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert "gpa-enforce" in done.stdout and "--allow-uid" in done.stdout


def test_gpa_enforce_at_the_real_address():
    """`emulate --link-local --as gpa-enforce`: a non-root read at IMDS's own address
    (in the namespace emulate makes, lo only) is refused, exit 4, the cause named."""
    from tests.lib.mediated import netns_or_skip

    netns_or_skip()
    from tests.lib.mediated import nobody_can_run_imdsctl_or_skip

    nobody_can_run_imdsctl_or_skip()
    argv = imdsctl("emulate", "--link-local", "--as", "gpa-enforce", "--", "setpriv", "--reuid=65534",
                   "--regid=65534", "--clear-groups", *imdsctl("compute", "vm-id", "--timeout", "5"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMDSCTL_")}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=90, env={**env, "HOME": "/tmp"})
    assert done.returncode == 4, done.stderr
    assert "refused by the Guest Proxy Agent's rules" in done.stderr
