"""The CLI against the emulator over real loopback sockets.

Each test gets its own emulator on an ephemeral port (the imds_emulator
fixture of imdsctl's pytest plugin, which points IMDSCTL_ENDPOINT at it), so
every documented behaviour and every exit code a fault can provoke is seen
the way a VM would see it.
"""

from __future__ import annotations

import json

import pytest

from imdsctl import catalog
from imdsctl.emulator import load_profile
from tests.lib.helpers import ok

pytestmark = [pytest.mark.e2e, pytest.mark.fast_path]

LINUX = load_profile("linux-2025").instance
SPOT = load_profile("spot-vmss").instance



def query(logged):
    from urllib.parse import parse_qs

    return {k: v[0] for k, v in parse_qs(logged.query).items()}


def statuses(emulator):
    return [r.status for r in emulator.requests]


def test_leaf_for_scripts(run, imds_emulator):
    assert ok(run("compute", "vm-id")).stdout == LINUX["compute"]["vmId"] + "\n"
    assert query(imds_emulator.requests[0])["format"] == "text"


@pytest.mark.imds_emulator(throttle=False)
@pytest.mark.parametrize("field", [f for f in catalog.COMPUTE_FIELDS if f.leaf], ids=lambda f: f.name)
def test_every_compute_leaf_matches_the_profile(run, imds_emulator, field):
    assert ok(run("compute", field.name)).stdout == LINUX["compute"][field.key] + "\n"


@pytest.mark.imds_emulator(throttle=False)
@pytest.mark.parametrize("field", [f for f in catalog.COMPUTE_FIELDS if not f.leaf and f.key != "tags"],
                         ids=lambda f: f.name)
def test_every_compute_container_matches_the_profile(run, imds_emulator, field):
    assert json.loads(ok(run("compute", field.name, "-o", "json")).stdout) == LINUX["compute"][field.key]


def test_get_several_paths_is_one_request(run, imds_emulator):
    result = ok(run("get", "-o", "tsv", "compute/vmId", "compute/location", "compute/zone"))
    c = LINUX["compute"]
    assert result.stdout == f"{c['vmId']}\t{c['location']}\t{c['zone']}\n"
    assert len(imds_emulator.requests) == 1


def test_get_whole_document(run, imds_emulator):
    assert json.loads(ok(run("get")).stdout) == LINUX


def test_tags_from_tags_list_keep_colons_and_semicolons(run, imds_emulator):
    tags = json.loads(ok(run("compute", "tags", "-o", "json")).stdout)
    assert tags == {t["name"]: t["value"] for t in LINUX["compute"]["tagsList"]}
    assert ":" in tags["backup"] and ";" in tags["backup"]


def test_tags_on_an_old_api_version_parse_the_legacy_string(run, imds_emulator):
    result = ok(run("compute", "tags", "--api-version", "2019-02-01", "-o", "json"))
    assert imds_emulator.requests[-1].path == "/metadata/instance/compute/tags"
    assert json.loads(result.stdout)["env"] == "prod"


@pytest.mark.imds_emulator(profile="spot-vmss", throttle=False)
def test_two_nics_by_index_and_by_mac(run, imds_emulator):
    nics = SPOT["network"]["interface"]
    second = nics[1]
    ip = second["ipv4"]["ipAddress"][0]["privateIpAddress"]
    assert ok(run("network", "private-ip", "--nic", "1")).stdout == ip + "\n"
    mac = ":".join(second["macAddress"][i:i + 2] for i in range(0, 12, 2)).lower()
    assert ok(run("network", "private-ip", "--mac", mac)).stdout == ip + "\n"
    second_ip = nics[0]["ipv4"]["ipAddress"][1]["privateIpAddress"]
    assert ok(run("network", "private-ip", "--ip", "1")).stdout == second_ip + "\n"
    rows = json.loads(ok(run("network", "interfaces")).stdout)
    assert [r["macAddress"] for r in rows] == [n["macAddress"] for n in nics]


@pytest.mark.imds_emulator(profile="spot-vmss")
def test_spot_vm_facts(run, imds_emulator):
    assert ok(run("compute", "priority")).stdout == "Spot\n"
    assert ok(run("compute", "eviction-policy")).stdout == SPOT["compute"]["evictionPolicy"] + "\n"


