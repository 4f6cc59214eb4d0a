"""--query mistakes are said on stderr, and scripts keep their exit code."""

from __future__ import annotations

import pytest

from imdsctl.emulator import load_profile
from imdsctl.ui.query import jmespath_spelling
from tests.lib.helpers import ok

LINUX = load_profile("linux-2025").instance


@pytest.mark.e2e
@pytest.mark.fast_path
def test_a_name_the_data_does_not_have_names_the_nearest_key(run, imds_emulator):
    result = ok(run("compute", "-q", "vmid"))  # exit 0, as before: scripts rely on it
    assert result.stdout == "\n"
    assert result.stderr == "imdsctl: --query: the data has no key 'vmid'; nearest: vmId\n"
    result = ok(run("get", "-q", "{id: compute.vmid, loc: compute.location}", "-o", "json"))
    assert result.stderr.count("\n") == 1 and "nearest: vmId" in result.stderr


@pytest.mark.e2e
@pytest.mark.fast_path
def test_a_query_that_finds_nothing_in_an_empty_list_says_nothing(run, imds_emulator):
    result = ok(run("get", "-q", "compute.storageProfile.dataDisks[?lun==`99`].name", "-o", "json"))
    assert result.stdout == "[]\n" and result.stderr == ""
    assert ok(run("compute", "-q", "vmId")).stderr == ""


@pytest.mark.e2e
def test_jq_spelling_gets_the_jmespath_one(run, imds_emulator):
    result = ok(run("compute", "-q", ".vmId"), 2)
    assert "--query is JMESPath (as in the az CLI), not jq: try -q 'vmId'" in result.stderr


@pytest.mark.parametrize("jq,jmespath", [
    (".vmId", "vmId"), (".[0].name", "[0].name"), ("| length(@)", "length(@)"),
    (".compute.vmId", "compute.vmId"), (".", "@"), (".a | .b", "a | b"), ("vmId", None),
])
def test_jmespath_spelling(jq, jmespath):
    assert jmespath_spelling(jq) == jmespath
