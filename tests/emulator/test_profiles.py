"""Profiles (built-in data and validation) and the version-gated tree."""

from __future__ import annotations

import base64
import json
import re

import pytest

from imdsctl.catalog import COMPUTE_FIELDS, INSTANCE_VERSIONS, SCHEMA_SINCE, own_since, version_key
from imdsctl.catalog import walk as resolve
from imdsctl.emulator import Profile, ProfileError, list_profiles, load_profile
from imdsctl.emulator.profiles import from_document
from imdsctl.emulator.tree import InstanceTree, gate, listing

BUILTIN = ["linux-2017", "linux-2025", "spot-vmss", "windows-sql-2017"]


def route(path):
    """A catalog schema path as a route (``*`` -> index 0)."""
    return [("0" if part == "*" else part) for part in path.split("/")]


def previous(version):
    return INSTANCE_VERSIONS[INSTANCE_VERSIONS.index(version) - 1]


# -- built-in profiles ---------------------------------------------------------------------


def test_builtin_profiles_are_listed_with_descriptions():
    profiles = list_profiles()
    assert list(profiles) == BUILTIN
    assert all(profiles.values())


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_profiles_load(name):
    profile = load_profile(name)
    assert profile.name == name
    assert set(profile.instance) == {"compute", "network"}


def test_the_default_profile_is_linux_2025():
    assert load_profile().name == "linux-2025"


@pytest.mark.parametrize("field", COMPUTE_FIELDS, ids=lambda f: f.key)
def test_linux_2025_has_every_compute_field(field):
    assert field.key in load_profile("linux-2025").instance["compute"]


@pytest.mark.parametrize(("path", "since"), SCHEMA_SINCE)
def test_linux_2025_has_every_catalog_path(path, since):
    resolve(load_profile("linux-2025").instance, route(path))


def test_linux_2025_tags_show_why_tags_list_matters():
    compute = load_profile("linux-2025").instance["compute"]
    assert any(":" in t["value"] and ";" in t["value"] for t in compute["tagsList"])
    assert compute["tags"] == ";".join(f"{t['name']}:{t['value']}" for t in compute["tagsList"])
    assert base64.b64decode(compute["userData"]).startswith(b"#cloud-config\n")
    assert load_profile("linux-2025").loadbalancer is not None


def test_spot_vmss_profile():
    profile = load_profile("spot-vmss")
    compute, nics = profile.instance["compute"], profile.instance["network"]["interface"]
    assert (compute["priority"], compute["evictionPolicy"]) == ("Spot", "Deallocate")
    assert compute["vmScaleSetName"] and compute["placementGroupId"]
    assert len(nics) == 2
    assert [ip["publicIpAddress"] for ip in nics[0]["ipv4"]["ipAddress"]] == ["198.51.100.7", ""]
    assert len(nics[1]["ipv4"]["ipAddress"]) == 1 and nics[1]["ipv6"]["ipAddress"]
    assert profile.loadbalancer is None


def test_windows_sql_2017_is_the_documented_example():
    compute = load_profile("windows-sql-2017").instance["compute"]
    assert compute["vmId"] == "453945c8-3923-4366-b2d3-ea4c80e9b70e"
    assert (compute["name"], compute["offer"]) == ("SQLTest", "SQL2016SP1-WS2016")


@pytest.mark.parametrize("name", ["linux-2017", "windows-sql-2017"])
def test_2017_profiles_hold_2017_04_02_fields_only(name):
    document = load_profile(name).instance
    assert gate(document, "2017-04-02") == document


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("document", "where"), [
    ({"compute": {"platformFaultDomain": 0}}, "instance/compute/platformFaultDomain"),
    ({"compute": {"isHostCompatibilityLayerVm": False}}, "instance/compute/isHostCompatibilityLayerVm"),
    ({"compute": {"zone": None}}, "instance/compute/zone"),
    ({"network": {"interface": [{"ipv4": {"subnet": [{"prefix": 24}]}}]}},
     "instance/network/interface/0/ipv4/subnet/0/prefix"),
    ({"instance": {"compute": {"tagsList": [{"name": "a", "value": 1}]}}},
     "instance/compute/tagsList/0/value"),
])
def test_non_string_values_are_refused_with_their_path(document, where):
    with pytest.raises(ProfileError, match=f"{where}: expected a JSON string"):
        load_profile(document)


@pytest.mark.parametrize(("document", "message"), [
    ([], "p: a profile must be a JSON object"),
    ({"instance": []}, "instance: expected a JSON object"),
    ({"instance": {}, "spotEvictions": {}}, "unknown profile key 'spotEvictions'"),
    ({"instance": {}, "description": 1}, "description: expected a JSON string"),
    ({"instance": {}, "loadbalancer": []}, "loadbalancer: expected a JSON object or null"),
    ({"instance": {}, "loadbalancer": {"inboundRules": [{"frontendPort": "80"}]}},
     "loadbalancer/inboundRules/0/frontendPort: expected a JSON number"),
])
def test_malformed_profiles_are_refused(document, message):
    with pytest.raises(ProfileError, match=message):
        from_document(document, "p")


def test_profile_forms():
    raw = load_profile({"compute": {"vmId": "x"}})
    assert raw == Profile("<dict>", "", {"compute": {"vmId": "x"}}, None)
    extended = load_profile({"description": "d", "instance": {}, "loadbalancer": None})
    assert (extended.description, extended.loadbalancer) == ("d", None)


