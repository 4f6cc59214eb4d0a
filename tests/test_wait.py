"""`imdsctl wait` against the emulator: ready, 410 storms, failing, unreachable."""

from __future__ import annotations

import json

import pytest

from imdsctl.emulator import load_profile
from tests.lib.helpers import ok

pytestmark = pytest.mark.e2e

VMID = load_profile("linux-2025").instance["compute"]["vmId"]



def test_ready_prints_nothing(run, imds_emulator):
    result = ok(run("wait"))
    assert (result.stdout, result.stderr) == ("", "")
    assert [r.path for r in imds_emulator.requests] == ["/metadata/instance/compute/vmId"]


def test_ready_as_json_on_request(run, imds_emulator):
    data = json.loads(ok(run("wait", "-o", "json")).stdout)
    assert data["ready"] is True and data["vmId"] == VMID and data["attempts"] == 1
    assert ok(run("wait", "-q", "vmId")).stdout == VMID + "\n"


@pytest.mark.imds_emulator(faults=["410*4"])
def test_waits_across_a_410_storm(run, imds_emulator):
    ok(run("wait", "--debug"))
    assert [r.status for r in imds_emulator.requests] == [410] * 4 + [200]


@pytest.mark.imds_emulator(faults=["404*2", "reset*1", "503*1"])
def test_boot_time_404_and_broken_answers_are_waited_out(run, imds_emulator):
    ok(run("wait"))
    assert [r.status for r in imds_emulator.requests][-1] == 200


@pytest.mark.imds_emulator(faults=["503*inf"])
def test_kept_failing_exits_5(run, imds_emulator):
    result = ok(run("wait", "--timeout", "1"), 5)
    assert result.stdout == "" and "kept failing" in result.stderr


def test_unreachable_exits_6(run):
    result = ok(run("wait", "--timeout", "1"), 6)
    assert result.stdout == "" and "did not answer" in result.stderr


@pytest.mark.imds_emulator(faults=["html*inf"])
def test_something_else_answering_exits_7(run, imds_emulator):
    ok(run("wait"), 7)


def test_wait_keeps_trying_a_closed_port_for_its_whole_budget(run):
    result = ok(run("wait", "--timeout", "3", "--debug"), 6)
    assert result.stderr.count("retrying GET") >= 3  # more attempts than the fail-fast 3
    assert result.stderr.endswith("emulator running there ('imdsctl emulator serve')? Or raise --timeout\n")
