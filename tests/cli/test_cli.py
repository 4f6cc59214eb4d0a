"""The CLI against pytest-httpx: every catalog field, every exit code.

IMDSCTL_ENDPOINT is set to the real IMDS address here on purpose: httpx_mock
answers every request in-process, so nothing leaves the test, and the URLs
asserted are the ones a VM would see.
"""

from __future__ import annotations

import json

import httpx
import pytest

from imdsctl import catalog
from tests.lib.helpers import BASE, ok

V = catalog.DEFAULT_API_VERSION
VMID = "02aab8a4-74ef-476e-8182-f6d2ba4166a6"

NIC0 = {
    "ipv4": {"ipAddress": [{"privateIpAddress": "10.0.0.4", "publicIpAddress": "203.0.113.10"},
                           {"privateIpAddress": "10.0.0.5", "publicIpAddress": ""}],
             "subnet": [{"address": "10.0.0.0", "prefix": "24"}]},
    "ipv6": {"ipAddress": [{"privateIpAddress": "fd00::4"}]},
    "macAddress": "000D3A1B2C3D",
}
NIC1 = {
    "ipv4": {"ipAddress": [{"privateIpAddress": "10.1.0.4", "publicIpAddress": ""}],
             "subnet": [{"address": "10.1.0.0", "prefix": "26"}]},
    "ipv6": {"ipAddress": []},
    "macAddress": "000D3A4E5F60",
}
DOC = {
    "compute": {"location": "westeurope", "vmId": VMID, "zone": "",
                "tagsList": [{"name": "env", "value": "prod"}, {"name": "odd", "value": "a:b;c"}]},
    "network": {"interface": [NIC0, NIC1]},
}


def url(route: str = "", text: bool = False, version: str = V) -> str:
    path = "/metadata/instance" + (f"/{route}" if route else "")
    return f"{BASE}{path}?api-version={version}" + ("&format=text" if text else "")





# -- get ---------------------------------------------------------------------------


def test_get_without_path_prints_the_document(imds, run):
    imds.add_response(url=url(), json=DOC)
    assert json.loads(ok(run("get")).stdout) == DOC


def test_get_leaf_prints_bare_value(imds, run):
    imds.add_response(url=url(), json=DOC)
    result = ok(run("get", "compute/vmId"))
    assert result.stdout == VMID + "\n"
    assert result.stderr == ""


def test_get_index_path(imds, run):
    imds.add_response(url=url(), json=DOC)
    assert ok(run("get", "network/interface/0/ipv4/ipAddress/0/publicIpAddress")).stdout == \
        "203.0.113.10\n"


def test_get_several_paths_uses_one_request(imds, run):
    imds.add_response(url=url(), json=DOC)
    result = ok(run("get", "compute/vmId", "compute/location/", "-o", "json"))
    assert json.loads(result.stdout) == {"compute/vmId": VMID, "compute/location": "westeurope"}
    assert len(imds.get_requests()) == 1


def test_get_several_paths_as_tsv_for_read(imds, run):
    imds.add_response(url=url(), json=DOC)
    assert ok(run("get", "compute/vmId", "compute/location", "-o", "tsv")).stdout == \
        f"{VMID}\twesteurope\n"


def test_get_env_output(imds, run):
    imds.add_response(url=url(), json=DOC)
    assert ok(run("get", "-o", "env", "compute/vmId", "compute/location")).stdout == \
        f"IMDS_COMPUTE_VMID='{VMID}'\nIMDS_COMPUTE_LOCATION='westeurope'\n"


@pytest.mark.parametrize("path", ["compute/nothing", "compute/VMID", "network/interface/7",
                                  "compute/vmId/deeper", "network/interface/x"])
def test_get_missing_path_exits_3(imds, run, path):
    imds.add_response(url=url(), json=DOC)
    result = ok(run("get", path), 3)
    assert result.stdout == ""
    assert result.stderr.startswith(f"imdsctl: IMDS has no {path}")


def test_get_field_absent_in_older_api_version_says_why(imds, run):
    imds.add_response(url=url(version="2019-06-01"), json={"compute": {}})
    result = ok(run("get", "compute/userData", "--api-version", "2019-06-01"), 3)
    assert "appeared in 2021-01-01" in result.stderr


# -- compute -----------------------------------------------------------------------


LEAVES = [f for f in catalog.COMPUTE_FIELDS if f.leaf]
CONTAINERS = [f for f in catalog.COMPUTE_FIELDS if not f.leaf and f.key != "tags"]


