"""`compute storage-profile` for a person at 80 columns: a disks table, each
managed disk id whole when read back from the screen; -o json as IMDS sent it."""

from __future__ import annotations

import json

from tests.lib.helpers import ok


def test_storage_profile_is_a_disks_table_with_ids_whole(run, imds_emulator, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    profile = json.loads(ok(run("compute", "storage-profile", "-o", "json")).stdout)
    lines = ok(run("compute", "storage-profile", "-o", "table")).stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].split() == ["Disk", "LUN", "Size", "Caching", "Type"]
    disks = [dict(profile["osDisk"], lun="os")] + profile["dataDisks"]
    for disk in disks:
        row = next(i for i, line in enumerate(lines) if line.split()[:1] == [disk["name"]])
        assert lines[row].split() == [disk["name"], disk["lun"], disk["diskSizeGB"], "GB", disk["caching"],
                                      disk["managedDisk"]["storageAccountType"]]
        below = []
        for line in lines[row + 1:]:
            if not line.startswith("  "):
                break
            below.append(line.strip())
        assert "".join(below) == disk["managedDisk"]["id"]  # wrapped only after its own "/"
        assert all(piece.endswith("/") for piece in below[:-1])


def test_storage_profile_for_scripts_is_what_imds_sent(run, imds_emulator):
    mine = json.loads(ok(run("compute", "storage-profile", "-o", "json")).stdout)
    assert mine == json.loads(ok(run("get", "compute/storageProfile", "-o", "json")).stdout)
