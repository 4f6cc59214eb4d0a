"""The habits people bring (issue #10) and the terminal and disk promises (issue #9):
paths as people have them, several fields from one request, tables for people,
terminal manners, control characters from IMDS, a full disk, hints that fit."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from imdsctl import catalog, fastpath
from tests.lib.helpers import BASE, ok

#: Plain reads: each runs through the click group and through the fast path.
pytestmark = pytest.mark.fast_path

V = catalog.DEFAULT_API_VERSION
VMID = "02aab8a4-74ef-476e-8182-f6d2ba4166a6"
DOC = {
    "compute": {"vmId": VMID, "location": "westeurope", "zone": "", "name": "web-01", "vmSize": "D2",
                "offer": "ubuntu", "publisher": "canonical", "sku": "24_04-lts", "version": "latest",
                "osType": "Linux", "resourceGroupName": "rg", "subscriptionId": "sub", "priority": "Regular",
                "tagsList": [{"name": "env", "value": "prod"}]},
    "network": {"interface": [{"macAddress": "000D3A1B2C3D",
                               "ipv4": {"ipAddress": [{"privateIpAddress": "10.0.0.4",
                                                       "publicIpAddress": ""}],
                                        "subnet": [{"address": "10.0.0.0", "prefix": "24"}]},
                               "ipv6": {"ipAddress": []}}]},
}
INSTANCE = f"{BASE}/metadata/instance?api-version={V}"
COMPUTE = f"{BASE}/metadata/instance/compute?api-version={V}"
NICS = f"{BASE}/metadata/instance/network/interface?api-version={V}"


# -- paths and fields as people have them --------------------------------------------------------


@pytest.mark.parametrize("path", ["/metadata/instance/compute/vmId", "metadata/instance/compute/vmId/",
                                  "/metadata/instance/compute/vmId?api-version=2021-02-01&format=text"])
def test_get_takes_the_path_of_microsofts_documentation(imds, run, path):
    asked = INSTANCE.replace(V, "2021-02-01") if "api-version" in path else INSTANCE  # as curl would ask
    imds.add_response(url=asked, json=DOC)
    assert ok(run("get", path)).stdout == VMID + "\n"


def test_get_suggests_the_key_in_its_case_and_never_guesses(imds, run):
    imds.add_response(url=INSTANCE, json=DOC)
    result = ok(run("get", "compute/vmid"), 3)
    assert result.stdout == ""
    assert result.stderr.splitlines()[1] == "hint: did you mean compute/vmId? IMDS keys are case-sensitive"


def test_several_compute_fields_from_one_request(imds, run):
    imds.add_response(url=COMPUTE, json=DOC["compute"])
    assert ok(run("compute", "vm-id", "location", "zone", "-o", "tsv")).stdout == f"{VMID}\twesteurope\t\n"
    assert len(imds.get_requests()) == 1


def test_several_fields_name_their_variables_by_path(imds, run):
    imds.add_response(url=COMPUTE, json=DOC["compute"])
    assert ok(run("compute", "vm-id", "tags", "-o", "env")).stdout == (
        f"IMDS_COMPUTE_VMID='{VMID}'\nIMDS_COMPUTE_TAGS_ENV='prod'\n")


def test_allow_missing_reads_optional_fields_in_one_request(imds, run):
    imds.add_response(url=COMPUTE, json=DOC["compute"], is_reusable=True)
    assert ok(run("compute", "vm-id", "eviction-policy"), 3).stderr.startswith("imdsctl: IMDS has no")
    result = ok(run("compute", "vm-id", "eviction-policy", "zone", "--allow-missing", "-o", "env"))
    assert result.stdout == (f"IMDS_COMPUTE_VMID='{VMID}'\nIMDS_COMPUTE_EVICTIONPOLICY=''\n"
                             "IMDS_COMPUTE_ZONE=''\n")
    as_json = json.loads(ok(run("compute", "vm-id", "eviction-policy", "--allow-missing", "-o", "json"))
                         .stdout)
    assert as_json == {"compute/vmId": VMID, "compute/evictionPolicy": None}


def test_get_allow_missing(imds, run):
    imds.add_response(url=INSTANCE, json=DOC)
    result = ok(run("get", "compute/vmId", "compute/nope", "--allow-missing", "-o", "tsv"))
    assert result.stdout == f"{VMID}\t\n"


@pytest.mark.parametrize("argv", [["network", "--nic", "9"], ["network", "private-ip", "--nic", "9"],
                                  ["network", "subnet", "--ip", "9"], ["network", "private-ip", "--ip", "9"],
                                  ["network", "mac", "private-ip", "--nic", "3"]])
def test_a_selector_out_of_range_is_not_found_for_every_field(imds, run, argv):
    imds.add_response(json={"error": "Not found"}, status_code=404, is_optional=True,
                      url=f"{BASE}/metadata/instance/network/interface/9/ipv4/ipAddress/0/privateIpAddress"
                          f"?api-version={V}&format=text")
    imds.add_response(url=NICS, json=DOC["network"]["interface"], is_optional=True)
    imds.add_response(json={"error": "Not found"}, status_code=404, is_optional=True,
                      url=f"{BASE}/metadata/instance/network/interface/0/ipv4/ipAddress/9/privateIpAddress"
                          f"?api-version={V}&format=text")
    result = ok(run(*argv), 3)
    assert result.stdout == "" and len(result.stderr.splitlines()) <= 2


def test_nic_alone_is_that_nics_summary_with_its_own_variable_names(imds, run):
    imds.add_response(url=NICS, json=DOC["network"]["interface"], is_reusable=True)
    assert json.loads(ok(run("network", "--nic", "0", "-o", "json")).stdout)["macAddress"] == "000D3A1B2C3D"
    env = ok(run("network", "interfaces", "-o", "env")).stdout
    assert "IMDS_NETWORK_INTERFACES_0_MACADDRESS='000D3A1B2C3D'\n" in env


def test_an_env_name_clash_is_an_error_not_a_silent_overwrite(imds, run):
    imds.add_response(url=f"{BASE}/metadata/instance/compute/tagsList?api-version={V}",
                      json=[{"name": "a-b", "value": "1"}, {"name": "a_b", "value": "2"}])
    result = ok(run("compute", "tags", "-o", "env"), 2)
    assert result.stderr.startswith("imdsctl: -o env would name both compute/tags.a-b and compute/tags.a_b "
                                    "IMDS_COMPUTE_TAGS_A_B")
    assert result.stdout == ""


# -- tables for people --------------------------------------------------------------------------


def test_compute_on_a_terminal_is_a_summary_and_all_is_everything(imds, run, monkeypatch):
    monkeypatch.setattr("imdsctl.ui.render.is_terminal", lambda stream=None: True)
    imds.add_response(url=COMPUTE, json=DOC["compute"], is_reusable=True)
    summary = ok(run("compute")).stdout
    assert "vm-id" in summary and VMID in summary and "canonical:ubuntu:24_04-lts:latest" in summary
    assert "env=prod" in summary and "imdsctl compute --all" in summary
    assert "tagsList" not in summary
    everything = ok(run("compute", "--all")).stdout
    assert "tagsList[0].name" in everything and "--all" not in everything


def test_table_keys_wrap_at_their_dots_and_headers_never_break(imds, run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    long_key = {"storageProfile": {"osDisk": {"encryptionSettings": {"diskEncryptionKey": {
        "sourceVault": {"id": "/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/z"
                              * 2}}}}}}
    imds.add_response(url=COMPUTE, json=long_key)
    lines = ok(run("compute", "--all", "-o", "table")).stdout.splitlines()
    assert lines[0].split() == ["Key", "Value"]
    column = lines[0].index("Value")
    key = "".join(line[:column].strip() for line in lines[2:])
    value = "".join(line[column:] for line in lines[2:])
    assert key == "storageProfile.osDisk.encryptionSettings.diskEncryptionKey.sourceVault.id"
    assert value == "/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/z" * 2
    assert all(len(line) <= 80 for line in lines)


# -- control characters from IMDS -----------------------------------------------------------------

HOSTILE = "\x1b]0;TITLE\x07\x1b[2J\x9b31m\u202e"


def test_a_terminal_is_shown_control_characters_escaped(imds, run, monkeypatch):
    monkeypatch.setattr("imdsctl.ui.render.is_terminal", lambda stream=None: True)
    imds.add_response(url=f"{BASE}/metadata/instance/compute/offer?api-version={V}&format=text",
                      text=HOSTILE, is_reusable=True)
    imds.add_response(url=f"{BASE}/metadata/instance/compute/tagsList?api-version={V}",
                      json=[{"name": "x", "value": HOSTILE}], is_reusable=True)
    for argv in (["compute", "offer"], ["compute", "tags", "-o", "table"], ["compute", "tags", "-o", "yaml"],
                 ["compute", "tags", "-o", "json"], ["compute", "tags", "-o", "tsv"]):
        shown = ok(run(*argv)).stdout
        assert not any(c in shown for c in "\x1b\x07\x9b\u202e"), (argv, shown)
    assert ok(run("compute", "offer")).stdout == "\\x1b]0;TITLE\\x07\\x1b[2J\\x9b31m\\u202e\n"


def test_a_pipe_gets_the_value_as_it_is_and_json_escapes_it(imds, run):
    imds.add_response(url=f"{BASE}/metadata/instance/compute/offer?api-version={V}&format=text",
                      text=HOSTILE, is_reusable=True)
    assert ok(run("compute", "offer")).stdout == HOSTILE + "\n"
    imds.add_response(url=f"{BASE}/metadata/instance/compute?api-version={V}", json={"offer": HOSTILE})
    shown = ok(run("compute", "-o", "json")).stdout
    assert json.loads(shown) == {"offer": HOSTILE} and not any(c in shown for c in "\x1b\x07\x9b\u202e")


def test_stderr_lines_escape_what_imds_said(imds, run):
    imds.add_response(url=INSTANCE, json={"compute": {}}, is_reusable=True)
    result = ok(run("get", "compute/\x1b[2Jx\nforged"), 3)
    assert "\x1b" not in result.stderr and len(result.stderr.splitlines()) == 2


# -- a full disk ---------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_disk_is_exit_8_in_one_line_on_both_paths(imds_emulator):
    env = dict(os.environ)
    imdsctl = os.path.join(os.path.dirname(sys.executable), "imdsctl")
    for argv in (["compute", "vm-id"], ["compute", "vm-id", "--max-age", "60"],
                 ["compute", "vm-id", "--max-age", "60"], ["compute", "-o", "table", "--max-age", "60"]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([imdsctl, *argv], stdout=full, stderr=subprocess.PIPE, env=env, timeout=60)
        assert done.returncode == 8, done.stderr
        assert done.stderr.decode().splitlines() == [
            "imdsctl: cannot write the output: No space left on device",
            "hint: check the disk or the file the output goes to"]


def test_a_bad_timeout_is_exit_2_whether_or_not_a_snapshot_exists(imds_emulator, run):
    assert ok(run("compute", "vm-id", "--max-age", "60", "--timeout", "nan"), 2)
    ok(run("compute", "vm-id", "--max-age", "60"))
    assert fastpath.answer(["compute", "vm-id", "--max-age", "60", "--timeout", "nan"], os.environ) is None
    assert ok(run("compute", "vm-id", "--max-age", "60", "--timeout", "nan"), 2)
    assert ok(run("compute", "vm-id", "--max-age", "inf"), 2)


# -- hints that fit ------------------------------------------------------------------------------


def test_a_refused_emulator_endpoint_is_not_told_about_azure_routes(run):
    result = ok(run("compute", "vm-id"), 6)
    assert "is an emulator running there" in result.stderr and catalog.IMDS_ADDRESS not in result.stderr


def test_a_503_storm_is_told_about_5xx_not_410(imds, run):
    imds.add_response(status_code=503, json={"error": "busy"}, is_reusable=True)
    hint = ok(run("compute", "vm-id", "--timeout", "0.3"), 5).stderr.splitlines()[1]
    assert "(503)" in hint and "410" not in hint


def test_a_404_outside_the_instance_document_says_nothing_about_keys(imds, run):
    imds.add_response(status_code=404, json={"error": "Not found. The emulator signs ..."})
    result = ok(run("attested"), 3)
    assert "case-sensitive" not in result.stderr


# -- terminal manners, on a real terminal ----------------------------------------------------------


def _on_a_terminal(argv, env, seconds=15.0):
    """Run imdsctl with stdout and stderr on one pseudo-terminal; what the terminal got."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "imdsctl", *argv], env)
    out, end = b"", time.monotonic() + seconds
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    os.waitpid(pid, 0)
    return out.decode(errors="replace")