@pytest.mark.parametrize("field", LEAVES, ids=lambda f: f.name)
def test_every_compute_leaf_is_fetched_as_text(imds, run, field):
    imds.add_response(url=url(field.path, text=True), text=f"value of {field.key}", is_reusable=True)
    for name in {field.name, field.key, field.key.lower(), field.key.upper(), *field.aliases}:
        assert ok(run("compute", name)).stdout == f"value of {field.key}\n"


@pytest.mark.parametrize("field", CONTAINERS, ids=lambda f: f.name)
def test_every_compute_container_is_fetched_as_json(imds, run, field):
    value = [{"x": "1"}] if field.key in ("publicKeys", "tagsList") else {"x": "1"}
    imds.add_response(url=url(field.path), json=value, is_reusable=True)
    assert json.loads(ok(run("compute", field.name)).stdout) == value
    assert json.loads(ok(run("compute", field.key)).stdout) == value


def test_every_compute_key_of_the_newest_schema_is_reachable():
    listed = {p.split("/")[1] for p, _ in catalog.SCHEMA_SINCE if p.count("/") == 1
              and p.startswith("compute/")}
    assert listed == {f.key for f in catalog.COMPUTE_FIELDS}


def test_compute_without_field(imds, run):
    imds.add_response(url=url("compute"), json=DOC["compute"])
    assert json.loads(ok(run("compute")).stdout) == DOC["compute"]


def test_compute_tags_from_tags_list(imds, run):
    imds.add_response(url=url("compute/tagsList"), json=DOC["compute"]["tagsList"])
    assert json.loads(ok(run("compute", "tags")).stdout) == {"env": "prod", "odd": "a:b;c"}


def test_compute_tags_from_legacy_string_on_old_api_versions(imds, run):
    imds.add_response(url=url("compute/tags", text=True, version="2019-02-01"), text="env:prod;team:web")
    result = ok(run("compute", "tags", "--api-version", "2019-02-01", "-o", "json"))
    assert json.loads(result.stdout) == {"env": "prod", "team": "web"}


def test_compute_unknown_field_exits_2_with_close_matches(run):
    result = ok(run("compute", "vmidd"), 2)
    assert result.stdout == ""
    assert "unknown compute field 'vmidd'; did you mean vm-id" in result.stderr
    assert len(result.stderr.splitlines()) == 2


def test_compute_field_newer_than_api_version_exits_3_and_says_why(imds, run):
    imds.add_response(url=url("compute/userData", text=True, version="2020-09-01"), status_code=404,
                      json={"error": "Not found"})
    result = ok(run("compute", "user-data", "--api-version", "2020-09-01"), 3)
    assert result.stderr.splitlines() == [
        "imdsctl: compute/userData is not in api-version 2020-09-01: it appeared in 2021-01-01",
        "hint: pass --api-version 2021-01-01 or newer",
    ]


# -- network -----------------------------------------------------------------------


@pytest.mark.parametrize("field,route,value", [
    ("private-ip", "network/interface/0/ipv4/ipAddress/0/privateIpAddress", "10.0.0.4"),
    ("mac", "network/interface/0/macAddress", "000D3A1B2C3D"),
    ("prefix", None, "24"),
    ("subnet", None, "10.0.0.0/24"),
    ("ipv6", "network/interface/0/ipv6/ipAddress/0/privateIpAddress", "fd00::4"),
])
def test_network_fields(imds, run, field, route, value):
    if route:
        imds.add_response(url=url(route, text=True), text=value)
    else:
        imds.add_response(url=url("network/interface"), json=DOC["network"]["interface"])
    assert ok(run("network", field)).stdout == value + "\n"


def test_network_nic_and_ip_indices(imds, run):
    imds.add_response(url=url("network/interface/1/ipv4/ipAddress/0/privateIpAddress", text=True),
                      text="10.1.0.4")
    assert ok(run("network", "private-ip", "--nic", "1")).stdout == "10.1.0.4\n"
    imds.add_response(url=url("network/interface/0/ipv4/ipAddress/1/privateIpAddress", text=True),
                      text="10.0.0.5")
    assert ok(run("network", "private-ip", "--ip", "1")).stdout == "10.0.0.5\n"


@pytest.mark.parametrize("mac", ["00:0d:3a:4e:5f:60", "00-0D-3A-4E-5F-60", "000d.3a4e.5f60",
                                 "000D3A4E5F60"])
def test_network_mac_in_any_notation(imds, run, mac):
    imds.add_response(url=url("network/interface"), json=DOC["network"]["interface"], is_reusable=True)
    assert ok(run("network", "private-ip", "--mac", mac)).stdout == "10.1.0.4\n"
    assert ok(run("network", "subnet", "--mac", mac)).stdout == "10.1.0.0/26\n"


