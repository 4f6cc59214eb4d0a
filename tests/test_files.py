"""imdsctl.files: the one writer of private files (the snapshot, the watch's
state, the support bundle) and the one check that an open file is private."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from imdsctl import catalog, files
from imdsctl.events.state import State
from imdsctl.imds.snapshot import Cache

PACKAGE = Path(files.__file__).resolve().parent


def listing(directory):
    return sorted(p.name for p in Path(directory).iterdir())


def test_a_file_is_written_whole_private_and_alone(tmp_path, monkeypatch):
    os.umask(0)  # the creation mode, not the umask, makes it private
    try:
        files.write_private(str(tmp_path / "f.json"), b"one")
        files.write_private(tmp_path / "f.json", b"two")  # a regular file is replaced
    finally:
        os.umask(0o022)
    assert (tmp_path / "f.json").read_bytes() == b"two"
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o600
    assert listing(tmp_path) == ["f.json"]


@pytest.mark.parametrize("make, kind", [
    (lambda p: p.symlink_to(p.parent / "target"), "symbolic link"),
    (lambda p: os.mkfifo(p), "FIFO"),
    (lambda p: p.mkdir(), "directory"),
])
def test_only_a_regular_file_is_replaced(tmp_path, make, kind):
    (tmp_path / "target").write_bytes(b"kept")
    make(tmp_path / "f")
    before = listing(tmp_path)
    with pytest.raises(files.NotRegularFile) as caught:
        files.write_private(str(tmp_path / "f"), b"new")
    assert caught.value.kind == kind and caught.value.strerror == f"{kind}, not a regular file"
    assert listing(tmp_path) == before and (tmp_path / "target").read_bytes() == b"kept"


def test_the_file_then_its_directory_are_synced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(stat.S_IFMT(os.fstat(fd).st_mode)), real(fd)))
    files.write_private(str(tmp_path / "f"), b"x")
    assert synced == [stat.S_IFREG, stat.S_IFDIR]


def test_an_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_private(str(tmp_path / "f"), b"x")
    assert listing(tmp_path) == []


def test_the_temporary_file_is_created_exclusively_without_following_links(tmp_path, monkeypatch):
    opened = []
    real = os.open

    def recording(path, flags, *args, **kwargs):
        opened.append((path, flags))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording)
    files.write_private(str(tmp_path / "f"), b"x", prefix=".p-", suffix=".part")
    temp, flags = opened[0]
    assert re.fullmatch(r"\.p-[0-9a-f]{12}\.part", os.path.basename(temp))
    want = os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    assert flags & want == want


def test_a_write_relative_to_a_held_directory_follows_it_not_its_path(tmp_path, monkeypatch):
    """``dir_fd``: the name is in the directory held open, wherever its path now leads."""
    (tmp_path / "d").mkdir(mode=0o700)
    (tmp_path / "chosen").mkdir(mode=0o700)
    fd = os.open(tmp_path / "d", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rename(tmp_path / "d", tmp_path / "moved")
        (tmp_path / "d").symlink_to(tmp_path / "chosen")
        synced = []
        real = os.fsync
        monkeypatch.setattr(os, "fsync", lambda f: (synced.append(stat.S_IFMT(os.fstat(f).st_mode)), real(f)))
        files.write_private("f.json", b"one", dir_fd=fd)
        files.write_private("f.json", b"two", dir_fd=fd)
        assert synced == [stat.S_IFREG, stat.S_IFDIR] * 2  # the file, then the directory held
        (tmp_path / "moved" / "link").symlink_to(tmp_path / "chosen" / "x")
        with pytest.raises(files.NotRegularFile):
            files.write_private("link", b"new", dir_fd=fd)
    finally:
        os.close(fd)
    assert listing(tmp_path / "chosen") == []
    assert listing(tmp_path / "moved") == ["f.json", "link"]
    assert (tmp_path / "moved" / "f.json").read_bytes() == b"two"
    assert stat.S_IMODE((tmp_path / "moved" / "f.json").stat().st_mode) == 0o600


def test_why_an_open_file_is_not_private(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"")
    path.chmod(0o600)
    assert files.why_not_private(os.stat(path)) == ""
    path.chmod(0o640)
    assert files.why_not_private(os.stat(path)) == "is open to group or others (mode 0640; want 0600)"
    assert files.why_not_private(os.stat(tmp_path)) == "is not a regular file"
    tmp_path.chmod(0o700)
    assert files.why_not_private(os.stat(tmp_path), stat.S_IFDIR) == ""
    assert files.why_not_private(os.stat(path), stat.S_IFDIR) == "is not a directory"


# -- its callers --------------------------------------------------------------------------------------


def test_the_snapshot_never_replaces_a_link_planted_at_its_name(tmp_path):
    cache = Cache("http://127.0.0.1:1", catalog.DEFAULT_API_VERSION, str(tmp_path / "c"))
    (tmp_path / "c").mkdir(mode=0o700)
    (tmp_path / "elsewhere").write_bytes(b"kept")
    os.symlink(tmp_path / "elsewhere", cache.path)
    assert not cache.store({"compute": {}})
    assert cache.why_not == "cannot write the snapshot (symbolic link, not a regular file)"
    assert os.path.islink(cache.path) and (tmp_path / "elsewhere").read_bytes() == b"kept"
    assert listing(tmp_path / "c") == [os.path.basename(cache.path)]


def test_the_watch_state_never_replaces_a_link_swapped_in(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    told = []
    state = State.open(str(directory / "events.json"), log=told.append)
    try:
        (tmp_path / "elsewhere").write_bytes(b"kept")
        (directory / "events.json").symlink_to(tmp_path / "elsewhere")
        state.record({"EventId": "E1", "EventType": "Reboot"}, 1_700_000_000.0)
        state.save()
    finally:
        state.close()
    assert (tmp_path / "elsewhere").read_bytes() == b"kept"
    assert told == [f"cannot write the state file {directory / 'events.json'} (symbolic link, not a regular "
                    "file); a restarted watch may run these hooks again"]


@pytest.mark.once
def test_private_files_have_one_writer():
    """Temporary files, renames and fsyncs of imdsctl's own files live in imdsctl/files.py only."""
    pattern = re.compile(r"\bos\.(replace|rename|fsync)\(|\bmkstemp\(|def _fsync_directory|def _private\(")
    found = {str(p.relative_to(PACKAGE)): pattern.findall(p.read_text(encoding="utf-8"))
             for p in sorted(PACKAGE.rglob("*.py")) if "emulator" not in p.parts}
    # pyzcache.py: the zipapp's bytecode cache, stdlib only and loaded before any other module, renames
    # within a directory it holds open (dir_fd) and wants no fsync: a lost file is compiled again
    exempt = ("files.py", "pyzcache.py")
    assert {path: hits for path, hits in found.items() if hits and path not in exempt} == {}
