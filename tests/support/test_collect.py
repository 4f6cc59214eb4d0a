"""`imdsctl collect`: the bundle's contents, redaction, partial failures,
exit codes and atomic writes.

End-to-end tests run against the emulator. Scheduled events, attested data and
identity info are pinned with faults (or mocked with pytest-httpx), so these
tests hold whether or not the emulator serves those families.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Dict

import pytest

from imdsctl import catalog
from imdsctl.emulator import load_profile
from imdsctl.support import facts
from imdsctl.support.redact import MARKER, redact
from tests.lib.helpers import BASE, ok

LINUX = load_profile("linux-2025")
SPOT = load_profile("spot-vmss").instance
V = catalog.DEFAULT_API_VERSION

#: Faults that fix the outcome of the endpoints other engineers emulate.
PINNED = ["410*inf@/metadata/scheduledevents", "html*inf@/metadata/attested",
          "404*inf@/metadata/identity"]
QUIET = [f.replace("410", "404").replace("html", "404") for f in PINNED]



def members(path: Path) -> Dict[str, bytes]:
    """{member name without the top directory: bytes} of a tar.gz or zip bundle."""
    data = path.read_bytes()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            found = {info.filename: archive.read(info) for info in archive.infolist()}
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            found = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}
    tops = {name.split("/")[0] for name in found}
    assert tops == {path.name.split(".")[0]}, tops
    return {name.split("/", 1)[1]: data for name, data in found.items()}


def document(files: Dict[str, bytes], name: str):
    return json.loads(files[name])


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in an empty directory, the bundle's default destination."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- end to end ----------------------------------------------------------------------------


@pytest.mark.imds_emulator(profile="spot-vmss", throttle=False, faults=PINNED)
def test_partial_failures_are_recorded_not_fatal(run, imds_emulator, here):
    result = ok(run("collect", "--timeout", "2", "-o", "json"))
    assert result.stderr == ""  # no progress when stderr is not a terminal
    summary = json.loads(result.stdout)
    path = Path(summary["file"])
    assert path.parent == here
    assert path.name.startswith(f"imds-{SPOT['compute']['vmId']}-") and path.name.endswith("Z.tar.gz")
    assert summary["bytes"] == path.stat().st_size
    assert (path.stat().st_mode & 0o777) == 0o600
    assert [(f["source"], f["exit_code"]) for f in summary["failures"]] == [
        ("loadbalancer", 3), ("scheduled-events", 5), ("attested", 7), ("identity-info", 3)]

    files = members(path)
    assert sorted(files) == ["doctor.json", "environment.json", "instance.json", "manifest.json",
                             "requests.json", "versions.json"]
    assert summary["entries"] == len(files)
    assert document(files, "versions.json") == {"apiVersions": list(catalog.INSTANCE_VERSIONS)}
    assert document(files, "instance.json")["compute"]["vmId"] == SPOT["compute"]["vmId"]

    calls = {c["source"]: c for c in document(files, "requests.json")}
    assert [c["outcome"] for c in calls.values()] == ["ok", "ok", "failed", "failed", "failed", "failed"]
    assert calls["instance"]["api_version"] == V
    assert calls["loadbalancer"]["api_version"] == catalog.LOADBALANCER_API_VERSION
    assert calls["loadbalancer"]["hint"].startswith("normal when no Standard SKU load balancer")
    storm = calls["scheduled-events"]
    assert storm["api_version"] == catalog.SCHEDULED_EVENTS_API_VERSION
    assert storm["status"] == 410 and len(storm["attempts"]) >= 2
    assert {a["outcome"] for a in storm["attempts"]} == {"410"}
    assert all(a["seconds"] >= 0 for c in calls.values() for a in c["attempts"])
    assert calls["identity-info"]["api_version"] == catalog.IDENTITY_API_VERSION
    assert "HTML page" in calls["attested"]["error"]

    manifest = document(files, "manifest.json")
    assert manifest["redacted"] is True
    assert [f["exit_code"] for f in manifest["failures"]] == [3, 5, 7, 3]
    assert manifest["failures"][1]["meaning"].startswith("IMDS kept failing")
    assert {f["name"].split("/", 1)[1] for f in manifest["files"]} == set(files) - {"manifest.json"}
    assert not any(r.path.startswith(catalog.IDENTITY_TOKEN_PATH) for r in imds_emulator.requests)

    environment = document(files, "environment.json")
    assert environment["endpoint"] == imds_emulator.url
    assert environment["variables_set"]["IMDSCTL_ENDPOINT"] is True
    assert environment["variables_set"]["HTTP_PROXY"] is False
    assert environment["route_to_imds"]["address"] == catalog.IMDS_ADDRESS
    assert {"imdsctl", "python", "system", "platform"} <= set(environment)


@pytest.mark.imds_emulator(throttle=False, faults=PINNED)
@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_redacted_bundle_holds_no_secret_bytes(run, imds_emulator, here, fmt):
    compute = LINUX.instance["compute"]
    secrets = [compute["userData"], compute["publicKeys"][0]["keyData"].split()[1],
               compute["osProfile"]["adminUsername"]]
    summary = json.loads(ok(run("collect", "--format", fmt, "--timeout", "2", "-o", "json")).stdout)
    path = Path(summary["file"])
    assert path.suffix == ".zip" if fmt == "zip" else path.name.endswith(".tar.gz")
    files = members(path)
    for data in files.values():
        for secret in secrets:
            assert secret.encode() not in data
    assert document(files, "loadbalancer.json") == {"loadbalancer": LINUX.loadbalancer}
    manifest = document(files, "manifest.json")
    assert [(r["file"], r["path"]) for r in manifest["redactions"]] == [
        ("instance.json", "compute/osProfile/adminUsername"),
        ("instance.json", "compute/publicKeys/0/keyData"),
        ("instance.json", "compute/publicKeys/0/path"),
        ("instance.json", "compute/userData")]
    assert all(r["reason"] for r in manifest["redactions"])
    assert summary["redactions"] == 4
    instance = document(files, "instance.json")
    assert instance["compute"]["userData"] == MARKER
    assert instance["compute"]["customData"] == ""  # nothing to hide
    assert instance["compute"]["osProfile"]["computerName"] == compute["osProfile"]["computerName"]


@pytest.mark.imds_emulator(throttle=False, faults=PINNED)
def test_no_redact_keeps_everything_and_warns(run, imds_emulator, here):
    result = ok(run("collect", "--no-redact", "--timeout", "2", "-o", "json"))
    assert "warning: --no-redact" in result.stderr
    files = members(Path(json.loads(result.stdout)["file"]))
    assert document(files, "instance.json") == LINUX.instance
    assert document(files, "manifest.json")["redactions"] == []
    assert document(files, "manifest.json")["redacted"] is False


@pytest.mark.imds_emulator(throttle=False, faults=["delay=5*inf@/metadata/scheduledevents", *QUIET[1:]])
def test_a_silent_endpoint_does_not_starve_the_others(run, imds_emulator, here):
    started = time.monotonic()
    summary = json.loads(ok(run("collect", "--timeout", "2", "-o", "json")).stdout)
    assert time.monotonic() - started < 4
    failed = {f["source"]: f["exit_code"] for f in summary["failures"]}
    assert failed == {"scheduled-events": 6, "attested": 3, "identity-info": 3}
    asked = {r.path for r in imds_emulator.requests}
    assert {catalog.ATTESTED_PATH, catalog.IDENTITY_INFO_PATH} <= asked


def test_unreachable_imds_still_writes_the_environment_and_exits_6(run, here):
    started = time.monotonic()
    result = ok(run("collect", "--timeout", "1", "-o", "json"), 6)
    assert time.monotonic() - started < 3
    assert result.stdout == ""
    assert result.stderr.startswith("imdsctl: no IMDS endpoint answered (IMDS at http://127.0.0.1:")
    [path] = here.iterdir()
    assert f"wrote {path}" in result.stderr
    assert path.name.startswith(f"imds-{facts.platform_facts()['hostname']}-")
    files = members(path)
    assert sorted(files) == ["doctor.json", "environment.json", "manifest.json", "requests.json"]
    calls = document(files, "requests.json")
    assert [c["outcome"] for c in calls] == ["failed"] + ["skipped"] * 5
    assert calls[0]["exit_code"] == 6
    rows = {row["check"]: row for row in document(files, "doctor.json")}
    assert rows["tcp-connect"]["verdict"] == "fail" and rows["imds-answer"]["verdict"] == "skip"


@pytest.mark.imds_emulator(faults=["html*inf"])
def test_nothing_but_html_exits_7(run, imds_emulator, here):
    result = ok(run("collect", "--timeout", "2"), 7)
    assert "HTML page" in result.stderr
    [path] = here.iterdir()
    assert len(document(members(path), "manifest.json")["failures"]) == 6


@pytest.mark.parametrize(("fault", "code"), [("503*inf", 5), ("400*inf", 4), ("404*inf", 3)])
def test_nothing_answered_exits_with_the_most_telling_code(run, imds_emulator_factory, monkeypatch, here,
                                                           fault, code):
    emulator = imds_emulator_factory(faults=[fault])
    monkeypatch.setenv("IMDSCTL_ENDPOINT", emulator.url)
    result = ok(run("collect", "--timeout", "1"), code)
    assert result.stderr.startswith("imdsctl: no IMDS endpoint answered (")
    [path] = here.iterdir()
    assert {f["exit_code"] for f in document(members(path), "manifest.json")["failures"]} == {code}


@pytest.mark.parametrize("endpoint", ["ftp://127.0.0.1", "http://127.0.0.1:99999"])
def test_a_bad_endpoint_exits_2_and_writes_nothing(run, here, endpoint):
    ok(run("collect", "--endpoint", endpoint), 2)
    assert list(here.iterdir()) == []


@pytest.mark.imds_emulator(throttle=False, faults=PINNED)
def test_skip_and_file_name(run, imds_emulator, here):
    target = here / "case-42.zip"
    summary = json.loads(ok(run("collect", "-f", str(target), "--skip", "scheduled-events", "--skip",
                                "attested", "--skip", "identity-info", "-o", "json")).stdout)
    assert summary["file"] == str(target) and summary["format"] == "zip"
    assert summary["failures"] == []
    files = members(target)
    assert [c["source"] for c in document(files, "requests.json")] == ["versions", "instance",
                                                                       "loadbalancer"]
    assert {r.path for r in imds_emulator.requests} == {catalog.VERSIONS_PATH, catalog.INSTANCE_PATH,
                                                        catalog.LOADBALANCER_PATH}


@pytest.mark.imds_emulator(throttle=False, faults=PINNED)
def test_a_directory_gets_the_default_name(run, imds_emulator, here):
    (here / "out").mkdir()
    summary = json.loads(ok(run("collect", "-f", "out", "--format", "zip", "--timeout", "2",
                                "-o", "json")).stdout)
    assert Path(summary["file"]).parent == here / "out"
    assert summary["file"].endswith(".zip")


@pytest.mark.parametrize(("args", "message"), [
    (["-f", "x.zip", "--format", "tar.gz"], "--format tar.gz does not match the file name x.zip"),
    (["-f", "nowhere/x.tar.gz"], "no directory nowhere"),
])
def test_bad_target_exits_2_before_any_request(run, imds_emulator, here, args, message):
    result = ok(run("collect", *args), 2)
    assert message in result.stderr
    assert imds_emulator.requests == []
    assert list(here.iterdir()) == []


# -- atomicity ---------------------------------------------------------------------------------


@pytest.fixture
def quick(imds_emulator_factory, monkeypatch, here):
    emulator = imds_emulator_factory(throttle=False, faults=QUIET)
    monkeypatch.setenv("IMDSCTL_ENDPOINT", emulator.url)
    return emulator


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(run, quick, here, monkeypatch):
    target = here / "bundle.tar.gz"
    target.write_bytes(b"the previous bundle")

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("imdsctl.support.bundle.os.replace", full)
    result = ok(run("collect", "-f", str(target)), 8)  # OUTPUT: the disk is full (issue 18)
    assert result.stderr.startswith(f"imdsctl: cannot write {target}: No space left on device")
    assert list(here.iterdir()) == [target]
    assert target.read_bytes() == b"the previous bundle"


def test_ctrl_c_while_writing_leaves_no_file(run, quick, here, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr("imdsctl.support.bundle.os.fsync", interrupted)
    result = ok(run("collect"), 130)
    assert result.stderr == "imdsctl: interrupted\n"
    assert list(here.iterdir()) == []


def test_ctrl_c_while_asking_leaves_no_file(run, quick, here, monkeypatch):
    from imdsctl.imds.client import ImdsClient

    real = ImdsClient.request

    def request(self, method, path, **kwargs):
        if path == catalog.ATTESTED_PATH:
            raise KeyboardInterrupt
        return real(self, method, path, **kwargs)

    monkeypatch.setattr(ImdsClient, "request", request)
    ok(run("collect"), 130)
    assert list(here.iterdir()) == []


def test_sigint_during_a_slow_answer_leaves_no_file(imds_emulator_factory, here):
    """A real Ctrl-C (SIGINT) to a real process, while IMDS holds an answer back."""
    emulator = imds_emulator_factory(throttle=False, faults=["delay=10*inf@/metadata/attested",
                                                             QUIET[0], QUIET[2]])
    env = {**os.environ, "IMDSCTL_ENDPOINT": emulator.url}
    process = subprocess.Popen([sys.executable, "-m", "imdsctl", "collect"], cwd=here, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while catalog.SCHEDULED_EVENTS_PATH not in {r.path for r in emulator.requests}:
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.05)
        time.sleep(0.2)  # now waiting for the attested document
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr.decode() == "imdsctl: interrupted\n"
    assert list(here.iterdir()) == []


# -- the endpoints the emulator may not serve, mocked ---------------------------------------------

ATTESTED = {"encoding": "pkcs7", "signature": "MIIKWQYJKoZIhvcNAQcCoIIKSjCCCkYCAQExDzANBglghkgBZQMEAgEFADCB"}
EVENTS = {"DocumentIncarnation": 2, "Events": [{
    "EventId": "C7061BAC-AFDC-4513-B24B-AA5F13A16123", "EventStatus": "Scheduled", "EventType": "Freeze",
    "ResourceType": "VirtualMachine", "Resources": ["web-01"], "NotBefore": "Mon, 11 Apr 2026 22:26:58 GMT",
    "Description": "", "EventSource": "Platform", "DurationInSeconds": 5}]}
TENANT = {"tenantId": "abd8daee-d393-4239-9377-883adda3d40f"}


@pytest.fixture
def imds(imds, monkeypatch, here):
    monkeypatch.delenv("IMDSCTL_TIMEOUT")
    unlooked = {"source": None, "route": None, "commands": [], "error": "not looked up"}
    monkeypatch.setattr(facts, "route_to", lambda address, **kw: {"address": address, **unlooked})
    for path, version, body in [
            (catalog.VERSIONS_PATH, None, {"apiVersions": list(catalog.INSTANCE_VERSIONS)}),
            (catalog.INSTANCE_PATH, V, LINUX.instance),
            (catalog.LOADBALANCER_PATH, catalog.LOADBALANCER_API_VERSION,
             {"loadbalancer": LINUX.loadbalancer}),
            (catalog.SCHEDULED_EVENTS_PATH, catalog.SCHEDULED_EVENTS_API_VERSION, EVENTS),
            (catalog.ATTESTED_PATH, V, ATTESTED),
            (catalog.IDENTITY_INFO_PATH, catalog.IDENTITY_API_VERSION, TENANT)]:
        query = f"?api-version={version}" if version else ""
        for _ in range(2 if path in (catalog.VERSIONS_PATH, catalog.INSTANCE_PATH) else 1):  # doctor asks too
            imds.add_response(url=f"{BASE}{path}{query}", json=body)
    return imds


def test_every_endpoint_answering(run, imds):
    summary = json.loads(ok(run("collect", "-o", "json")).stdout)
    assert summary["failures"] == []
    files = members(Path(summary["file"]))
    assert document(files, "scheduled-events.json") == EVENTS
    assert document(files, "identity-info.json") == TENANT
    assert document(files, "attested.json") == {"encoding": "pkcs7", "signature": MARKER}
    assert ATTESTED["signature"].encode() not in b"".join(files.values())
    redactions = document(files, "manifest.json")["redactions"]
    assert {"file": "attested.json", "path": "signature", "length": len(ATTESTED["signature"]),
            "reason": redactions[-1]["reason"]} == redactions[-1]
    assert "identity" in redactions[-1]["reason"]
    paths = [r.url.path for r in imds.get_requests()]
    assert catalog.IDENTITY_TOKEN_PATH not in paths and len(paths) == 6 + 2  # doctor: versions, instance
    assert paths[6:] == [catalog.VERSIONS_PATH, catalog.INSTANCE_PATH]


def test_the_summary_as_a_table_for_people(run, imds, here, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # the path whole, however long the temporary directory
    result = ok(run("collect", "-o", "table"))
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:] if line.strip()]
    assert {"file", "format", "bytes", "entries", "redacted", "redactions"} <= set(rows)
    [path] = here.iterdir()
    assert path.name[:20] in result.stdout


# -- redaction rules ---------------------------------------------------------------------------------


def test_redaction_is_leaf_by_leaf_and_keeps_the_shape():
    document = {"compute": {"publicKeys": [{"keyData": "ssh-rsa AAAA", "path": "/home/a/.ssh/k"},
                                           {"keyData": "", "path": "/p"}],
                            "userData": "", "customData": "c2VjcmV0", "vmId": "x"}}
    redacted, found = redact(catalog.INSTANCE_PATH, document)
    assert redacted == {"compute": {"publicKeys": [{"keyData": MARKER, "path": MARKER},
                                                   {"keyData": "", "path": MARKER}],
                                    "userData": "", "customData": MARKER, "vmId": "x"}}
    assert [(r.path, r.length) for r in found] == [
        ("compute/publicKeys/0/keyData", 12), ("compute/publicKeys/0/path", 14),
        ("compute/publicKeys/1/path", 2), ("compute/customData", 8)]
    assert document["compute"]["customData"] == "c2VjcmV0"  # the input is left alone
    assert redact(catalog.INSTANCE_PATH, redacted)[1] == []  # redacting twice finds nothing new


@pytest.mark.parametrize("path", catalog.SENSITIVE_PATHS)
def test_every_sensitive_path_of_the_catalog_is_redacted(path):
    document: dict = {}
    node = document
    *parents, key = path.split("/")
    for part in parents:
        node = node.setdefault(part, {})
    node[key] = "secret"
    redacted, found = redact(catalog.INSTANCE_PATH, document)
    assert "secret" not in json.dumps(redacted) and [r.path for r in found] == [path]


def test_tokens_are_redacted_by_key_anywhere():
    redacted, found = redact(catalog.SCHEDULED_EVENTS_PATH, {"x": [{"access_token": "eyJ0", "ok": "1"}]})
    assert redacted == {"x": [{"access_token": MARKER, "ok": "1"}]}
    assert found[0].reason.startswith("a bearer token")


def test_other_endpoints_are_not_redacted_by_instance_rules():
    assert redact(catalog.LOADBALANCER_PATH, {"compute": {"userData": "x"}})[1] == []


def test_doctors_checks_wait_out_collects_own_burst():
    from imdsctl.support.collect import _pause

    assert _pause([], 10.0) == 0.0
    assert _pause([9.5, 9.6, 9.7], 10.0) == 0.0            # three in the last second leave room for two
    assert _pause([9.4, 9.5, 9.6, 9.7], 10.0) == pytest.approx(0.4)  # the oldest of four must age out
    assert _pause([1.0, 2.0, 3.0, 4.0], 10.0) == 0.0


def test_the_bundles_doctor_rows_see_imds_not_collects_own_burst(run, imds_emulator, here):
    """Against IMDS's 5 requests a second, doctor's throttling and latency rows in the bundle
    are about doctor's own requests, made once collect's burst has aged out."""
    summary = json.loads(ok(run("collect", "-o", "json")).stdout)
    rows = {row["check"]: row for row in document(members(Path(summary["file"])), "doctor.json")}
    assert rows["throttling"]["verdict"] == "ok", rows["throttling"]
    assert rows["latency"]["detail"].startswith("2 answer(s)"), rows["latency"]