def test_debug_lines_start_at_column_0_under_the_spinner(imds_emulator):
    """Each stderr line starts on a line of its own (the spinner's line erased
    first, \\r ESC[2K) and stays whole, however wide."""
    imds_emulator.add_fault("503*2")
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "60"}
    env.pop("NO_COLOR", None)
    shown = _on_a_terminal(["wait", "--debug", "--timeout", "20"], env)
    assert "waiting for IMDS" in shown  # the spinner turned
    starts = [match.start() for match in re.finditer("debug: ", shown)]
    assert len(starts) >= 4
    for start in starts:
        line_so_far = shown[:start].rsplit("\n", 1)[-1]
        erased = line_so_far.endswith("\x1b[2K") and "\r" in line_so_far  # the spinner's rows cleared
        assert line_so_far in ("", "\x1b[?25l") or erased, repr(line_so_far)
        line = shown[start:].split("\r\n", 1)[0]
        assert not line.startswith("debug: GET") or " -> " in line, repr(line)  # not broken at 60 columns


def test_term_dumb_has_no_spinner_and_ascii_rules(imds_emulator):
    env = {**os.environ, "TERM": "dumb", "COLUMNS": "100"}
    shown = _on_a_terminal(["wait", "--timeout", "20"], env)
    assert "waiting for IMDS" not in shown
    table = _on_a_terminal(["versions", "-o", "table"], env)
    assert "-----" in table and "─" not in table


def test_no_color_set_but_empty_keeps_colour():
    from imdsctl.ui import terminal

    os.environ["NO_COLOR"] = ""
    try:
        assert not terminal.no_color()
        assert terminal.make_console().no_color is False
    finally:
        os.environ["NO_COLOR"] = "1"
    assert terminal.no_color()


def test_a_stream_that_cannot_encode_utf8_gets_ascii_rules():
    import io

    from imdsctl.ui import terminal

    assert not terminal.can_draw(io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))
    assert terminal.can_draw(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