def test_network_unknown_mac_exits_3_and_bad_mac_exits_2(imds, run):
    imds.add_response(url=url("network/interface"), json=DOC["network"]["interface"])
    result = ok(run("network", "mac", "--mac", "00:11:22:33:44:55"), 3)
    assert "000D3A1B2C3D, 000D3A4E5F60" in result.stderr
    result = ok(run("network", "mac", "--mac", "zz"), 2)
    assert "'zz' is not a MAC address" in result.stderr.splitlines()[0]
    assert len(imds.get_requests()) == 1, "a bad MAC is refused before any request"


def test_network_interfaces_summary(imds, run):
    imds.add_response(url=url("network/interface"), json=DOC["network"]["interface"])
    rows = json.loads(ok(run("network", "interfaces")).stdout)
    assert rows[0] == {"nic": "0", "macAddress": "000D3A1B2C3D",
                       "privateIps": ["10.0.0.4", "10.0.0.5"],
                       "publicIps": ["203.0.113.10"], "subnets": ["10.0.0.0/24"],
                       "ipv6Ips": ["fd00::4"]}
    assert rows[1]["nic"] == "1" and rows[1]["publicIps"] == []


def test_network_without_field(imds, run):
    imds.add_response(url=url("network"), json=DOC["network"])
    assert json.loads(ok(run("network")).stdout) == DOC["network"]


def test_network_ip_index_out_of_range_exits_3(imds, run):
    imds.add_response(url=url("network/interface/0/ipv4/ipAddress/5/privateIpAddress", text=True),
                      status_code=404, json={"error": "Not found"})
    result = ok(run("network", "private-ip", "--ip", "5"), 3)
    assert "network/interface/0/ipv4/ipAddress/5/privateIpAddress" in result.stderr


LB_URL = f"{BASE}/metadata/loadbalancer?api-version={catalog.LOADBALANCER_API_VERSION}"
LB = {"loadbalancer": {
    "publicIpAddresses": [{"frontendIpAddress": "198.51.100.7", "privateIpAddress": "10.1.0.4"}],
    "inboundRules": [{"frontendIpAddress": "198.51.100.8", "protocol": "tcp", "frontendPort": 80,
                      "backendPort": 443, "privateIpAddress": "10.0.0.5"}],
    "outboundRules": [],
}}


def test_public_ip_from_the_instance_level_address(imds, run):
    imds.add_response(url=url("network/interface/0/ipv4/ipAddress/0"), json=NIC0["ipv4"]["ipAddress"][0],
                      is_reusable=True)
    result = ok(run("network", "public-ip", "--debug"))
    assert result.stdout == "203.0.113.10\n"
    assert "comes from the instance-level (Basic SKU) address" in result.stderr
    assert json.loads(ok(run("network", "public-ip", "-o", "json")).stdout) == {
        "publicIpAddress": "203.0.113.10", "privateIpAddress": "10.0.0.4", "source": "instance"}


def test_public_ip_falls_back_to_the_load_balancer(imds, run):
    imds.add_response(url=url("network/interface/1/ipv4/ipAddress/0"), json=NIC1["ipv4"]["ipAddress"][0],
                      is_reusable=True)
    imds.add_response(url=LB_URL, json=LB, is_reusable=True)
    assert ok(run("network", "public-ip", "--nic", "1")).stdout == "198.51.100.7\n"
    assert json.loads(ok(run("network", "public-ip", "--nic", "1", "-o", "json")).stdout)["source"] == \
        "loadbalancer.publicIpAddresses"


def test_public_ip_from_an_inbound_rule(imds, run):
    imds.add_response(url=url("network/interface/0/ipv4/ipAddress/1"), json=NIC0["ipv4"]["ipAddress"][1])
    imds.add_response(url=LB_URL, json=LB)
    assert ok(run("network", "public-ip", "--ip", "1")).stdout == "198.51.100.8\n"


def test_no_public_ip_at_all_exits_3(imds, run):
    imds.add_response(url=url("network/interface/1/ipv4/ipAddress/0"), json=NIC1["ipv4"]["ipAddress"][0],
                      is_reusable=True)
    imds.add_response(url=LB_URL, status_code=404, json={"error": "No load balancer metadata is found."})
    result = ok(run("network", "public-ip", "--nic", "1"), 3)
    assert result.stderr.startswith("imdsctl: no public IP for 10.1.0.4: no instance-level address")
    imds.add_response(url=LB_URL, json={"loadbalancer": {"publicIpAddresses": []}})
    assert "lists no frontend" in ok(run("network", "public-ip", "--nic", "1"), 3).stderr