@pytest.mark.imds_emulator(profile="windows-sql-2017")
def test_2017_profile_on_its_own_api_version(run, imds_emulator):
    assert ok(run("compute", "name", "--api-version", "2017-04-02")).stdout == "SQLTest\n"


def test_versions_match_the_catalog(run, imds_emulator):
    assert ok(run("versions", "-o", "tsv")).stdout.split() == list(catalog.INSTANCE_VERSIONS)


def test_latest_api_version(run, imds_emulator):
    ok(run("compute", "vm-id", "--api-version", "latest"))
    assert [r.path for r in imds_emulator.requests] == ["/metadata/versions",
                                                        "/metadata/instance/compute/vmId"]
    assert query(imds_emulator.requests[1])["api-version"] == catalog.DEFAULT_API_VERSION


def test_field_newer_than_the_api_version_exits_3(run, imds_emulator):
    result = ok(run("compute", "user-data", "--api-version", "2020-12-01"), 3)
    assert "appeared in 2021-01-01" in result.stderr


def test_unknown_explicit_api_version_exits_4_listing_versions(run, imds_emulator):
    result = ok(run("compute", "vm-id", "--api-version", "2017-07-01"), 4)
    assert "it offers 2025-04-07, 2024-07-17, 2024-03-15" in result.stderr
    assert len(imds_emulator.requests) == 1


def test_404_from_imds_exits_3(run, imds_emulator):
    result = ok(run("network", "private-ip", "--ip", "9"), 3)
    assert result.stdout == ""
    assert statuses(imds_emulator) == [404]


def test_unknown_field_exits_2_without_a_request(run, imds_emulator):
    ok(run("compute", "vmidd"), 2)
    assert imds_emulator.requests == []


@pytest.mark.imds_emulator(faults=["410*2"])
def test_410_is_answered_by_a_retry(run, imds_emulator):
    assert ok(run("compute", "vm-id")).stdout == LINUX["compute"]["vmId"] + "\n"
    assert statuses(imds_emulator) == [410, 410, 200]


@pytest.mark.parametrize("fault", ["410*inf", "429*inf", "500*inf", "503*inf", "reset*inf",
                                   "truncate*inf"])
def test_kept_failing_exits_5(run, imds_emulator_factory, monkeypatch, fault):
    emulator = imds_emulator_factory(faults=[fault])
    monkeypatch.setenv("IMDSCTL_ENDPOINT", emulator.url)
    result = ok(run("compute", "vm-id", "--timeout", "1"), 5)
    assert result.stdout == ""
    assert result.stderr.startswith("imdsctl: IMDS kept failing for GET /metadata/instance/compute/vmId")
    assert len(emulator.requests) >= 2


@pytest.mark.parametrize("fault", ["reset*1", "truncate*1", "500*1", "429*1"])
def test_one_broken_answer_is_retried(run, imds_emulator_factory, monkeypatch, fault):
    emulator = imds_emulator_factory(faults=[fault])
    monkeypatch.setenv("IMDSCTL_ENDPOINT", emulator.url)
    assert ok(run("compute", "vm-id")).stdout == LINUX["compute"]["vmId"] + "\n"


@pytest.mark.imds_emulator(faults=["delay=3*inf"])
def test_silent_imds_exits_6(run, imds_emulator):
    result = ok(run("compute", "vm-id", "--timeout", "0.5"), 6)
    assert "timed out waiting for the answer" in result.stderr


@pytest.mark.imds_emulator(faults=["html*inf"])
def test_captive_portal_exits_7(run, imds_emulator):
    result = ok(run("get"), 7)
    assert "HTML page" in result.stderr
    assert len(imds_emulator.requests) == 1


def test_proxy_variables_are_ignored(run, imds_emulator, monkeypatch):
    from tests.lib.helpers import CLOSED_PORT

    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{CLOSED_PORT}")
    assert ok(run("compute", "vm-id")).stdout == LINUX["compute"]["vmId"] + "\n"


def test_throttling_is_ridden_out(run, imds_emulator):
    for _ in range(8):
        assert ok(run("compute", "location")).stdout == LINUX["compute"]["location"] + "\n"
    assert 429 in statuses(imds_emulator)
