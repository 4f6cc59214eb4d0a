"""--via systemd-imds (and auto, when its route locks IMDS and its socket exists):
leaf reads through the Varlink socket, against a test double of systemd-imds's
interface; its errors mapped onto the exit codes; what Varlink cannot carry is a
refusal (exit 4) with the remedy."""

from __future__ import annotations

import shutil

import pytest

from tests.lib.mediated import VarlinkServer, short_root, sysroot

VM_ID = "0c6a2b2e-1f5e-4d8a-9d61-5e9c0a3b7f10"


@pytest.fixture
def root(monkeypatch):
    base = short_root()
    path = sysroot(base, vendor="Microsoft Corporation", locked=True)
    monkeypatch.setenv("IMDSCTL_SYSROOT", str(path))
    yield path
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("fast", [False, True])
def test_via_systemd_imds_reads_a_leaf(run, root, monkeypatch, fast):
    run.fast = fast
    monkeypatch.setenv("IMDSCTL_VIA", "systemd-imds")
    with VarlinkServer(root, {"/compute/vmId": VM_ID}) as server:
        done = run("compute", "vm-id")
    assert (done.exit_code, done.stdout) == (0, VM_ID + "\n"), done.stderr
    get = {"method": "io.systemd.InstanceMetadata.Get", "parameters": {"key": "/compute/vmId"}}
    assert server.calls == [get]


@pytest.mark.parametrize("fast", [False, True])
def test_auto_when_the_route_is_locked_and_the_socket_exists(run, root, monkeypatch, fast):
    run.fast = fast
    monkeypatch.delenv("IMDSCTL_ENDPOINT")  # IMDS's own address: the guard fails any packet to it
    with VarlinkServer(root, {"/compute/location": "westeurope"}):
        done = run("compute", "location")
    assert (done.exit_code, done.stdout) == (0, "westeurope\n"), done.stderr


@pytest.mark.parametrize("error, code", [
    ("KeyNotFound", 3), ("NotAvailable", 6), ("Timeout", 6), ("CommunicationFailure", 5),
])
def test_errors_map_onto_the_exit_codes(run, root, error, code):
    with VarlinkServer(root, {}, {"/compute/vmId": error}):
        done = run("compute", "vm-id", "--via", "systemd-imds")
    assert done.exit_code == code, done.stderr
    assert f"io.systemd.InstanceMetadata.{error}" in done.stderr


@pytest.mark.parametrize("args", [
    ("get", "compute"), ("events", "list"), ("identity", "token", "--resource", "https://vault.azure.net"),
    ("attested",),
])
def test_what_varlink_cannot_carry_is_refused_with_the_remedy(run, root, args):
    with VarlinkServer(root, {}) as server:
        done = run(*args, "--via", "systemd-imds")
    assert done.exit_code == 4, done.stderr
    assert "serves leaf values only" in done.stderr and "drop --via" in done.stderr
    assert server.calls == []


def test_no_socket_is_unreachable(run, root):
    done = run("compute", "vm-id", "--via", "systemd-imds")
    assert done.exit_code == 6 and "systemd-imds" in done.stderr
