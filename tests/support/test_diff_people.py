"""`imdsctl diff` for a person at 80 columns: a change per line when it fits,
else its path and the old and new values below; paths and ids read back whole."""

from __future__ import annotations

import json

from tests.lib.helpers import ok

DISK = ("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-web/providers/"
        "Microsoft.Compute/disks/web-01-data0")
PATH = "compute/storageProfile/dataDisks/0/managedDisk/id"
NIC = "network/interface/0/ipv4/ipAddress/0/privateIpAddress"


def snapshots(tmp_path):
    old = {"compute": {"vmSize": "Standard_D2s_v5", "storageProfile": {"dataDisks": [
        {"managedDisk": {"id": DISK}}]}},
        "network": {"interface": [{"ipv4": {"ipAddress": [{"privateIpAddress": "10.0.0.4"}]}}]}}
    new = json.loads(json.dumps(old))
    new["compute"]["vmSize"] = "Standard_D4s_v5"
    new["compute"]["storageProfile"]["dataDisks"][0]["managedDisk"]["id"] = DISK + "-restored-2026-12-01"
    new["network"]["interface"][0]["ipv4"]["ipAddress"][0]["privateIpAddress"] = "10.0.0.199"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(old))
    b.write_text(json.dumps(new))
    return str(a), str(b)


def _below(lines, start, mark):
    """The value after ``mark`` on the lines from ``start``, reassembled."""
    index = next(i for i in range(start, len(lines)) if lines[i].startswith("  " + mark))
    pieces = [lines[index][2 + len(mark):]]
    for line in lines[index + 1:]:
        if not line.startswith("    "):
            break
        pieces.append(line.strip())
    return "".join(pieces), pieces


def test_diff_at_80_columns_keeps_paths_and_ids_whole(run, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    lines = ok(run("diff", *snapshots(tmp_path), "-o", "table")).stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert "changed  compute/vmSize  Standard_D2s_v5 -> Standard_D4s_v5" in lines
    for path, old, new in ((PATH, DISK, DISK + "-restored-2026-12-01"), (NIC, "10.0.0.4", "10.0.0.199")):
        start = lines.index(f"changed  {path}")  # the path whole, on its own line
        assert _below(lines, start, "- ")[0] == old
        shown, pieces = _below(lines, start, "+ ")
        assert shown == new and all(piece[-1] in "/-." for piece in pieces[:-1]), pieces


def test_diff_json_is_unchanged_for_scripts(run, tmp_path):
    rows = json.loads(ok(run("diff", *snapshots(tmp_path), "-o", "json")).stdout)
    assert {r["path"]: (r["change"], r["old"], r["new"]) for r in rows}[NIC] == ("changed", "10.0.0.4",
                                                                                 "10.0.0.199")
