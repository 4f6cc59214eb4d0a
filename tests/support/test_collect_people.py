"""`imdsctl collect`'s summary for a person at 80 columns: the bundle's path
whole on one line, ready to copy."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from tests.lib.helpers import ok


def test_collect_summary_shows_the_bundle_path_whole(run, imds_emulator, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    short = Path(tempfile.mkdtemp(dir="/tmp"))  # a path that fits a line, not the value column
    try:
        bundle = short.resolve() / "case-42-imds-bundle-for-the-support-engineer-2026.tar.gz"
        assert 66 <= len(str(bundle)) <= 76
        out = ok(run("collect", "-f", str(bundle), "-o", "table")).stdout
        lines = out.splitlines()
        assert all(len(line) <= 80 for line in lines), out
        assert any(line.strip() == str(bundle) for line in lines), out  # one line, whole
        bundle.unlink()
        summary = json.loads(ok(run("collect", "-f", str(bundle), "-o", "json")).stdout)
        assert summary["file"] == str(bundle)
    finally:
        shutil.rmtree(short)
