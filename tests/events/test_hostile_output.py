"""Output that cannot be written (issue 18, point 15): a full disk is exit 8
(OUTPUT), for the watch's lines and for `collect -f`, never 1 or 2."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from imdsctl import files
from imdsctl.emulator import events as se
from tests.lib.helpers import ok
from tests.lib.process import IMDSCTL


@pytest.mark.e2e
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_watch_lines_to_a_full_device_exit_8(imds_emulator):
    se.attach(imds_emulator.service, events=["Reboot"])
    with open("/dev/full", "w") as full:
        result = subprocess.run([IMDSCTL, "events", "watch", "--once", "-o", "json"], stdout=full,
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ), timeout=60)
    assert result.returncode == 8, result.stderr
    assert "cannot write the output" in result.stderr and "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr


def test_collect_to_a_full_filesystem_exits_8(run, imds_emulator, tmp_path, monkeypatch):
    real = os.fsync

    def full(fd):  # the filesystem fills while the archive is written (what a tmpfs of 64 KiB does)
        if os.fstat(fd).st_size:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(files.os, "fsync", full)
    result = ok(run("collect", "-f", str(tmp_path / "x.tar.gz")), 8)
    assert "No space left on device" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_collect_to_a_real_full_tmpfs_exits_8(tmp_path):
    mount = tmp_path / "full"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        with open(mount / "filler", "wb", buffering=0) as filler:  # fill it whole
            try:
                for _ in range(64):
                    filler.write(b"\0" * 1024)
            except OSError:
                pass
        result = subprocess.run([IMDSCTL, "emulate", "--", IMDSCTL, "collect", "-f",
                                 str(mount / "x.tar.gz")], capture_output=True, text=True,
                                env=dict(os.environ), timeout=120)
        assert result.returncode == 8, result.stderr
    finally:
        subprocess.run(["umount", str(mount)], check=False)