def test_loadbalancer(imds, run):
    imds.add_response(url=LB_URL, json=LB)
    assert json.loads(ok(run("loadbalancer")).stdout) == LB["loadbalancer"]
    imds.add_response(url=LB_URL, status_code=404, json={"error": "No load balancer metadata is found."})
    result = ok(run("loadbalancer"), 3)
    assert result.stderr.splitlines()[0] == ("imdsctl: no load balancer metadata for this VM: IMDS says "
                                             "'No load balancer metadata is found.'")
    assert result.stderr.splitlines()[1].startswith("hint: IMDS has it only for a Standard SKU")


USER_DATA = url("compute/userData", text=True)


def test_user_data_decode_writes_the_bytes(imds, run):
    import base64

    raw = b"#!/bin/sh\necho \xff\x00 binary\n"
    imds.add_response(url=USER_DATA, text=base64.b64encode(raw).decode(), is_reusable=True)
    assert ok(run("compute", "user-data", "--decode")).stdout_bytes == raw
    assert ok(run("compute", "user-data")).stdout == base64.b64encode(raw).decode() + "\n"


def test_user_data_decode_errors(imds, run):
    imds.add_response(url=USER_DATA, text="not*base64")
    assert "not valid base64" in ok(run("compute", "user-data", "--decode"), 7).stderr
    assert "--decode applies to user-data" in ok(run("compute", "vm-id", "--decode"), 2).stderr
    assert "does not combine" in ok(run("compute", "user-data", "--decode", "-q", "@"), 2).stderr


# -- versions, output options ----------------------------------------------------------


def test_versions(imds, run):
    imds.add_response(url=f"{BASE}/metadata/versions",
                      json={"apiVersions": list(reversed(catalog.INSTANCE_VERSIONS))})
    assert ok(run("versions", "-o", "tsv")).stdout.split() == list(catalog.INSTANCE_VERSIONS)


def test_query_and_output_env_var(imds, run, monkeypatch):
    imds.add_response(url=url("compute"), json=DOC["compute"], is_reusable=True)
    assert ok(run("compute", "-q", "tagsList[?name=='env'].value | [0]")).stdout == "prod\n"
    monkeypatch.setenv("IMDSCTL_OUTPUT", "yaml")
    assert ok(run("compute", "-q", "location")).stdout == "westeurope\n"


def test_bad_query_is_a_usage_error_before_any_request(imds, run):
    result = ok(run("compute", "-q", "tagsList[?"), 2)
    assert result.stdout == ""
    assert result.stderr.startswith("imdsctl: Invalid value for '-q' / '--query': invalid JMESPath")
    assert imds.get_requests() == []


def test_debug_logs_to_stderr_only(imds, run):
    imds.add_response(url=url("compute/vmId", text=True), text=VMID)
    result = ok(run("compute", "vm-id", "--debug"))
    assert result.stdout == VMID + "\n"
    assert f"debug: GET {BASE}/metadata/instance/compute/vmId" in result.stderr


def test_version_and_help(run):
    from imdsctl import __version__

    assert ok(run("--version")).stdout == f"imdsctl {__version__}\n"
    assert ok(run("-V")).stdout == f"imdsctl {__version__}\n"
    text = ok(run("--help")).stdout
    for code in ("0", "1", "2", "3", "4", "5", "6", "7", "130"):
        assert f"\n    {code:<4}" in text
    assert "IMDSCTL_ENDPOINT" in text


# -- every exit code through the CLI ------------------------------------------------------


def test_exit_4_refused(imds, run):
    imds.add_response(url=url("compute/vmId", text=True), status_code=403, json={"error": "Forbidden"})
    result = ok(run("compute", "vmid"), 4)
    assert result.stdout == ""
    assert result.stderr == "imdsctl: IMDS refused GET /metadata/instance/compute/vmId: 403 Forbidden\n"
    imds.add_response(url=url("compute/vmId", text=True), status_code=405,
                      json={"error": "Http method isn't allowed"})
    stderr = ok(run("compute", "vmid"), 4).stderr
    assert stderr.endswith(": 405 Method Not Allowed: Http method isn't allowed\n")


def test_exit_4_explicit_version_refused_lists_versions(imds, run):
    imds.add_response(status_code=400, json={"error": "Bad request.", "newest-versions": ["2025-04-07"]})
    result = ok(run("compute", "vmid", "--api-version", "2030-01-01"), 4)
    assert "it offers 2025-04-07" in result.stderr


