"""`imdsctl diff`: snapshots from `get -o json` and from `collect` bundles,
redaction, stdin, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imdsctl.emulator import load_profile
from imdsctl.support.diff import compare
from imdsctl.support.redact import MARKER
from tests.lib.helpers import ok

LINUX = load_profile("linux-2025").instance
SPOT = load_profile("spot-vmss").instance
PINNED = ["404*inf@/metadata/scheduledevents", "404*inf@/metadata/attested", "404*inf@/metadata/identity"]



def snapshot(run, monkeypatch, emulator, path: Path) -> Path:
    """What `imdsctl get -o json > path` writes, against ``emulator``."""
    monkeypatch.setenv("IMDSCTL_ENDPOINT", emulator.url)
    path.write_text(ok(run("get", "-o", "json")).stdout)
    return path


def by_path(result) -> dict:
    return {row["path"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def linux_and_spot(run, monkeypatch, imds_emulator_factory, tmp_path):
    a = snapshot(run, monkeypatch, imds_emulator_factory(), tmp_path / "a.json")
    b = snapshot(run, monkeypatch, imds_emulator_factory(profile="spot-vmss"), tmp_path / "b.json")
    return a, b


def test_two_vms(run, linux_and_spot):
    a, b = linux_and_spot
    rows = by_path(ok(run("diff", str(a), str(b), "-o", "json")))
    assert rows["compute/priority"] == {"path": "compute/priority", "change": "changed",
                                        "old": "Regular", "new": "Spot"}
    assert rows["compute/vmId"]["new"] == SPOT["compute"]["vmId"]
    assert rows["compute/storageProfile/dataDisks/1/lun"] == {
        "path": "compute/storageProfile/dataDisks/1/lun", "change": "removed", "old": "1", "new": None}
    assert rows["network/interface/1/macAddress"] == {
        "path": "network/interface/1/macAddress", "change": "added", "old": None,
        "new": SPOT["network"]["interface"][1]["macAddress"]}
    assert rows["compute/tagsList/0/name"]["change"] == "removed"
    # sensitive values are compared, but not shown
    assert rows["compute/osProfile/adminUsername"] == {
        "path": "compute/osProfile/adminUsername", "change": "changed", "old": MARKER, "new": MARKER}
    assert rows["compute/userData"] == {"path": "compute/userData", "change": "changed",
                                        "old": MARKER, "new": ""}
    assert "compute/location" in rows and "compute/osType" not in rows  # both Linux
    assert LINUX["compute"]["userData"] not in json.dumps(rows)


def test_no_redact_shows_the_values(run, linux_and_spot):
    a, b = linux_and_spot
    rows = by_path(ok(run("diff", str(a), str(b), "--no-redact", "-o", "json")))
    assert rows["compute/osProfile/adminUsername"]["old"] == "azureuser"
    assert rows["compute/userData"]["old"] == LINUX["compute"]["userData"]


def test_exit_code_flag(run, linux_and_spot):
    a, b = linux_and_spot
    ok(run("diff", str(a), str(b), "-o", "none"))
    ok(run("diff", "--exit-code", str(a), str(b), "-o", "none"), 3)
    result = ok(run("diff", "--exit-code", str(a), str(a), "-o", "json"))
    assert json.loads(result.stdout) == []


def test_a_table_for_people(run, linux_and_spot):
    a, b = linux_and_spot
    result = ok(run("diff", str(a), str(b), "-o", "table"))
    assert any(line.split() == ["changed", "compute/priority", "Regular", "->", "Spot"]
               for line in result.stdout.splitlines()), result.stdout


def test_stdin(run, linux_and_spot):
    a, b = linux_and_spot
    rows = by_path(ok(run("diff", "-", str(b), "-o", "json", input=a.read_text())))
    assert rows["compute/priority"]["new"] == "Spot"
    ok(run("diff", "-", "-"), 2)


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_a_bundle_against_a_json_file(run, monkeypatch, imds_emulator_factory, tmp_path, fmt):
    emulator = imds_emulator_factory(throttle=False, faults=PINNED)
    plain = snapshot(run, monkeypatch, emulator, tmp_path / "now.json")
    bundle = tmp_path / f"before.{fmt}"
    ok(run("collect", "-f", str(bundle), "--timeout", "2", "-o", "none"))
    result = ok(run("diff", "--exit-code", str(bundle), str(plain), "-o", "json"))
    rows = json.loads(result.stdout)
    assert [(r["path"], r["change"]) for r in rows] == [
        ("compute/osProfile/adminUsername", "redacted"), ("compute/publicKeys/0/keyData", "redacted"),
        ("compute/publicKeys/0/path", "redacted"), ("compute/userData", "redacted")]
    assert {r["new"] for r in rows} == {MARKER}  # the plain file's secrets are not shown either


def test_a_bundle_without_an_instance_document(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok(run("collect", "-f", "dead.tar.gz", "--timeout", "0.5"), 6)
    (tmp_path / "x.json").write_text("{}")
    result = ok(run("diff", "dead.tar.gz", "x.json"), 2)
    assert result.stderr.startswith("imdsctl: dead.tar.gz holds no instance.json")


@pytest.mark.parametrize(("content", "message"), [
    (b"not json", "is neither JSON nor an imdsctl bundle"),
    (b"\x1f\x8b\x08garbage", "not a readable archive"),
    (b"PK\x03\x04garbage", "not a readable archive"),
])
def test_unreadable_input_exits_2(run, tmp_path, content, message):
    bad = tmp_path / "bad"
    bad.write_bytes(content)
    (tmp_path / "x.json").write_text("{}")
    result = ok(run("diff", str(bad), str(tmp_path / "x.json")), 2)
    assert message in result.stderr


def test_a_missing_file_exits_2(run, tmp_path):
    ok(run("diff", str(tmp_path / "nope.json"), str(tmp_path / "nope.json")), 2)


def test_diff_never_asks_imds(run, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    ok(run("diff", str(tmp_path / "x.json"), str(tmp_path / "x.json")))  # the endpoint is a closed port
    assert "--endpoint" not in ok(run("diff", "--help")).stdout


# -- compare -------------------------------------------------------------------------------------


def test_compare_shapes():
    old = {"a": "1", "b": {"c": ["x", "y"]}, "d": "text", "e": [], "gone": {"k": "v"}}
    new = {"a": "1", "b": {"c": ["x"]}, "d": {"now": "object"}, "e": [{"f": "g"}], "new": []}
    assert list(compare(old, new)) == [
        {"path": "b/c/1", "change": "removed", "old": "y", "new": None},
        {"path": "d", "change": "removed", "old": "text", "new": None},
        {"path": "d/now", "change": "added", "old": None, "new": "object"},
        {"path": "e/0/f", "change": "added", "old": None, "new": "g"},
        {"path": "gone/k", "change": "removed", "old": "v", "new": None},
        {"path": "new", "change": "added", "old": None, "new": []},
    ]


def test_compare_redacted_values_are_not_compared():
    assert list(compare({"s": MARKER}, {"s": MARKER})) == [
        {"path": "s", "change": "redacted", "old": MARKER, "new": MARKER}]
    assert list(compare({"s": MARKER, "t": "1"}, {"s": "plain", "t": "1"}))[0]["change"] == "redacted"
    assert list(compare({"x": ["1"]}, {"x": ["1"]})) == []
