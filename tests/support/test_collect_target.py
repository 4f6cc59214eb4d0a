"""Where `collect -f` writes: a new name or a regular file, never a special file or
a link (checked before any request and again just before the rename); a name
that says its format; '-' for stdout when it is not a terminal."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
import zipfile

import pytest

from imdsctl.support import bundle
from tests.lib.helpers import ok

QUIET = ["404*inf@/metadata/scheduledevents", "404*inf@/metadata/attested", "404*inf@/metadata/identity"]


@pytest.fixture
def quick(imds_emulator_factory, monkeypatch, tmp_path):
    emulator = imds_emulator_factory(throttle=False, faults=QUIET)
    monkeypatch.setenv("IMDSCTL_ENDPOINT", emulator.url)
    monkeypatch.chdir(tmp_path)
    return emulator


def _fifo(path):
    os.mkfifo(path)
    return stat.S_ISFIFO


def _socket(path):
    import socket

    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.close()
    return stat.S_ISSOCK


def _symlink_to_stdout(path):
    os.symlink("/proc/self/fd/1", path)
    return stat.S_ISLNK


def _dangling_symlink(path):
    os.symlink(path.parent / "nowhere.tar.gz", path)
    return stat.S_ISLNK


def _device(path):
    if os.geteuid() != 0:
        pytest.skip("needs root for mknod")
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    return stat.S_ISCHR


@pytest.mark.parametrize("make", [_fifo, _socket, _symlink_to_stdout, _dangling_symlink, _device],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_special_file_or_a_link_is_never_replaced(run, quick, tmp_path, make):
    target = tmp_path / "bundle.tar.gz"
    kind = make(target)
    result = ok(run("collect", "-f", str(target)), 2)
    assert "not a regular file" in result.stderr and result.stdout == ""
    assert kind(os.lstat(target).st_mode)
    assert quick.requests == []  # refused before any request
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.tar.gz"]  # no temporary file left


def test_a_fifo_that_appears_while_collecting_is_not_replaced(run, quick, tmp_path, monkeypatch):
    target = tmp_path / "bundle.zip"
    archive = bundle.archive

    def racing(*args):
        os.mkfifo(target)  # swapped in after the first check, before the rename
        return archive(*args)

    monkeypatch.setattr(bundle, "archive", racing)
    result = ok(run("collect", "-f", str(target)), 2)
    assert "is a FIFO" in result.stderr
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.zip"]


def test_a_regular_file_is_still_replaced(run, quick, tmp_path):
    target = tmp_path / "bundle.tgz"
    target.write_bytes(b"an older bundle")
    ok(run("collect", "-f", str(target)))
    assert target.read_bytes().startswith(b"\x1f\x8b")


@pytest.mark.parametrize("name", ["x.rar", "bundle", "x.tar", "x.gz", "x.zip.bak"])
def test_a_name_that_does_not_say_its_format_is_a_usage_error(run, quick, tmp_path, name):
    result = ok(run("collect", "-f", str(tmp_path / name)), 2)
    assert "archive format" in result.stderr
    assert quick.requests == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_dash_writes_the_archive_to_stdout(run, quick, tmp_path, fmt):
    result = ok(run("collect", "-f", "-", "--format", fmt))
    data = result.stdout_bytes
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {n.split("/", 1)[1] for n in archive.namelist()}
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            names = {n.split("/", 1)[1] for n in archive.getnames()}
    assert {"manifest.json", "instance.json"} <= names
    assert result.stderr == "" and list(tmp_path.iterdir()) == []


def test_dash_when_nothing_answers_writes_the_archive_and_exits_with_the_failure(run, tmp_path):
    result = ok(run("collect", "-f", "-", "--timeout", "1"), 6)
    assert result.stdout_bytes.startswith(b"\x1f\x8b")
    assert result.stderr.startswith("imdsctl: no IMDS endpoint answered") and "wrote stdout" in result.stderr


def test_dash_refuses_a_terminal(tmp_path):
    import pty

    leader, follower = pty.openpty()
    code = "import sys; from imdsctl.cli import main; sys.exit(main())"
    try:
        done = subprocess.run([sys.executable, "-c", code, "collect", "-f", "-"], stdout=follower,
                              stderr=subprocess.PIPE, text=True, timeout=30, cwd=tmp_path)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2 and "is a terminal" in done.stderr
    assert list(tmp_path.iterdir()) == []