def test_exit_5_kept_failing(imds, run):
    imds.add_response(status_code=410, is_reusable=True)
    result = ok(run("compute", "vmid", "--timeout", "0.3"), 5)
    assert result.stdout == ""
    assert result.stderr.startswith("imdsctl: IMDS kept failing for GET /metadata/instance/compute/vmId")
    assert len(result.stderr.splitlines()) == 2


def test_exit_6_unreachable(imds, run):
    imds.add_exception(httpx.ConnectError("No route to host"), is_reusable=True)
    result = ok(run("compute", "vmid", "--timeout", "0.3"), 6)
    assert "did not answer" in result.stderr and "No route to host" in result.stderr


def test_exit_6_against_a_closed_port(run, monkeypatch):
    from tests.lib.helpers import CLOSED_PORT

    result = ok(run("compute", "vmid", "--timeout", "0.5"), 6)
    assert f"127.0.0.1:{CLOSED_PORT}" in result.stderr


def test_exit_7_not_imds(imds, run):
    imds.add_response(text="<!DOCTYPE html><title>Login</title>", headers={"content-type": "text/html"})
    result = ok(run("get"), 7)
    assert "HTML page" in result.stderr


def test_exit_2_bad_option(run):
    result = ok(run("compute", "--output", "xml"), 2)
    assert result.stderr.splitlines()[-1] == "hint: see 'imdsctl compute --help'"


def test_exit_1_internal_error_without_traceback(imds, run, monkeypatch):
    import imdsctl.cli.options as cli_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli_module, "render", broken)
    imds.add_response(url=url("compute/vmId", text=True), text=VMID, is_reusable=True)
    result = ok(run("compute", "vmid"), 1)
    assert result.stderr.splitlines()[0] == "imdsctl: internal error: RuntimeError"
    assert "Traceback" not in result.stderr and "boom" not in result.stderr  # it may quote a secret
    debug = ok(run("compute", "vmid", "--debug"), 1).stderr
    assert "Traceback" in debug and "imdsctl: internal error: RuntimeError: boom" in debug


def test_exit_130_interrupted(imds, run, monkeypatch):
    import imdsctl.cli.options as cli_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "render", interrupted)
    imds.add_response(url=url("compute/vmId", text=True), text=VMID)
    result = ok(run("compute", "vmid"), 130)
    assert result.stderr == "imdsctl: interrupted\n"


@pytest.mark.parametrize("query", ["abs(@)", "sum(@)", "nosuchfunction(@)"])
def test_a_query_failing_on_the_data_exits_2(imds, run, query):
    imds.add_response(url=url("compute/vmId", text=True), text=VMID)
    result = ok(run("compute", "vm-id", "-q", query), 2)
    assert result.stderr.startswith("imdsctl: --query failed: ") and VMID not in result.stderr
    assert result.stdout == ""


def test_an_undecodable_body_is_not_imds(imds, run):
    imds.add_response(url=url("compute/vmId", text=True), content=b"not gzip at all",
                      headers={"content-encoding": "gzip"})
    assert "could not be decoded" in ok(run("compute", "vm-id"), 7).stderr
    assert imds.get_requests()[0].headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "1e9"])
def test_a_timeout_that_is_not_a_positive_number_exits_2(run, value):
    ok(run("compute", "vm-id", "--timeout", value), 2)


def test_latest_with_no_versions_listed_is_not_imds(imds, run):
    imds.add_response(url=f"{BASE}/metadata/versions", json={"apiVersions": []})
    ok(run("compute", "vm-id", "--api-version", "latest"), 7)


def test_an_error_body_cannot_forge_a_second_line(imds, run):
    imds.add_response(url=url("compute/vmId", text=True), status_code=403,
                      json={"error": "first line\nimdsctl: all good\x1b[2J"})
    result = ok(run("compute", "vm-id"), 4)
    assert result.stderr == ("imdsctl: IMDS refused GET /metadata/instance/compute/vmId: "
                             "403 Forbidden: first line imdsctl: all good [2J\n")


@pytest.mark.parametrize("args", [[], ["events"], ["identity"], ["emulator"]])
def test_a_group_alone_prints_its_help(run, args):
    result = ok(run(*args))
    assert result.stdout.startswith(f"Usage: {' '.join(['imdsctl', *args])} [OPTIONS] COMMAND")
    assert result.stderr == ""


def test_off_azure_a_command_fails_fast_not_after_its_budget(run):
    import time

    started = time.monotonic()
    result = ok(run("compute", "vm-id"), 6)  # the guard's closed loopback port, default 30 s budget
    assert time.monotonic() - started < 5
    assert "3 attempt(s)" in result.stderr
