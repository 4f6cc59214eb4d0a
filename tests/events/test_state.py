"""The watch's state file (`events watch --state`): private, atomic, locked,
forgetting; and every file it must not trust, refused in one line, never a
crash, never a hang."""

from __future__ import annotations

import json
import os
import stat

import pytest

from imdsctl.errors import UsageError
from imdsctl.events import state as watch_state
from imdsctl.events.state import FORGET_AFTER, State, default_path
from tests.lib.helpers import BASE

ID1 = "C7061BAC-AFDC-4513-B24B-AA5F13A16123"
ID2 = "F020BA2E-3BC0-4C40-A10B-86575A9EABD5"
T0 = 1_800_000_000.0
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class Log(list):
    def __call__(self, line):
        self.append(line)


@pytest.fixture
def place(tmp_path):
    """A private directory and the state file's path in it."""
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    return directory / "events.json"


def opened(path, **kwargs):
    log = Log()
    return State.open(str(path), log=log, **kwargs), log


def handled(state, event_id=ID1, kind="Reboot", now=T0):
    record = state.record({"EventId": event_id, "EventType": kind}, now)
    state.hook_started(record, now + 1)
    state.hook_ended(record, True, "exited 0", now + 2)
    state.acknowledged(record, now + 3)
    return record


# -- what it records, and how it writes --------------------------------------------------------------------


def test_records_survive_a_reopen(place):
    state, log = opened(place)
    handled(state)
    state.close()
    again, log = opened(place)
    assert log == [] and again.path == str(place)
    assert again.records == {ID1: {
        "type": "Reboot", "seen": "2027-01-15T08:00:00.000+00:00", "attempts": 1,
        "hookStarted": "2027-01-15T08:00:01.000+00:00", "hookEnded": "2027-01-15T08:00:02.000+00:00",
        "hookOk": True, "hook": "exited 0", "acknowledged": "2027-01-15T08:00:03.000+00:00"}}


def test_the_file_is_private_whole_and_alone(place):
    state, _ = opened(place)
    handled(state)
    assert stat.S_IMODE(os.stat(place).st_mode) == 0o600
    assert sorted(os.listdir(place.parent)) == ["events.json", "events.json.lock"]  # no temporary left
    document = json.loads(place.read_text())
    assert (document["format"], document["version"], list(document["events"])) == (
        "imdsctl events watch state", 1, [ID1])


def test_the_default_directory_is_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("IMDSCTL_CACHE_DIR", str(tmp_path / "run" / "imdsctl"))
    path = default_path(BASE + "/")
    assert path == default_path(BASE) != default_path("http://127.0.0.1:8169")
    assert os.path.dirname(path) == str(tmp_path / "run" / "imdsctl")
    state, log = opened(path, default=True)
    handled(state)
    assert log == [] and stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_a_second_watch_on_the_same_file_is_refused(place):
    first, _ = opened(place)
    with pytest.raises(UsageError, match="another imdsctl events watch uses the state file"):
        opened(place)
    first.close()
    opened(place)[0].close()


def test_a_hook_that_starts_again_counts_its_attempts(place):
    state, _ = opened(place)
    record = state.record({"EventId": ID1}, T0)
    assert state.hook_started(record, T0) == 1
    assert state.hook_started(record, T0 + 5) == 2
    assert "hookEnded" not in record


def test_a_write_that_fails_is_said_once_and_is_not_fatal(place):
    state, log = opened(place)
    for name in os.listdir(place.parent):
        os.unlink(place.parent / name)
    place.parent.rmdir()
    handled(state)
    assert len(log) == 1 and log[0].startswith(f"cannot write the state file {place} (")
    assert log[0].endswith("a restarted watch may run these hooks again")


# -- forgetting ------------------------------------------------------------------------------------------


def test_events_gone_for_a_day_are_forgotten(place):
    state, _ = opened(place)
    handled(state, ID1)
    handled(state, ID2)
    state.listed([ID2.lower()], T0 + 10)
    assert state.records[ID1]["gone"] == "2027-01-15T08:00:10.000+00:00" and "gone" not in state.records[ID2]
    state.listed([ID1, ID2], T0 + 20)  # it came back: not gone
    assert "gone" not in state.records[ID1]
    state.listed([], T0 + 30)
    state.listed([], T0 + 30 + FORGET_AFTER - 1)
    assert set(state.records) == {ID1, ID2}
    state.listed([], T0 + 31 + FORGET_AFTER)
    assert state.records == {} and json.loads(place.read_text())["events"] == {}


