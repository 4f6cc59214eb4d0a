"""The watch across restarts, its deadlines and what it notifies, on a scripted
client and a fake clock (the kills themselves, with real processes, are in
tests/test_e2e_watch_service.py)."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from imdsctl.events import hook as watch_hook
from imdsctl.events.state import State, stamp
from tests.lib.events import ID1, ID2, Scripted, doc, event, watcher


class Log(list):
    def __call__(self, line):
        self.append(line)


def remember(state, event_id=ID1, **fields):
    """A record as an earlier watch left it."""
    state.records[event_id] = {"type": "Reboot", "seen": stamp(time.time() - 60), "attempts": 0, **fields}
    state.save()


def run(state, client, tmp_path, **options):
    log = Log()
    hook = f'echo "$IMDS_EVENT_ID $IMDS_HOOK_ATTEMPT" >> {tmp_path}/runs'
    options = {"hook": hook, "approve": True, "once": True, **options}
    w, _ = watcher(client, "none", state=state, log=log, **options)
    w.run()
    runs = tmp_path / "runs"
    return (runs.read_text().splitlines() if runs.exists() else []), log


ENDED_OK = {"attempts": 1, "hookStarted": stamp(0), "hookEnded": stamp(1), "hookOk": True, "hook": "exited 0"}


def test_a_hook_that_finished_does_not_run_again_and_its_ack_is_sent(state, tmp_path):
    remember(state, **ENDED_OK)
    client = Scripted(doc(2, event()))
    runs, log = run(state, client, tmp_path)
    assert runs == [] and client.posts == [{"StartRequests": [{"EventId": ID1}]}]
    assert log == [f"hook for Reboot {ID1} ran before this watch started (exited 0): not run again",
                   f"acknowledged Reboot {ID1}"]
    assert "acknowledged" in state.records[ID1]


def test_a_hook_that_failed_is_not_run_again_nor_acknowledged(state, tmp_path):
    remember(state, **dict(ENDED_OK, hookOk=False, hook="exited 3"))
    client = Scripted(doc(2, event()))
    runs, log = run(state, client, tmp_path)
    assert runs == [] and client.posts == []
    assert log == [f"hook for Reboot {ID1} ran before this watch started (exited 3): not run again"]


def test_an_interrupted_hook_runs_again_once_and_knows_it(state, tmp_path):
    remember(state, attempts=1, hookStarted=stamp(0))
    client = Scripted(doc(2, event()))
    runs, log = run(state, client, tmp_path)
    assert runs == [f"{ID1} 2"] and client.posts == [{"StartRequests": [{"EventId": ID1}]}]
    assert log[0] == (f"hook for Reboot {ID1} was interrupted (the watch stopped while it ran): "
                      "running it again")
    assert state.records[ID1]["attempts"] == 2 and state.records[ID1]["hook"] == "exited 0"


def test_a_hook_interrupted_twice_is_not_run_a_third_time(state, tmp_path):
    remember(state, attempts=2, hookStarted=stamp(0))
    client = Scripted(doc(2, event()))
    runs, log = run(state, client, tmp_path)
    assert runs == [] and client.posts == []
    assert log == [f"hook for Reboot {ID1} was interrupted 2 times: not run again; not acknowledging"]
    assert state.records[ID1]["hook"] == "interrupted 2 times: not run again"
    runs, log = run(state, Scripted(doc(2, event())), tmp_path)  # and it stays so
    assert runs == [] and "ran before this watch started (interrupted 2 times" in log[0]


def test_a_watch_killed_before_the_hook_runs_it_as_a_first_attempt(state, tmp_path):
    remember(state)  # seen, never started
    runs, _ = run(state, Scripted(doc(2, event())), tmp_path)
    assert runs == [f"{ID1} 1"]


def test_an_acknowledged_event_is_not_acknowledged_again(state, tmp_path):
    remember(state, acknowledged=stamp(0))
    client = Scripted(doc(2, event()))
    runs, log = run(state, client, tmp_path, hook=None)
    assert client.posts == [] and log == [f"Reboot {ID1} was acknowledged before this watch started"]


def test_a_new_event_is_recorded_from_seen_to_acknowledged(state, tmp_path):
    runs, _ = run(state, Scripted(doc(2, event())), tmp_path)
    record = state.records[ID1]
    assert runs == [f"{ID1} 1"]
    assert set(record) == {"type", "seen", "attempts", "hookStarted", "hookEnded", "hookOk", "hook",
                           "acknowledged"}
    assert (record["attempts"], record["hookOk"], record["hook"]) == (1, True, "exited 0")


def test_only_handled_events_are_recorded(state, tmp_path):
    run(state, Scripted(doc(2, event(resources=("vm2",)))), tmp_path)
    assert state.records == {}
    w, _ = watcher(Scripted(doc(2, event())), "none", once=True, state=state)  # an observer
    w.run()
    assert state.records == {}


def test_events_no_longer_listed_are_marked_gone(state, tmp_path):
    remember(state, ID2, **ENDED_OK)
    run(state, Scripted(doc(2, event())), tmp_path)
    assert "gone" in state.records[ID2] and "gone" not in state.records[ID1]


# -- deadlines ------------------------------------------------------------------------------------------

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("status", "not_before", "now", "cap", "expected"), [
    ("Scheduled", NOW + 30, NOW, 300, (30, 30)),           # a Preempt: its 30 s, not 300
    ("Scheduled", NOW + 30, NOW + 0.4, 300, (29, 29.6)),   # whole seconds for the hook, the rest to run
    ("Scheduled", NOW + 900, NOW, 300, (900, 300)),        # --hook-timeout is the most it gets
    ("Scheduled", NOW + 30, NOW, 5, (30, 5)),
    ("Scheduled", NOW + 3, NOW, 300, (3, watch_hook.FLOOR)),  # nearly due: the floor
    ("Scheduled", NOW - 60, NOW, 300, (0, watch_hook.FLOOR)),  # already due
    ("Scheduled", NOW - 60, NOW, 4, (0, 4)),               # the floor never exceeds --hook-timeout
    ("Started", None, NOW, 300, (0, watch_hook.FLOOR)),
    ("Scheduled", None, NOW, 300, (None, 300)),            # NotBefore unreadable: no deadline known
])
def test_the_hook_gets_the_time_the_event_leaves(status, not_before, now, cap, expected):
    shown = {"EventStatus": status, "NotBefore": formatdate(not_before, usegmt=True) if not_before else ""}
    left, timeout = watch_hook.deadline(shown, now, cap)
    assert (left, round(timeout, 6)) == expected


def test_the_deadline_is_what_kills_the_hook(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(watch_hook, "FLOOR", 0.3)
    due = event(in_seconds=-5)
    client = Scripted(doc(2, due))
    started = time.monotonic()
    w, _ = watcher(client, "none", hook=f"echo $IMDS_HOOK_TIMEOUT > {tmp_path}/t; sleep 20", approve=True,
                   once=True)
    w.run()
    assert time.monotonic() - started < 5 and client.posts == []
    assert (tmp_path / "t").read_text() == "0.3\n"
    killed = f"hook for Reboot {ID1} still running after 0.3s: killed; not acknowledging"
    assert killed in capsys.readouterr().err


def test_a_preempt_hook_is_told_its_seconds(tmp_path):
    preempt = dict(event(kind="Preempt"), NotBefore="")
    client = Scripted(doc(2, preempt))
    w, fake = watcher(client, "none", hook=f"echo $IMDS_EVENT_SECONDS_LEFT $IMDS_HOOK_TIMEOUT > {tmp_path}/t",
                      once=True)
    fake.wall0 = float(int(fake.wall0))
    preempt["NotBefore"] = formatdate(fake.wall0 + 30, usegmt=True)
    w.run()  # reads the VM name, then polls 0.21 s later (fake time): 29.79 s are left
    assert (tmp_path / "t").read_text() == "29 29.79\n"


# -- notifications ----------------------------------------------------------------------------------------


def test_changes_and_outcomes_are_notified(state, tmp_path):
    sent = []
    client = Scripted(doc(2, event(), event(ID2, resources=("vm2",))))
    run(state, client, tmp_path, notify=sent.append)
    assert [(r["change"], r["event"]["EventId"], r.get("outcome")) for r in sent] == [
        ("new", ID1, None), ("handled", ID1, "hook exited 0; acknowledged"), ("new", ID2, None)]
    assert sent[1]["hook"] == "exited 0" and sent[1]["acknowledged"] is True


def test_a_failed_hook_is_notified_as_such(state, tmp_path):
    sent = []
    client = Scripted(doc(2, event()))
    w, _ = watcher(client, "none", once=True, state=state, log=Log(), hook="exit 4", approve=True,
                   notify=sent.append)
    w.run()
    assert sent[-1]["outcome"] == "hook exited 4; not acknowledged" and sent[-1]["acknowledged"] is False


# -- the cadence ---------------------------------------------------------------------------------------


def test_polls_start_an_interval_apart_whatever_the_handling_took():
    from imdsctl.errors import UnavailableError

    client = Scripted()
    w, fake = watcher(client, "none", max_events=3)

    def slow(document, seconds):
        def answer():
            fake.now += seconds  # the poll and what it brought took this long
            return document
        return answer

    client.answers = [slow(doc(2, event()), 0.3), UnavailableError("503"), slow(doc(3, event(ID2)), 1.5),
                      doc(4, event(ID2), event("00000000-0000-0000-0000-000000000003"))]
    w.run()
    assert fake.sleeps == [0.7, 1.0, 0.0]  # the rest of the interval; a full one after a failure; none


def test_requests_keep_a_margin_under_the_rate_limit():
    client = Scripted(doc(2, event()), doc(3, event(ID2)))
    w, _ = watcher(client, "none", approve=True, interval=0.2, max_events=2)
    w.run()
    gaps = [round(b - a, 6) for a, b in zip(client.times, client.times[1:])]
    assert gaps == [0.21] * 4  # name, GET, POST, GET, POST: 5% over IMDS's 5 per second


def test_a_hook_that_swaps_the_state_directory_for_a_link_does_not_choose_where_it_is_written(tmp_path):
    """#18.11: the hook (standing for the owner of the directory above) renames the
    state's directory away and links a directory of its choosing in its place."""
    directory, chosen = tmp_path / "state", tmp_path / "chosen"
    directory.mkdir(mode=0o700)
    chosen.mkdir(mode=0o700)
    hook = f"mv {directory} {tmp_path}/moved && ln -s {chosen} {directory}"
    with State.open(str(directory / "events.json")) as state:
        client = Scripted(doc(2, event()))
        run(state, client, tmp_path, hook=hook)
        assert client.posts == [{"StartRequests": [{"EventId": ID1}]}]
    assert list(chosen.iterdir()) == []
    again = State.open(str(tmp_path / "moved" / "events.json"))
    assert again.records[ID1]["hook"] == "exited 0" and "acknowledged" in again.records[ID1]
    again.close()
