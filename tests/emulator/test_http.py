"""The emulator's IMDS behaviour over real loopback sockets: checks, versions,
route filtering, formats and bodies, as IMDS's documentation describes them."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from imdsctl.catalog import (
    DEFAULT_API_VERSION,
    INSTANCE_PATH,
    INSTANCE_VERSIONS,
    LOADBALANCER_API_VERSION,
    LOADBALANCER_PATH,
    SCHEDULED_EVENTS_PATH,
    VERSIONS_PATH,
)

pytestmark = pytest.mark.e2e

V = DEFAULT_API_VERSION
API_VERSION_ERROR = {
    "error": "Bad request. api-version is invalid or was not specified in the request. "
             "For more information refer to aka.ms/azureimds",
    "newest-versions": ["2025-04-07", "2024-07-17", "2024-03-15"],
}
METADATA_ERROR = {"error": "Bad request. Required metadata header not specified"}



def instance(emulator_http, route="", version=V, **params):
    path = INSTANCE_PATH + ("/" + route if route else "")
    return emulator_http.get(path, params={"api-version": version, **params})


def walk(node):
    """Every primitive of a JSON document."""
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)
    else:
        yield node


# -- headers and check order ------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "True", "TRUE", " true "])
def test_metadata_header_is_case_insensitive(emulator_http, value):
    response = instance(emulator_http, "compute/vmId", format="text", headers={"Metadata": value})
    assert response.status_code == 200


@pytest.mark.parametrize("headers", [{"Metadata": "false"}, {"Metadata": ""}, {"Metadata": "yes"}, {}])
def test_missing_or_wrong_metadata_header(emulator, headers):
    response = httpx.get(emulator.url + INSTANCE_PATH, params={"api-version": V}, headers=headers,
                         trust_env=False)
    assert response.status_code == 400
    assert response.json() == METADATA_ERROR


def test_x_forwarded_for_is_refused_before_anything_else(emulator):
    response = httpx.post(emulator.url + "/nowhere", headers={"X-Forwarded-For": "10.0.0.9"},
                          trust_env=False)
    assert response.status_code == 400
    assert "X-Forwarded-For" in response.json()["error"]


def test_metadata_header_is_checked_before_method_and_version(emulator):
    response = httpx.delete(emulator.url + INSTANCE_PATH, trust_env=False)
    assert (response.status_code, response.json()) == (400, METADATA_ERROR)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_are_not_allowed(emulator_http, method):
    response = emulator_http.request(method, INSTANCE_PATH, params={"api-version": V})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json() == {"error": f'Http method isn\'t allowed: Path = "{INSTANCE_PATH}", '
                                        f'Method = "{method}"'}


def test_head_is_not_allowed_and_has_no_body(emulator_http):
    response = emulator_http.head(INSTANCE_PATH, params={"api-version": V})
    assert response.status_code == 405
    assert response.content == b""
    assert instance(emulator_http).status_code == 200  # the connection is still in step


def test_post_is_allowed_on_scheduled_events_only(emulator_http):
    response = emulator_http.post(SCHEDULED_EVENTS_PATH, params={"api-version": "2020-07-01"}, json={})
    assert response.status_code != 405
    for path in (INSTANCE_PATH, VERSIONS_PATH, LOADBALANCER_PATH):
        assert emulator_http.post(path, params={"api-version": "2020-10-01"}, json={}).status_code == 405


def test_method_is_checked_before_api_version(emulator_http):
    assert emulator_http.post(INSTANCE_PATH).status_code == 405


# -- api-versions -------------------------------------------------------------------


def test_versions_lists_every_instance_version_ascending(emulator_http):
    response = emulator_http.get(VERSIONS_PATH)
    assert response.status_code == 200
    versions = response.json()["apiVersions"]
    assert versions == list(INSTANCE_VERSIONS) == sorted(versions)
    assert len(versions) == 35 and "2017-07-01" not in versions


def test_versions_needs_the_metadata_header(emulator, imds_emulator_factory):
    assert httpx.get(emulator.url + VERSIONS_PATH, trust_env=False).status_code == 400
    relaxed = imds_emulator_factory(throttle=False, versions_require_metadata=False)
    assert httpx.get(relaxed.url + VERSIONS_PATH, trust_env=False).status_code == 200


@pytest.mark.parametrize("query", [{}, {"api-version": ""}, {"api-version": "2017-07-01"},
                                   {"api-version": "latest"}, {"api-version": "2030-01-01"},
                                   {"API-VERSION": V}])
def test_missing_or_unknown_api_version(emulator_http, query):
    response = emulator_http.get(INSTANCE_PATH + "/compute", params=query)
    assert response.status_code == 400
    assert response.content == json.dumps(API_VERSION_ERROR, separators=(",", ":")).encode()


@pytest.mark.parametrize("path", ["/metadata", "/metadata/nothing", "/", LOADBALANCER_PATH])
def test_api_version_is_checked_before_the_path(emulator_http, path):
    response = emulator_http.get(path)
    assert (response.status_code, response.json()) == (400, API_VERSION_ERROR)


def test_every_instance_version_answers(emulator_http):
    for version in INSTANCE_VERSIONS:
        assert instance(emulator_http, version=version).status_code == 200, version


# -- version gating ---------------------------------------------------------------------


def test_2017_04_02_shows_only_2017_fields(emulator_http):
    compute = instance(emulator_http, "compute", version="2017-04-02").json()
    assert sorted(compute) == ["location", "name", "offer", "osType", "platformFaultDomain",
                               "platformUpdateDomain", "publisher", "sku", "version", "vmId", "vmSize"]


@pytest.mark.parametrize(("route", "since", "before"), [
    ("compute/tagsList", "2019-06-04", "2019-06-01"),
    ("compute/userData", "2021-01-01", "2020-12-01"),
    ("compute/storageProfile/dataDisks/0/isUltraDisk", "2021-05-01", "2021-03-01"),
    ("compute/securityProfile/securityType", "2021-12-13", "2021-11-15"),
    ("compute/physicalZone", "2023-11-15", "2023-07-01"),
])
def test_fields_appear_with_their_api_version(emulator_http, route, since, before):
    assert instance(emulator_http, route, version=since, format="text").status_code == 200
    assert instance(emulator_http, route, version=before, format="text").status_code == 404
    parent, key = route.rsplit("/", 1)
    assert key not in instance(emulator_http, parent, version=before).json()


def test_2017_03_01_serves_the_preview_shape(emulator_http):
    document = instance(emulator_http, version="2017-03-01").json()
    nic = document["network"]["interface"][0]
    assert nic["mac"] == "000D3A1B2C3D"
    assert nic["ipv4"]["ipaddress"] == [{"ipaddress": "10.0.0.4", "publicip": "203.0.113.25"}]
    assert nic["ipv4"]["subnet"] == [{"address": "10.0.0.0", "dnsservers": [], "prefix": "24"}]
    mac = instance(emulator_http, "network/interface/0/mac", version="2017-03-01", format="text")
    assert mac.text == "000D3A1B2C3D"


# -- route filtering and formats ------------------------------------------------------------


def test_leaf_with_format_text_is_the_raw_value(emulator_http):
    response = instance(emulator_http, "compute/vmId", format="text")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"02aab8a4-74ef-476e-8182-f6d2ba4166a6"


def test_empty_leaf_is_an_empty_body(emulator_http):
    response = instance(emulator_http, "compute/vmScaleSetName", format="text")
    assert (response.status_code, response.content, response.headers["Content-Length"]) == (200, b"", "0")


@pytest.mark.parametrize("params", [{}, {"format": "json"}])
def test_leaf_without_format_text_is_refused(emulator_http, params):
    response = instance(emulator_http, "compute/vmId", **params)
    assert response.status_code == 400
    assert response.json() == {"error": "Bad request. Leaf nodes require format=text"}


@pytest.mark.parametrize("fmt", ["xml", "", "TEXT", "Json"])
def test_invalid_format_is_refused(emulator_http, fmt):
    assert instance(emulator_http, "compute", format=fmt).status_code == 400


def test_container_without_format_is_compact_sorted_json(emulator_http):
    response = instance(emulator_http, "network")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    data = response.json()
    assert response.content == json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    assert instance(emulator_http, "network", format="json").content == response.content


def test_array_is_a_bare_json_array(emulator_http):
    tags = instance(emulator_http, "compute/tagsList").json()
    assert tags[0] == {"name": "backup", "value": "daily:02:00;weekly:sun"}


def test_container_with_format_text_lists_children(emulator_http):
    assert instance(emulator_http, format="text").text == "compute/\nnetwork/"
    assert instance(emulator_http, "compute/tagsList", format="text").text == "0/\n1/\n2/"
    assert instance(emulator_http, "compute/osProfile", format="text").text == \
        "adminUsername\ncomputerName\ndisablePasswordAuthentication"
    listing = instance(emulator_http, "compute", format="text").text.split("\n")
    assert "storageProfile/" in listing and "vmId" in listing and "tagsList/" in listing


def test_empty_containers_list_with_a_slash(imds_emulator_factory):
    emulator = imds_emulator_factory(profile="spot-vmss", throttle=False)
    with httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true"},
                      trust_env=False) as client:
        listing = instance(client, "compute", format="text").text.split("\n")
        assert "tagsList/" in listing
        assert instance(client, "compute/tagsList", format="text").content == b""
        assert instance(client, "network/interface/1/ipv4/ipAddress/0/publicIpAddress",
                        format="text").content == b""


def test_indices_are_zero_based(imds_emulator_factory):
    emulator = imds_emulator_factory(profile="spot-vmss", throttle=False)
    with httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true"},
                      trust_env=False) as client:
        route = "network/interface/{}/ipv4/ipAddress/{}/privateIpAddress"
        assert instance(client, route.format(0, 0), format="text").text == "10.1.0.4"
        assert instance(client, route.format(0, 1), format="text").text == "10.1.0.5"
        assert instance(client, route.format(1, 0), format="text").text == "10.1.1.4"
        assert instance(client, "network/interface", format="text").text == "0/\n1/"
        for bad in ("2", "01", "-1", "+1", "first"):
            assert instance(client, f"network/interface/{bad}", format="text").status_code == 404, bad


@pytest.mark.parametrize("route", ["Compute", "compute/vmid", "compute/VMID",
                                   "network/interface/0/ipv4/ipaddress"])
def test_keys_are_case_sensitive(emulator_http, route):
    response = instance(emulator_http, route, format="text")
    assert (response.status_code, response.json()) == (404, {"error": "Not found"})


def test_trailing_slash_is_tolerated(emulator_http):
    assert instance(emulator_http, "compute/vmId/", format="text").text == \
        "02aab8a4-74ef-476e-8182-f6d2ba4166a6"
    assert instance(emulator_http, "network/").json() == instance(emulator_http, "network").json()
    assert emulator_http.get(INSTANCE_PATH + "/", params={"api-version": V}).status_code == 200
    assert emulator_http.get(VERSIONS_PATH + "/").status_code == 200


@pytest.mark.parametrize("route", ["nothing", "compute/vmId/more", "compute//vmId", "compute%2FvmId"])
def test_unknown_routes_are_404(emulator_http, route):
    response = instance(emulator_http, route, format="text")
    assert (response.status_code, response.json()) == (404, {"error": "Not found"})


@pytest.mark.parametrize("path", ["/metadata", "/metadata/nothing", "/metadata/identity/nothing",
                                  "/metadata/attested/nothing", "/metadata/versions/extra",
                                  LOADBALANCER_PATH + "/inboundRules", "/_emulator/faults", "/"])
def test_unknown_families_are_404_json(emulator_http, path):
    response = emulator_http.get(path, params={"api-version": V})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"error": "Not found"}


def test_duplicate_query_parameters_are_refused(emulator_http):
    response = emulator_http.get(INSTANCE_PATH,
                                 params=[("api-version", V), ("format", "json"), ("format", "json")])
    assert response.status_code == 400
    assert "format" in response.json()["error"]
    twice = emulator_http.get(INSTANCE_PATH, params=[("api-version", V), ("api-version", V)])
    assert twice.status_code == 400


def test_unknown_query_parameters_are_ignored(emulator_http):
    assert instance(emulator_http, "compute/vmId", format="text", extended="true").status_code == 200


# -- bodies and headers ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["linux-2017", "windows-sql-2017", "linux-2025", "spot-vmss"])
def test_every_instance_value_is_a_string(imds_emulator_factory, profile):
    emulator = imds_emulator_factory(profile=profile, throttle=False)
    response = httpx.get(emulator.url + INSTANCE_PATH, params={"api-version": V},
                         headers={"Metadata": "true"}, trust_env=False)
    values = list(walk(response.json()))
    assert values and all(isinstance(v, str) for v in values)


def test_response_headers(emulator_http):
    response = instance(emulator_http)
    assert response.headers["Server"] == "IMDS/150.870.65.1103"
    assert response.headers["Date"].endswith(" GMT")
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.http_version == "HTTP/1.1"


def test_load_balancer_metadata(emulator_http):
    response = emulator_http.get(LOADBALANCER_PATH, params={"api-version": LOADBALANCER_API_VERSION})
    assert response.status_code == 200
    section = response.json()["loadbalancer"]
    assert sorted(section) == ["inboundRules", "outboundRules", "publicIpAddresses"]
    rule = section["inboundRules"][0]
    assert isinstance(rule["frontendPort"], int) and isinstance(rule["backendPort"], int)
    assert any(":" in r["frontendIpAddress"] for r in section["inboundRules"])  # IPv4 and IPv6 mixed


def test_load_balancer_needs_its_api_version(emulator_http):
    assert emulator_http.get(LOADBALANCER_PATH, params={"api-version": "2020-09-01"}).status_code == 400
    assert emulator_http.get(LOADBALANCER_PATH, params={"api-version": V}).status_code == 200
    text = emulator_http.get(LOADBALANCER_PATH, params={"api-version": V, "format": "text"})
    assert text.status_code == 400


def test_no_load_balancer_is_404(imds_emulator_factory):
    emulator = imds_emulator_factory(profile="spot-vmss", throttle=False)
    response = httpx.get(emulator.url + LOADBALANCER_PATH, params={"api-version": LOADBALANCER_API_VERSION},
                         headers={"Metadata": "true"}, trust_env=False)
    assert response.status_code == 404
    assert response.json()["error"].startswith("No load balancer metadata is found.")


def test_absolute_form_request_target(emulator):
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        sock.sendall(f"GET http://metadata.invalid{INSTANCE_PATH}/compute/vmId?api-version={V}&format=text "
                     "HTTP/1.1\r\nHost: metadata.invalid\r\nMetadata: true\r\n"
                     "Connection: close\r\n\r\n".encode())
        reply = b"".join(iter(lambda: sock.recv(4096), b""))
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert reply.endswith(b"\r\n\r\n02aab8a4-74ef-476e-8182-f6d2ba4166a6")
