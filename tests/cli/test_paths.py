"""One path syntax in and out: every key imdsctl prints is a path `get` takes,
and so are the forms people paste (Microsoft's docs, whole URLs)."""

from __future__ import annotations

import json

import pytest

from imdsctl import catalog
from imdsctl.emulator import load_profile
from imdsctl.ui.shapes import flatten
from tests.lib.helpers import ok

pytestmark = [pytest.mark.e2e, pytest.mark.fast_path]

LINUX = load_profile("linux-2025").instance
VM_ID = LINUX["compute"]["vmId"]
DISK = LINUX["compute"]["storageProfile"]["dataDisks"][0]["name"]


@pytest.mark.parametrize("path", [
    "compute/vmId", "/compute/vmId/", "compute.vmId", "vmId",
    "/metadata/instance/compute/vmId", "/metadata/instance/compute/vmId?api-version=2021-02-01&format=text",
])
def test_every_form_of_a_path_reads_the_same_value(run, imds_emulator, path):
    assert ok(run("get", path)).stdout == VM_ID + "\n"


@pytest.mark.parametrize("path", ["compute.storageProfile.dataDisks[0].name",
                                  "storageProfile.dataDisks[0].name",
                                  "compute/storageProfile/dataDisks/0/name"])
def test_the_dotted_form_with_indices(run, imds_emulator, path):
    assert ok(run("get", path)).stdout == DISK + "\n"


def test_every_key_of_text_output_is_a_path_get_takes(run, imds_emulator):
    lines = ok(run("get", "compute", "-o", "text")).stdout.splitlines()
    for line in lines[:40:7]:
        key, _, value = line.partition("\t")
        assert ok(run("get", f"compute.{key}", "-o", "text")).stdout == value + "\n"
        assert ok(run("get", key, "-o", "text")).stdout == value + "\n"  # as compute --all prints it


def test_every_key_of_a_table_is_a_path_get_takes(run, imds_emulator, monkeypatch):
    for key, value in list(flatten(LINUX["network"], "network"))[:6]:
        assert ok(run("get", key, "-o", "text")).stdout == f"{value}\n"


def test_a_pasted_query_string_sets_the_api_version(run, imds_emulator):
    ok(run("get", "/metadata/instance/compute/vmId?api-version=2019-06-01&format=text"))
    assert "api-version=2019-06-01" in imds_emulator.requests[-1].query


def test_api_version_wins_over_a_pasted_one_and_debug_says_which(run, imds_emulator):
    result = ok(run("get", "--api-version", "2021-02-01", "--debug",
                    "/metadata/instance/compute/vmId?api-version=2019-06-01"))
    assert "api-version=2021-02-01" in imds_emulator.requests[-1].query
    assert "api-version 2021-02-01 from --api-version" in result.stderr
    result = ok(run("get", "--debug", "/metadata/instance/compute/vmId?api-version=2019-06-01"))
    assert "api-version 2019-06-01 from the pasted path" in result.stderr


def test_a_whole_url_uses_its_path_and_says_once_the_host_is_not_used(run, imds_emulator):
    url = f"{catalog.DEFAULT_ENDPOINT}/metadata/instance/compute/vmId?api-version=2021-02-01&format=text"
    result = ok(run("get", url, url.replace("vmId", "location")))
    location = LINUX["compute"]["location"]
    assert json.loads(result.stdout) == {"compute/vmId": VM_ID, "compute/location": location}
    assert result.stderr.count(f"the host of {catalog.DEFAULT_ENDPOINT} is not used") == 1
    assert imds_emulator.url in result.stderr


def test_a_url_at_the_endpoint_in_use_says_nothing(run, imds_emulator):
    result = ok(run("get", f"{imds_emulator.url}/metadata/instance/compute/vmId"))
    assert result.stdout == VM_ID + "\n" and result.stderr == ""


def test_a_bad_api_version_is_refused_locally(run, imds_emulator):
    result = run("get", "compute/vmId", "--api-version", "foo")
    assert result.exit_code == 2 and imds_emulator.requests == []
    assert "YYYY-MM-DD" in result.stderr
    assert run("get", "/metadata/instance/compute/vmId?api-version=foo").exit_code == 2


def test_durations_take_an_s(run, imds_emulator):
    assert ok(run("get", "compute/vmId", "--timeout", "5s")).stdout == VM_ID + "\n"
    result = run("get", "compute/vmId", "--timeout", "five")
    assert result.exit_code == 2 and "seconds, e.g. 30" in result.stderr