def test_profile_files(tmp_path):
    raw = tmp_path / "captured.json"
    raw.write_text(json.dumps(load_profile("linux-2025").instance))
    assert load_profile(str(raw)).instance == load_profile("linux-2025").instance
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ProfileError, match="broken.json: not valid JSON"):
        load_profile(tmp_path / "broken.json")
    with pytest.raises(ProfileError, match="missing.json: cannot read"):
        load_profile(str(tmp_path / "missing.json"))


def test_offered_api_versions():
    profile = load_profile({"instance": {}, "apiVersions": ["2017-04-02", "2021-02-01"]})
    assert profile.versions == ("2017-04-02", "2021-02-01")
    assert load_profile({"instance": {}}).versions is None  # the catalog's


@pytest.mark.parametrize(("versions", "message"), [
    ([], "apiVersions: expected a non-empty JSON list"),
    ("2021-02-01", "apiVersions: expected a non-empty JSON list"),
    (["2021-02-01", "latest"], 'apiVersions/1: expected an api-version such as "2021-02-01", got "latest"'),
    (["2021-02-01", 2021], "apiVersions/1: expected an api-version"),
    (["2021-02-01", "2021-02-01"], "apiVersions: an api-version is listed twice"),
])
def test_malformed_api_versions_are_refused(versions, message):
    with pytest.raises(ProfileError, match=re.escape(f"p: {message}")):
        from_document({"instance": {}, "apiVersions": versions}, "p")


@pytest.mark.parametrize(("document", "where"), [
    ('{"compute": {"name": "x\\ud800y"}}', "instance/compute/name"),
    ('{"compute": {"tagsList": [{"name": "a", "value": "\\udfff"}]}}', "instance/compute/tagsList/0/value"),
    ('{"compute": {"\\ud800": "x"}}', "instance/compute/\\ud800"),
    ('{"instance": {}, "description": "\\ud800"}', "description"),
    ('{"instance": {}, "loadbalancer": {"note": "\\ud800"}}', "loadbalancer/note"),
])
def test_strings_that_cannot_be_sent_are_refused_at_load(tmp_path, document, where):
    """JSON allows a lone surrogate ("\\ud800"); UTF-8 does not, so no answer could carry it."""
    path = tmp_path / "surrogate.json"
    path.write_text(document)
    with pytest.raises(ProfileError) as refused:
        load_profile(str(path))
    assert str(refused.value).startswith(f"{path}: {where}: a string the emulator cannot send (")
    assert "is a lone surrogate, not UTF-8)" in str(refused.value)


def test_a_surrogate_profile_is_a_usage_error_on_the_command_line(tmp_path):
    from click.testing import CliRunner

    from imdsctl.cli import cli

    path = tmp_path / "surrogate.json"
    path.write_text('{"compute": {"name": "\\ud800"}}')
    for command in (["emulator", "serve"], ["emulate"]):
        result = CliRunner().invoke(cli, [*command, "--profile", str(path), "--", "true"])
        assert result.exit_code == 2, result.output
        assert "instance/compute/name: a string the emulator cannot send" in result.output


def test_an_oversized_or_deeply_nested_profile_is_refused(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ProfileError, match="deep.json: not valid JSON"):
        load_profile(str(deep))


def test_unknown_profile_names_list_the_builtins():
    with pytest.raises(ProfileError, match="unknown profile 'linux-2099' .built-in: linux-2017, linux-2025"):
        load_profile("linux-2099")


# -- version gating and routes ---------------------------------------------------------------


@pytest.mark.parametrize(("path", "since"), SCHEMA_SINCE)
def test_each_catalog_path_appears_with_its_version(path, since):
    document = load_profile("linux-2025").instance
    resolve(gate(document, since), route(path))
    with pytest.raises(LookupError):
        resolve(gate(document, previous(since)), route(path))


def paths(node, parts=()):
    """Every (key path) in a document, indices as strings."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        yield parts + (str(key),)
        yield from paths(value, parts + (str(key),))


@pytest.mark.parametrize("version", INSTANCE_VERSIONS[1:])
def test_no_key_newer_than_the_version_asked(version):
    for parts in paths(gate(load_profile("linux-2025").instance, version)):
        since = own_since(parts)
        assert since is None or version_key(since) <= version_key(version), parts


def test_unlisted_keys_inherit_their_parents_version():
    document = {"compute": {"isVmInStandbyPool": "false", "tags": "a:b"}, "extra": {"x": "y"}}
    assert gate(document, "2017-03-01") == {"extra": {"x": "y"}}
    assert gate(document, "2017-04-02") == {"compute": {"isVmInStandbyPool": "false"}, "extra": {"x": "y"}}
    assert gate(document, "2025-04-07") == document


def test_preview_view():
    view = InstanceTree(load_profile("windows-sql-2017").instance).view("2017-03-01")
    assert view["network"]["interface"][0] == {
        "ipv4": {"ipaddress": [{"ipaddress": "10.0.1.4", "publicip": "203.0.113.10"}],
                 "subnet": [{"address": "10.0.1.0", "dnsservers": [], "prefix": "24"}]},
        "ipv6": {"ipaddress": []},
        "mac": "002248020E1E",
    }
    assert view["compute"] == load_profile("windows-sql-2017").instance["compute"]


def test_listing():
    assert listing({"b": "1", "a": {}, "c": [], "d": [{}]}) == "a/\nb\nc/\nd/"
    assert listing([{"x": "1"}, [], "leaf"]) == "0/\n1/\n2"
    assert listing({}) == listing([]) == ""


@pytest.mark.parametrize("segment", ["01", "-1", "1", " 0", "0x0", "٠"])
def test_indices_are_plain_decimal(segment):
    with pytest.raises(LookupError):
        resolve({"a": ["only"]}, ["a", segment])
    assert resolve({"a": ["only"]}, ["a", "0"]) == "only"