def test_records_are_capped_oldest_gone_first(place, monkeypatch):
    monkeypatch.setattr(watch_state, "MAX_RECORDS", 3)
    state, _ = opened(place)
    ids = [f"{n:08X}-0000-0000-0000-000000000000" for n in range(5)]
    for n, event_id in enumerate(ids):
        state.record({"EventId": event_id}, T0 + n)
    state.listed(ids[1:], T0 + 10)  # ids[0] is gone: it goes first, then the oldest seen
    assert sorted(state.records) == ids[2:]


# -- files it must not trust --------------------------------------------------------------------------------


def refused(path, why):
    state, log = opened(path)
    assert state.path is None, "the file was used"
    assert len(log) == 1, log
    assert log[0] == (f"state file {path} {why}: not used; this watch keeps its state in memory "
                      "(remove it, or pass another --state)")
    handled(state)  # works in memory, writes nothing
    return state


def test_a_symbolic_link_is_refused(place, tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text("precious")
    place.symlink_to(target)
    refused(place, "is a symbolic link")
    assert target.read_text() == "precious" and os.path.islink(place)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_hanging(place):
    os.mkfifo(place, 0o600)
    refused(place, "is not a regular file")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o606])
def test_a_file_open_to_others_is_refused(place, mode):
    place.write_text("{}")
    os.chmod(place, mode)
    refused(place, f"is open to group or others (mode {mode:04o}; want 0600)")
    assert place.read_text() == "{}"


@pytest.mark.skipif(not ROOT, reason="needs root to give a file away")
def test_a_file_of_another_user_is_refused(place):
    place.write_text("{}")
    os.chmod(place, 0o600)
    os.chown(place, 4242, 4242)
    refused(place, "belongs to another user (uid 4242)")


def test_a_file_too_big_is_refused_unread(place, monkeypatch):
    monkeypatch.setattr(watch_state, "MAX_BYTES", 100)
    place.write_bytes(b" " * 101)
    os.chmod(place, 0o600)
    refused(place, "is over 1 MiB")


@pytest.mark.parametrize(("content", "why"), [
    (b"\x00\xff garbage", "is not JSON, so not an imdsctl state file"),
    (b'{"format": "imdsctl events watch state", "version": 1, "events": ',
     "is not JSON, so not an imdsctl state file"),
    (b'{"servers": ["a", "b"]}', "is not an imdsctl events watch state file"),
    (b"[1, 2]", "is not an imdsctl events watch state file"),
    (b'{"format": "imdsctl events watch state", "version": 2, "events": {}}',
     "has a version this imdsctl does not read (2)"),
])
def test_a_file_that_is_not_a_state_file_is_refused_and_kept(place, content, why):
    place.write_bytes(content)
    os.chmod(place, 0o600)
    refused(place, why)
    assert place.read_bytes() == content


def test_an_empty_file_is_an_empty_state(place):
    place.write_bytes(b"")
    os.chmod(place, 0o600)
    state, log = opened(place)
    assert (state.path, state.records, log) == (str(place), {}, [])


def test_unreadable_records_are_dropped_and_the_rest_kept(place):
    good = {"type": "Reboot", "seen": "2027-01-15T08:00:00.000+00:00", "attempts": 1}
    events = {ID1: good, ID2: {"seen": "yesterday"}, "x": [1], "y": {"seen": "2027-01-15T08:00:00+00:00",
                                                                   "attempts": True}}
    place.write_text(json.dumps({"format": "imdsctl events watch state", "version": 1, "events": events}))
    os.chmod(place, 0o600)
    state, log = opened(place)
    assert state.records == {ID1: good}
    assert log == [f"state file {place}: 3 unreadable record(s) dropped"]


@pytest.mark.parametrize("mode", [0o770, 0o757])
def test_a_directory_others_may_write_is_refused(place, mode):
    os.chmod(place.parent, mode)
    refused(place, f"is in {place.parent}, a directory others may write")
    assert not place.exists()


