"""Shared options anywhere (issue #10): before the command's name as after it,
the one after winning; a command offered only the options it uses."""

from __future__ import annotations

import json
import os

import pytest

from imdsctl import catalog, fastpath
from tests.lib.helpers import BASE, ok

#: Plain reads: each runs through the click group and through the fast path.
pytestmark = pytest.mark.fast_path

V = catalog.DEFAULT_API_VERSION
VMID = "02aab8a4-74ef-476e-8182-f6d2ba4166a6"
LEAF = f"{BASE}/metadata/instance/compute/vmId?api-version={V}&format=text"
COMPUTE = f"{BASE}/metadata/instance/compute?api-version={V}"


def test_debug_before_the_command(imds, run):
    imds.add_response(url=LEAF, text=VMID)
    result = ok(run("--debug", "compute", "vm-id"))
    assert result.stdout == VMID + "\n"
    assert "debug: GET " in result.stderr


def test_output_before_the_command_and_the_later_one_wins(imds, run):
    imds.add_response(url=COMPUTE, json={"vmId": VMID}, is_reusable=True)
    assert json.loads(ok(run("-o", "json", "compute")).stdout) == {"vmId": VMID}
    assert ok(run("-o", "yaml", "compute", "-o", "json")).stdout == '{\n  "vmId": "' + VMID + '"\n}\n'
    assert ok(run("-o", "json", "compute", "-o", "yaml")).stdout == f"vmId: {VMID}\n"


def test_query_and_endpoint_before_the_command(imds, run, monkeypatch):
    monkeypatch.delenv("IMDSCTL_ENDPOINT")
    imds.add_response(url=COMPUTE, json={"vmId": VMID, "zone": "2"})
    assert ok(run("--endpoint", BASE, "-q", "zone", "compute")).stdout == "2\n"


def test_an_option_before_is_validated_like_after(run):
    result = ok(run("--timeout", "0", "compute", "vm-id"), 2)
    assert "--timeout" in result.stderr
    result = ok(run("-o", "xml", "compute", "vm-id"), 2)
    assert "'xml' is not one of" in result.stderr


def test_api_version_before_the_command_counts_as_given(imds, run, monkeypatch):
    """Given before `events`, --api-version is the user's choice, not IMDSCTL_API_VERSION's."""
    imds.add_response(json={"DocumentIncarnation": 1, "Events": []})
    ok(run("--api-version", "2019-08-01", "events", "list", "-o", "json"))
    assert "api-version=2019-08-01" in str(imds.get_request().url)
    assert ok(run("--api-version", "2099-01-01", "events", "list"), 2).stderr.startswith(
        "imdsctl: 2099-01-01 is not a Scheduled Events api-version")


def test_max_age_before_the_command(imds_emulator, run):
    ok(run("--max-age", "60", "compute", "vm-id"))
    ok(run("--max-age", "60", "compute", "vm-id"))
    assert len(imds_emulator.requests) == 1


@pytest.mark.parametrize(("argv", "said"), [
    (["--debug", "diff", "a.json", "b.json"], "'imdsctl diff' does not take --debug"),
    (["--endpoint", BASE, "diff", "a.json", "b.json"], "'imdsctl diff' does not take --endpoint"),
    (["--debug", "emulator", "profiles"], "'imdsctl emulator profiles' does not take --debug"),
    (["--max-age", "60", "versions"], "'imdsctl versions' does not take --max-age"),
    (["--prefix", "X_", "events", "watch", "--once"], "'imdsctl events watch' does not take --prefix"),
    (["--debug", "emulate", "--", "true"], "'imdsctl emulate' does not take --debug"),
])
def test_an_option_the_command_does_not_use_is_a_usage_error(run, argv, said):
    result = ok(run(*argv), 2)
    assert result.stderr.startswith(f"imdsctl: {said}\n")


def test_diff_offers_no_imds_option(run):
    help_text = ok(run("diff", "--help")).stdout
    assert "--debug" not in help_text and "--endpoint" not in help_text and "-o, --output" in help_text


def test_the_group_lists_the_shared_options(run):
    help_text = ok(run("--help")).stdout
    for option in ("--endpoint", "--api-version", "--timeout", "--output", "--query", "--prefix",
                   "--debug", "--max-age"):
        assert option in help_text


def test_a_variable_is_blamed_for_its_own_bad_value(run, monkeypatch):
    monkeypatch.setenv("IMDSCTL_OUTPUT", "bogus")
    result = ok(run("compute", "vm-id"), 2)
    assert result.stderr.startswith("imdsctl: Invalid value for IMDSCTL_OUTPUT: 'bogus' is not one of")
    monkeypatch.setenv("IMDSCTL_TIMEOUT", "soon")
    monkeypatch.delenv("IMDSCTL_OUTPUT")
    assert "Invalid value for IMDSCTL_TIMEOUT" in ok(run("compute", "vm-id"), 2).stderr


@pytest.mark.parametrize("argv", [
    ["--max-age", "60", "compute", "vm-id"],
    ["-o", "json", "--max-age", "60", "compute", "tags"],
    ["-o", "yaml", "compute", "tags", "-o", "json", "--max-age", "60"],
    ["--max-age=60", "--prefix", "VM_", "get", "-o", "env", "compute/vmId"],
])
def test_the_fast_path_reads_both_forms_to_the_same_bytes(run, imds_emulator, capsys, argv):
    slow = ok(run(*argv)).stdout
    assert fastpath.answer(argv, os.environ) == 0
    assert capsys.readouterr().out == slow
    assert len(imds_emulator.requests) == 1


def test_a_missing_option_value_points_at_the_command_help(run):
    result = ok(run("compute", "-q"), 2)
    assert result.stderr == ("imdsctl: Option '-q' requires an argument.\n"
                             "hint: see 'imdsctl compute --help'\n")
