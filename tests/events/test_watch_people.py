"""`events watch` for a person at 80 columns: lines that fit, ids whole, and a
status line showing the watch is alive, on a terminal only (a pipe gets the
same bytes as before)."""

from __future__ import annotations

import re

import pytest

from tests.lib.events import ID1, ID2, doc, event
from tests.lib.helpers import BASE, ok

URL = f"{BASE}/metadata/scheduledevents?api-version=2020-07-01"
RESOURCES = ("vmss_web_000001", "vmss_web_000002", "vmss_web_000003")


@pytest.fixture
def terminal(monkeypatch):
    """stdout and stderr are a person's terminal, 80 columns wide."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr("imdsctl.ui.render.is_terminal", lambda stream=None: True)
    monkeypatch.setattr("imdsctl.ui.terminal.is_terminal", lambda stream=None: True)


def test_watch_lines_fit_80_columns_with_ids_and_names_whole(run, imds, terminal):
    imds.add_response(url=URL, json=doc(2, event(resources=RESOURCES), event(ID2, "Started", "Freeze")))
    lines = ok(run("events", "watch", "--once")).stdout.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), lines
    assert re.fullmatch(rf"\d\d:\d\d:\d\d  new      Reboot     Scheduled  {ID1}", lines[0])
    below = " ".join(line.strip() for line in lines[1:lines.index(next(x for x in lines if ID2 in x))])
    assert below.startswith(", ".join(RESOURCES) + "  not before ")
    assert re.search(r"\(in 14m \d\ds\)$", below), below


def test_a_watch_on_a_terminal_shows_it_is_alive_off_the_data(run, imds, terminal):
    imds.add_response(url=URL, json=doc(7, event(), event(ID2)))
    result = ok(run("events", "watch", "--once", "-o", "text"))
    status = re.search(r"\r\x1b\[2Kwatching: last poll (\d\d:\d\d:\d\d), DocumentIncarnation (\d+), "
                       r"(\d+) pending", result.stderr)
    assert status and status.group(2, 3) == ("7", "2"), repr(result.stderr)
    assert result.stderr.endswith("\r\x1b[2K")  # erased when the watch ends
    assert "watching" not in result.stdout and "\x1b" not in result.stdout


def test_a_watch_on_a_pipe_has_no_status_line_and_the_same_lines(run, imds):
    imds.add_response(url=URL, json=doc(2, event(resources=RESOURCES)))
    result = ok(run("events", "watch", "--once", "-o", "text"))
    assert "watching" not in result.stderr and "\x1b" not in result.stderr
    assert re.fullmatch(rf"\d\d:\d\d:\d\d  new      Reboot     Scheduled  {ID1}  {', '.join(RESOURCES)}  "
                        r"not before \S+( \S+)? \(in 14m \d\ds\)\n", result.stdout), result.stdout


def test_events_list_at_80_columns_keeps_its_starts_column_across_midnight(monkeypatch):
    """Near midnight an event 15 minutes away is tomorrow: its row still fits
    80 columns with Starts (the countdown says the day; the day, not the time, a day or more ahead)."""
    import io
    import time
    from datetime import datetime

    from imdsctl.events import scheduled
    from imdsctl.ui.tables import table

    monkeypatch.setenv("COLUMNS", "80")
    before_midnight = datetime.now().replace(hour=23, minute=55, second=0, microsecond=0).timestamp()
    soon, later = event(), event(ID2, kind="Redeploy")
    for item, ahead in ((soon, 900), (later, 3 * 86400)):
        item["NotBefore"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(before_midnight + ahead))
    stream = io.StringIO()
    table(scheduled.rows([soon, later], before_midnight), stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].split()[:4] == ["EventId", "Type", "Status", "Starts"], lines
    assert all(len(line) <= 80 for line in lines), lines
    assert any(ID1 in line and "in 15m 00s (00:10)" in line for line in lines), lines
    day = time.strftime("%d %b", time.localtime(before_midnight + 3 * 86400))
    assert any(f"in 3d 00h ({day})" in line for line in lines), lines  # three days on: the day said
