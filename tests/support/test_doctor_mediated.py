"""doctor's rows on what mediates IMDS: platform, container, systemd-imds,
interceptor, identity-source, wireserver; the machine's facts from a fixture tree
(IMDSCTL_SYSROOT), the network situations built in a namespace of the test's own."""

from __future__ import annotations

import json

import pytest

from imdsctl.support import platform
from tests.lib.helpers import ok
from tests.lib.mediated import AZURE_TAG, DROP, PROHIBIT, clean_env, imdsctl, in_netns, sysroot


def found(stdout: str) -> dict:
    return {row["check"]: row for row in json.loads(stdout)}


@pytest.fixture
def root(tmp_path, monkeypatch):
    def build(**facts):
        path = sysroot(tmp_path, **facts)
        monkeypatch.setenv("IMDSCTL_SYSROOT", str(path))
        return path
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return build


def test_the_rows_against_an_emulator_on_an_azure_gen2_vm(run, imds_emulator, root):
    root(vendor="Microsoft Corporation", asset_tag=AZURE_TAG, product="Virtual Machine", efi=True)
    rows = found(ok(run("doctor", "-o", "json")).stdout)
    assert (rows["platform"]["verdict"], rows["container"]["verdict"]) == ("ok", "ok")
    assert "an Azure VM (generation 2)" in rows["platform"]["detail"]
    assert rows["container"]["detail"] == "not in a container"
    assert rows["systemd-imds"]["detail"] == "no locked route, no systemd-imds socket"
    assert (rows["interceptor"]["verdict"], rows["interceptor"]["detail"]) == ("ok", "IMDS answered directly")
    assert rows["identity-source"]["verdict"] == "ok"
    assert rows["wireserver"]["verdict"] == "skip"  # never asked but at IMDS's own address
    assert all(set(row) == {"check", "verdict", "detail", "remedy"} for row in rows.values())


def test_a_table_shows_the_rows(run, imds_emulator, root):
    root(vendor="QEMU")
    table = ok(run("doctor", "-o", "table")).stdout
    lines = {line.split()[1]: line.split()[0] for line in table.splitlines() if line[:1].isalpha()}
    assert (lines["platform"], lines["interceptor"], lines["wireserver"]) == ("warn", "ok", "skip")


def test_a_pod_on_its_own_network_and_workload_identity(run, imds_emulator, root, monkeypatch):
    root(pod=True, cgroup="0::/kubepods/besteffort/pod1\n")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    rows = found(ok(run("doctor", "-o", "json")).stdout)
    assert rows["container"]["verdict"] == "warn"
    assert "Kubernetes pod with its own network" in rows["container"]["detail"]
    assert "hostNetwork" in rows["container"]["remedy"]
    assert "Workload Identity" in rows["identity-source"]["detail"]


@pytest.mark.parametrize("names, said", [
    (("IDENTITY_ENDPOINT", "IDENTITY_HEADER"), "App Service"),
    (("IDENTITY_ENDPOINT", "IMDS_ENDPOINT"), "Azure Arc"),
    (("MSI_ENDPOINT",), "Cloud Shell"),
])
def test_identity_sources(names, said):
    row = platform.identity_row({name: "x" for name in names}, "imds")
    assert (row[1], said in row[2]) == ("warn", True)


def test_the_systemd_imds_row(tmp_path):
    locked = platform.systemd_row(str(sysroot(tmp_path / "a", locked=True)))
    assert (locked[1], locked[4]) == ("fail", 6) and "locked by systemd-imds" in locked[2]
    served = sysroot(tmp_path / "b", locked=True)
    (served / "run/systemd").mkdir(parents=True)
    (served / "run/systemd/io.systemd.InstanceMetadata").write_text("")
    assert platform.systemd_row(str(served))[1] == "warn"


def test_the_wireserver_row():
    def answers(port, timeout):
        return "HTTP/1.1 200 OK" if port == 80 else "accepted"

    def refuses_32526(port, timeout):
        if port == 32526:
            raise ConnectionRefusedError(111, "Connection refused")
        return "HTTP/1.1 200 OK"

    row = platform.wireserver_row(True, 1.0, answers)
    assert row[1] == "ok" and ":80 HTTP/1.1 200 OK" in row[2] and ":32526 accepted" in row[2]
    row = platform.wireserver_row(True, 1.0, refuses_32526)
    assert row[1] == "warn" and ":32526 Connection refused" in row[2]


def test_doctor_tells_a_prohibit_route_from_a_pods_drop(tmp_path):
    azure = dict(vendor="Microsoft Corporation", asset_tag=AZURE_TAG)
    argv = imdsctl("doctor", "-o", "json", "--timeout", "6")
    vm = sysroot(tmp_path / "a", **azure)
    code, out, err = in_netns(PROHIBIT, argv, clean_env(IMDSCTL_SYSROOT=str(vm)))
    assert code == 6, err
    assert "locked by systemd-imds" in found(out)["tcp-connect"]["detail"]
    pod = sysroot(tmp_path / "b", pod=True, **azure)
    env = clean_env(IMDSCTL_SYSROOT=str(pod), KUBERNETES_SERVICE_HOST="10.0.0.1")
    code, out, err = in_netns(DROP, argv, env)
    assert code == 6, err
    assert "IMDS restricted for pods" in found(out)["tcp-connect"]["detail"]


def test_collect_carries_every_doctor_row(run, imds_emulator, root, tmp_path):
    import tarfile

    root(vendor="QEMU")
    target = tmp_path / "case.tar.gz"
    ok(run("collect", "-f", str(target)))
    with tarfile.open(target) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/doctor.json"))
        rows = json.loads(archive.extractfile(member).read())
    by_check = {row["check"]: row for row in rows}
    doctor = json.loads(ok(run("doctor", "-o", "json")).stdout)
    assert list(by_check) == [row["check"] for row in doctor]  # the same rows, in doctor's order
    assert {"platform", "container", "proxy", "route", "tcp-connect", "imds-answer", "instance",
            "interceptor", "identity-source", "systemd-imds", "wireserver", "user"} <= set(by_check)
    assert by_check["platform"]["verdict"] == "warn"
    assert by_check["imds-answer"]["verdict"] == "ok" and by_check["instance"]["verdict"] == "ok"
    assert all(set(row) == {"check", "verdict", "detail", "remedy"} for row in rows)
