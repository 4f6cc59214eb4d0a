"""The small habits of issue 17: usage lines, did-you-mean at every level,
hints that fit the cause, YAML scalars, tsv's rule, empty results."""

from __future__ import annotations

import json

import pytest
import yaml

from imdsctl import catalog
from tests.lib.helpers import BASE, ok

V = catalog.DEFAULT_API_VERSION


def test_completion_without_a_shell_says_the_choices_on_one_line(run):
    result = ok(run("completion"), 2)
    assert "\\x0a" not in result.stderr and "\\x09" not in result.stderr
    assert result.stderr.splitlines()[0] == (
        "imdsctl: Missing argument '{bash|zsh|fish}'. Choose from: bash, zsh, fish")


@pytest.mark.parametrize("argv,near", [
    (["comptue"], "'compute'"), (["events", "lsit"], "'list'"), (["emulator", "srve"], "'serve'"),
    (["attested", "verfy"], "'verify'")])
def test_a_mistyped_command_gets_did_you_mean_at_every_level(run, argv, near):
    result = ok(run(*argv), 2)
    assert f"Did you mean {near}?" in result.stderr


def test_a_missing_optional_field_suggests_allow_missing(imds, run):
    imds.add_response(url=f"{BASE}/metadata/instance/compute/zone?api-version={V}&format=text",
                      status_code=404, json={"error": "Not found"})
    result = ok(run("compute", "zone"), 3)
    assert "--allow-missing" in result.stderr and "case-sensitive" not in result.stderr


def test_yaml_of_a_scalar_has_no_document_end_marker(imds, run):
    imds.add_response(url=f"{BASE}/metadata/instance/compute/vmId?api-version={V}&format=text", text="abc")
    result = ok(run("compute", "vm-id", "-o", "yaml"))
    assert result.stdout == "abc\n" and yaml.safe_load(result.stdout) == "abc"


@pytest.mark.e2e
def test_tsv_states_the_az_rule_and_its_query_works(run, imds_emulator):
    assert "tsv leaves nested lists and objects out, as az does: pick them with -q" in " ".join(
        ok(run("network", "--help")).stdout.split())
    rows = ok(run("network", "interfaces", "-o", "tsv", "-q", "[].[nic, privateIps[0]]")).stdout
    nics = json.loads(ok(run("network", "interfaces", "-o", "json")).stdout)
    assert rows == "".join(f"{n['nic']}\t{n['privateIps'][0]}\n" for n in nics)
