"""`imdsctl doctor` for a person at 80 columns: about a line per check, the
vmId and the remedy's command whole (read back from the screen)."""

from __future__ import annotations

import json
import re

from imdsctl import catalog
from tests.lib.helpers import ok

VMID = "02aab8a4-74ef-476e-8182-f6d2ba4166a6"
COMMAND = f'export NO_PROXY="$NO_PROXY,{catalog.IMDS_ADDRESS}"'


def test_doctor_at_80_columns_is_compact_and_copyable(run, imds_emulator, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    table = ok(run("doctor", "-o", "table")).stdout
    checks = json.loads(ok(run("doctor", "-o", "json")).stdout)
    lines = table.splitlines()
    assert all(len(line) <= 80 for line in lines), table
    assert len(lines) <= 2 * len(checks), table  # a line per check, and the wrapped details and remedies
    assert len([line for line in lines if not line.startswith(" ")]) == len(checks)
    words = table.split()
    assert VMID + "," in words, table
    assert any(COMMAND in line for line in lines), table  # the command on one line, whole
    for row in checks:  # every detail and remedy is on the screen, word for word (timings aside)
        if " ms" in row["detail"]:
            continue
        for text in (row["detail"], row["remedy"]):
            assert re.sub(r"\s+", " ", text) in re.sub(r"\s+", " ", table.replace("-> ", "")), text


def test_doctor_json_is_unchanged_for_scripts(run, imds_emulator):
    rows = json.loads(ok(run("doctor", "-o", "json")).stdout)
    assert [sorted(r) for r in rows] == [["check", "detail", "remedy", "verdict"]] * len(rows)