def test_a_symbolic_link_for_a_directory_is_refused(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    refused(tmp_path / "link" / "events.json", f"is in {tmp_path / 'link'}, which is not a directory")


def test_a_lock_file_that_is_a_link_is_refused(place, tmp_path):
    (place.parent / "events.json.lock").symlink_to(tmp_path / "target")
    refused(place, f"cannot be locked: {place}.lock is a symbolic link")
    assert not (tmp_path / "target").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_lock_file_that_is_a_fifo_is_refused_without_hanging(place):
    os.mkfifo(f"{place}.lock", 0o600)
    refused(place, f"cannot be locked: {place}.lock is not a regular file")


def test_a_directory_in_place_of_the_file_is_refused(place):
    place.mkdir(mode=0o700)
    refused(place, "is not a regular file")


def test_a_default_directory_that_cannot_be_made_is_said_once(tmp_path):
    (tmp_path / "file").write_text("")
    state, log = opened(tmp_path / "file" / "imdsctl" / "events.json", default=True)
    assert state.path is None and len(log) == 1 and "cannot be used (Not a directory)" in log[0]


def test_a_missing_directory_given_is_said_once(tmp_path):
    nowhere = tmp_path / "nowhere"
    refused(nowhere / "events.json", f"cannot be used: {nowhere}: No such file or directory")


# -- the directory is held, not trusted by its path (#18.11) -------------------------------------------------


def test_a_directory_swapped_for_a_link_between_writes_is_not_followed(place, tmp_path):
    """The attacker (who owns the directory above) renames the state's directory away
    while a hook runs and puts a link to a directory of their choosing in its place:
    the watch goes on writing in the directory it opened, never in the link's target."""
    state, log = opened(place)
    record = state.record({"EventId": ID1, "EventType": "Reboot"}, T0)
    state.hook_started(record, T0 + 1)
    moved, chosen = tmp_path / "moved", tmp_path / "chosen"
    chosen.mkdir(mode=0o700)
    os.rename(place.parent, moved)
    place.parent.symlink_to(chosen)
    state.hook_ended(record, True, "exited 0", T0 + 2)
    state.acknowledged(record, T0 + 3)
    state.close()
    assert os.listdir(chosen) == [], "the state was written through the link"
    assert sorted(os.listdir(moved)) == ["events.json", "events.json.lock"]
    written = json.loads((moved / "events.json").read_text())["events"][ID1]
    assert (written["hook"], written["acknowledged"]) == ("exited 0", "2027-01-15T08:00:03.000+00:00")
    assert log == []


def test_a_directory_swapped_before_the_first_write_is_not_followed(place, tmp_path):
    state, _ = opened(place)
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o700)
    os.rename(place.parent, tmp_path / "moved")
    place.parent.symlink_to(chosen)
    handled(state)
    assert os.listdir(chosen) == []
    assert (tmp_path / "moved" / "events.json").exists()


def test_the_directory_is_held_open_for_the_watch_and_not_inherited(place):
    state, _ = opened(place)
    held = [fd for fd in map(int, os.listdir("/proc/self/fd")) if _is(fd, place.parent)] \
        if os.path.isdir("/proc/self/fd") else []
    assert held, "the state's directory is not held open"
    assert all(not os.get_inheritable(fd) for fd in held)
    state.close()
    assert not [fd for fd in held if _is(fd, place.parent)]


def _is(fd, directory):
    try:
        return os.path.samestat(os.fstat(fd), os.stat(directory))
    except OSError:
        return False


@pytest.mark.skipif(not ROOT, reason="needs root to give a directory away")
@pytest.mark.parametrize("default", [False, True])
def test_root_refuses_a_directory_of_another_user(place, default):
    """As root with XDG_RUNTIME_DIR another user's (after `su` without `-`): their
    directory is not used, explicit --state or default; one line says whose it is."""
    os.chown(place.parent, 65534, 65534)
    state, log = opened(place, default=default)
    assert state.path is None and len(log) == 1, log
    assert log[0] == (f"state file {place} is in {place.parent}, a directory of another user "
                      "(uid 65534): not used; this watch keeps its state in memory "
                      "(remove it, or pass another --state)")
    handled(state)
    assert os.listdir(place.parent) == []
