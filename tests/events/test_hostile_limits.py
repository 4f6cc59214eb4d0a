"""Limits that agree across layers (issue 18, points 1 and 2): IMDS data that
passes the 1 MiB body cap must not break the hook's environment, the state
file or stderr. Every case is derandomised and bounded."""

from __future__ import annotations

import json
import re

import pytest

from imdsctl.events import hook as watch_hook
from imdsctl.events.state import MAX_BYTES, State
from imdsctl.ui.text import LINE_LIMIT, cut
from tests.lib.events import ID1, ID2, Scripted, doc, event, watcher

#: The kernel's limit on one "NAME=value" string of an environment (Linux MAX_ARG_STRLEN).
MAX_ARG_STRLEN = 128 * 1024

IDS = [ID1, ID2, "3A4B5C6D-0000-4000-8000-000000000003", "3A4B5C6D-0000-4000-8000-000000000004"]


class Log(list):
    def __call__(self, line):
        self.append(line)


def huge(event_id=ID1):
    e = event(event_id, resources=["vm1", *(f"vmss-node-{i:05d}-westeurope" for i in range(10_000))])
    e["Description"] = "d" * 200_000
    return e


def test_a_variable_too_large_for_the_kernel_is_cut_and_named(tmp_path):
    hook = (f'printf "%s\\n" "$IMDS_EVENT_TRUNCATED" > {tmp_path}/truncated; '
            f'printf "%s" "$IMDS_EVENT_DESCRIPTION" > {tmp_path}/description; cat > {tmp_path}/stdin')
    log, sent = Log(), huge()
    w, _ = watcher(Scripted(doc(2, sent)), "none", hook=hook, once=True, log=log)
    assert w.run() == 0
    assert (tmp_path / "truncated").read_text() == "IMDS_EVENT_RESOURCES,IMDS_EVENT_DESCRIPTION\n"
    assert json.loads((tmp_path / "stdin").read_text()) == sent  # the whole event, uncut
    described = (tmp_path / "description").read_bytes()
    assert 0 < len(described) < MAX_ARG_STRLEN and set(described) == {ord("d")}
    cut_notes = [line for line in log if "cut" in line]
    assert len(cut_notes) == 1 and "IMDS_EVENT_DESCRIPTION" in cut_notes[0], log
    assert f"hook for Reboot {ID1} exited 0" in log


def test_the_environment_stays_bounded_whole():
    e = huge()
    e["ResourceType"] = e["EventSource"] = e["EventType"] = "x" * 300_000
    variables = watch_hook.hook_environment(e, 2)
    sizes = [len(k) + 1 + len(v.encode()) + 1 for k, v in variables.items()]
    assert max(sizes) <= MAX_ARG_STRLEN and sum(sizes) <= watch_hook.ENVIRONMENT_LIMIT
    assert set(variables["IMDS_EVENT_TRUNCATED"].split(",")) == {
        "IMDS_EVENT_TYPE", "IMDS_EVENT_RESOURCE_TYPE", "IMDS_EVENT_RESOURCES", "IMDS_EVENT_DESCRIPTION",
        "IMDS_EVENT_SOURCE"}


@pytest.mark.parametrize("char", ["\U0001F600", "é", "€"])
def test_a_cut_variable_is_still_utf8(char):
    e = event()
    e["Description"] = char * 100_000
    value = watch_hook.hook_environment(e, 1)["IMDS_EVENT_DESCRIPTION"]
    assert value and set(value) == {char} and len(value.encode()) < MAX_ARG_STRLEN


def test_a_small_event_is_not_cut():
    variables = watch_hook.hook_environment(event(), 1)
    assert variables["IMDS_EVENT_TRUNCATED"] == ""
    assert variables["IMDS_EVENT_DESCRIPTION"] == "Host server is undergoing maintenance."


def emoji_events():
    events = [event(i) for i in IDS]
    for e in events:
        e["EventType"] = "\U0001F600" * 30_000
    return events


def test_a_state_over_huge_events_is_read_back_and_no_hook_runs_again(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    path = str(directory / "events.json")
    hook = f'echo "$IMDS_EVENT_ID $IMDS_HOOK_ATTEMPT" >> {tmp_path}/runs'
    for _ in range(2):  # the watch, then the watch restarted
        log = Log()
        with State.open(path, log=log) as state:
            w, _ = watcher(Scripted(doc(2, *emoji_events())), "none", hook=hook, once=True, state=state,
                           log=log)
            assert w.run() == 0
        assert not [line for line in log if "state file" in line], log
    assert (tmp_path / "runs").read_text().splitlines() == [f"{i} 1" for i in IDS]
    raw = (directory / "events.json").read_bytes()
    assert len(raw) < MAX_BYTES // 8
    assert "\\ud83d" not in raw.decode()  # UTF-8, not ASCII escapes


def test_a_huge_event_id_is_stored_bounded_and_still_found(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    path = str(directory / "events.json")
    long_ids = [f"{n}-" + "\u00e9" * 200_000 for n in range(4)]
    hook = f'echo "$IMDS_HOOK_ATTEMPT" >> {tmp_path}/runs'
    for _ in range(2):
        with State.open(path) as state:
            events = [event(i, resources=["vm1"]) for i in long_ids]
            w, _ = watcher(Scripted(doc(2, *events)), "none", hook=hook, once=True, state=state)
            assert w.run() == 0
    assert (tmp_path / "runs").read_text().splitlines() == ["1"] * 4
    assert (directory / "events.json").stat().st_size < 64 * 1024


def test_every_stderr_line_of_the_watch_is_bounded(tmp_path, capsys):
    w, _ = watcher(Scripted(doc(2, *emoji_events())), "none", hook="exit 3", once=True, approve=True)
    assert w.run() == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(len(line) <= LINE_LIMIT for line in lines), max(map(len, lines))
    assert any(re.search(r"… \(3\d{4} characters\)$", line) for line in lines), lines[0][-80:]


def test_cut_keeps_short_text_and_says_the_length_of_long():
    assert cut("short", 20) == "short"
    assert cut("x" * 100, 40) == "x" * 22 + "… (100 characters)"
    assert len(cut("x" * 10_000, 200)) == 200
