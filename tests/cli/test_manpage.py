"""`imdsctl man`: the man page from every install path. It prints the page the source's
man/imdsctl.1 is (bundled in the package, so a wheel, pipx or the pyz has it), and
`--install [DIR]` writes DIR/man1/imdsctl.1 (default ~/.local/share/man), where man looks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lib.helpers import ok

ROOT = Path(__file__).resolve().parents[2]
MAN = ROOT / "man" / "imdsctl.1"


def test_man_prints_the_checked_in_page(run):
    assert ok(run("man")).stdout == MAN.read_text(encoding="utf-8")


def test_man_install_writes_dir_man1(run, tmp_path):
    result = ok(run("man", "--install", str(tmp_path / "share" / "man")))
    page = tmp_path / "share" / "man" / "man1" / "imdsctl.1"
    assert page.read_bytes() == MAN.read_bytes()
    assert page.stat().st_mode & 0o777 == 0o644
    assert result.stdout == f"{page}\n"


def test_man_install_defaults_to_the_users_share_man(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    ok(run("man", "--install"))
    assert (tmp_path / ".local" / "share" / "man" / "man1" / "imdsctl.1").read_bytes() == MAN.read_bytes()


def test_man_install_replaces_an_old_page(run, tmp_path):
    (tmp_path / "man1").mkdir()
    (tmp_path / "man1" / "imdsctl.1").write_text("old\n")
    ok(run("man", "--install", str(tmp_path)))
    assert (tmp_path / "man1" / "imdsctl.1").read_bytes() == MAN.read_bytes()


def test_a_directory_without_install_is_a_usage_error(run, tmp_path):
    result = ok(run("man", str(tmp_path)), 2)
    assert "--install" in result.stderr and not list(tmp_path.iterdir())


def test_man_finds_the_installed_page(run, tmp_path):
    if not shutil.which("man"):
        pytest.skip("man is not installed (apt-get install man-db)")
    ok(run("man", "--install", str(tmp_path)))
    found = subprocess.run(["man", "-M", str(tmp_path), "-w", "imdsctl"], capture_output=True, text=True,
                           timeout=60)
    assert found.stdout.strip() == str(tmp_path / "man1" / "imdsctl.1"), found.stderr
