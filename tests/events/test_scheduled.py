"""`imdsctl events list|ack|watch` against pytest-httpx, and the watch loop
against a scripted client: every error path and exit code.

IMDSCTL_ENDPOINT is the real IMDS address on purpose: httpx_mock answers in
process, so nothing leaves the test and the URLs are the ones a VM sees.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from email.utils import formatdate

import httpx
import pytest

from imdsctl.errors import RefusedError, UnavailableError, UnreachableError
from imdsctl.events import scheduled as ev
from imdsctl.events.watch import hook_environment, human_line
from imdsctl.ui.render import compile_query
from imdsctl.ui.text import span
from tests.lib.events import ID1, ID2, Scripted, doc, event, watcher
from tests.lib.helpers import BASE, ok

PATH = "/metadata/scheduledevents"


def url(version="2020-07-01"):
    return f"{BASE}{PATH}?api-version={version}"


NAME_URL = f"{BASE}/metadata/instance/compute/name?api-version=2017-04-02&format=text"


def lines(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- list ------------------------------------------------------------------------------------------


def test_list_prints_the_document_as_imds_sent_it(run, imds):
    document = doc(2, event())
    imds.add_response(url=url(), json=document)
    assert json.loads(ok(run("events", "list")).stdout) == document
    request = imds.get_requests()[0]
    assert (request.method, request.headers["Metadata"]) == ("GET", "true")


def test_list_table_is_for_people(run, imds, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # no folding
    imds.add_response(url=url(), json=doc(2, event(), event(ID2, "Started", "Freeze", ("vm1", "vm2"))))
    out = ok(run("events", "list", "-o", "table")).stdout
    assert "in 14m " in out and "unknown" not in out
    for text in (ID1, ID2, "Reboot", "Scheduled", "Started", "Freeze", "vm1, vm2", "Platform", "5s"):
        assert text in out
    assert out.index(ID2) < out.index(ID1)  # what has started comes first


@pytest.mark.parametrize("columns", [80, 120])
def test_list_table_fits_a_terminal_ids_whole_soonest_first(run, imds, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    imds.add_response(url=url(), json=doc(2, event(in_seconds=900),
                                          event(ID2, kind="Preempt", in_seconds=30)))
    lines = ok(run("events", "list", "-o", "table")).stdout.splitlines()
    assert all(len(line) <= columns for line in lines), lines
    header = lines[0].split()
    assert header[:4] == ["EventId", "Type", "Status", "Starts"]  # whole words, never "Resourc"
    body = "\n".join(lines[2:])
    assert ID1 in body and ID2 in body and body.index(ID2) < body.index(ID1)  # Preempt in 30s first
    assert "in 30s" in body or "in 29s" in body


def test_list_table_without_events_says_so(run, imds):
    imds.add_response(url=url(), json=doc(7))
    assert ok(run("events", "list", "-o", "table")).stdout == "no scheduled events (DocumentIncarnation 7)\n"


def test_list_query_runs_on_the_document_even_for_the_table(run, imds):
    imds.add_response(url=url(), json=doc(2, event()))
    assert ok(run("events", "list", "-o", "table", "-q", "Events[0].EventType")).stdout == "Reboot\n"


@pytest.mark.parametrize(("given", "sent"), [("2019-01-01", "2019-01-01"), ("latest", "2020-07-01"),
                                             ("2017-03-01", "2017-03-01")])
def test_api_version_picks_a_scheduled_events_version(run, imds, given, sent):
    imds.add_response(url=url(sent), json=doc(1))
    ok(run("events", "list", "--api-version", given))


def test_an_instance_api_version_is_a_usage_error(run, imds):
    result = ok(run("events", "list", "--api-version", "2025-04-07"), 2)
    assert "2025-04-07 is not a Scheduled Events api-version" in result.stderr
    assert "2020-07-01" in result.stderr
    assert imds.get_requests() == []


def test_imdsctl_api_version_is_for_the_instance_and_ignored_here(run, imds, monkeypatch):
    monkeypatch.setenv("IMDSCTL_API_VERSION", "2025-04-07")
    imds.add_response(url=url(), json=doc(1))
    ok(run("events", "list"))


def test_list_retries_410(run, imds):
    imds.add_response(url=url(), status_code=410)
    imds.add_response(url=url(), json=doc(3))
    assert json.loads(ok(run("events", "list")).stdout) == doc(3)
    assert len(imds.get_requests()) == 2


@pytest.mark.parametrize(("reply", "code", "message"), [
    (dict(status_code=404, json={"error": "Not found"}), 3, "IMDS does not serve scheduled events here"),
    (dict(status_code=400, json={"error": "Bad request. api-version is invalid"}), 4, "refused"),
    (dict(status_code=410, is_reusable=True), 5, "kept failing"),
    (dict(json={"compute": {}}), 7, "not a scheduled-events document"),
    (dict(json={"DocumentIncarnation": True, "Events": []}), 7, "not a scheduled-events document"),
    (dict(json={"DocumentIncarnation": 1, "Events": [{"EventType": "Reboot"}]}), 7, "EventId"),
    (dict(text="<html>portal</html>", headers={"content-type": "text/html"}), 7, "HTML"),
])
def test_list_failures_exit_with_their_code(run, imds, reply, code, message):
    imds.add_response(url=url(), **reply)
    result = ok(run("events", "list", "--timeout", "0.5"), code)
    assert message in result.stderr and result.stdout == ""


def test_list_unreachable_exits_6(run, imds):
    imds.add_exception(httpx.ConnectError("connection refused"), is_reusable=True)
    assert "did not answer" in ok(run("events", "list", "--timeout", "0.3"), 6).stderr


def test_list_interrupted_exits_130(run, imds):
    def interrupt(request):
        raise KeyboardInterrupt

    imds.add_callback(interrupt)
    assert ok(run("events", "list"), 130).stderr == "imdsctl: interrupted\n"


# -- presentation helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (45, "45s"), (872, "14m 32s"), (3600, "1h 00m"), (7500, "2h 05m"), (273600, "3d 04h")])
def test_spans(seconds, text):
    assert span(seconds) == text


@pytest.mark.parametrize(("value", "text"), [(-1, "unknown"), (0, "none"), (5, "5s"), (150, "2m 30s"),
                                             (None, ""), (True, "")])
def test_durations(value, text):
    assert ev.duration({"DurationInSeconds": value}) == text


def test_when_counts_down_in_local_time():
    now = float(int(time.time()))
    assert ev.when({"NotBefore": ""}, now) == ""
    assert ev.when({"NotBefore": "next week"}, now) == "next week"
    assert ev.when({"NotBefore": formatdate(now - 30, usegmt=True)}, now).endswith("(due)")
    later = ev.when({"NotBefore": formatdate(now + 2 * 86400, usegmt=True)}, now)
    assert later.endswith("(in 2d 00h)") and len(later.split()[0]) == 10  # a date: another day


# -- ack -------------------------------------------------------------------------------------------


def posted(imds):
    request = [r for r in imds.get_requests() if r.method == "POST"][-1]
    assert request.headers["Content-Type"] == "application/json"
    assert str(request.url) == url()
    return json.loads(request.content)


def test_ack_checks_the_id_posts_start_requests_and_says_what_it_did(run, imds):
    document = doc(2, event(), event(ID2))
    imds.add_response(url=url(), json=document)
    imds.add_response(url=url(), method="POST", json=doc(3))
    imds.add_response(url=url(), json=doc(3, event(status="Started"), event(ID2)))
    result = ok(run("events", "ack", ID1.lower(), "-o", "json"))
    assert posted(imds) == {"StartRequests": [{"EventId": ID1}]}  # as IMDS spells it
    assert json.loads(result.stdout) == [{"EventId": ID1, "EventType": "Reboot", "Acknowledged": True,
                                          "StatusBefore": "Scheduled", "StatusAfter": "Started"}]
    assert [r.method for r in imds.get_requests()] == ["GET", "POST", "GET"]  # the re-read


def test_ack_sends_several_ids_in_one_post_and_a_person_reads_before_and_after(run, imds, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    imds.add_response(url=url(), json=doc(2, event(), event(ID2, kind="Freeze")))
    imds.add_response(url=url(), method="POST", json=doc(3))
    imds.add_response(url=url(), json=doc(3, event(status="Started")))
    result = ok(run("events", "approve", ID1, ID2, ID1, "-o", "table"))
    assert posted(imds) == {"StartRequests": [{"EventId": ID1}, {"EventId": ID2}]}
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["EventId", "Type", "Was", "Now"]
    assert [ID1, "Reboot", "Scheduled", "Started"] in rows
    assert [ID2, "Freeze", "Scheduled", "(gone:", "completed)"] in rows
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_ack_that_cannot_read_again_still_says_it_acknowledged(run, imds):
    imds.add_response(url=url(), json=doc(2, event()))
    imds.add_response(url=url(), method="POST", json=doc(3))
    imds.add_response(url=url(), status_code=404)
    result = ok(run("events", "ack", ID1, "-o", "json"))
    assert json.loads(result.stdout)[0]["StatusAfter"] == "(not read)"
    assert "acknowledged, but the document could not be read again" in result.stderr


def test_ack_refuses_ids_not_in_the_document(run, imds):
    imds.add_response(url=url(), json=doc(2, event()))
    result = ok(run("events", "ack", ID1, ID2, "deadbeef"), 3)
    assert f"no scheduled event {ID2}, deadbeef in the current document" in result.stderr
    assert "--force" in result.stderr
    assert [r.method for r in imds.get_requests()] == ["GET"]


def test_ack_force_posts_without_reading(run, imds):
    imds.add_response(url=url("2019-08-01"), method="POST", json=doc(3))
    imds.add_response(url=url("2019-08-01"), json=doc(3, event(ID2, status="Started", kind="Freeze")))
    result = ok(run("events", "ack", "--force", ID2, "--api-version", "2019-08-01", "-o", "json"))
    assert json.loads(result.stdout) == [{"EventId": ID2, "EventType": "Freeze", "Acknowledged": True,
                                          "StatusBefore": None, "StatusAfter": "Started"}]
    assert json.loads(imds.get_requests()[0].content) == {"StartRequests": [{"EventId": ID2}]}


def test_ack_refused_exits_4(run, imds):
    imds.add_response(url=url(), method="POST", status_code=400,
                      json={"error": "Bad request. Invalid EventId"})
    result = ok(run("events", "ack", "--force", "x"), 4)
    assert "IMDS refused POST /metadata/scheduledevents: 400 Bad Request" in result.stderr


def test_ack_needs_an_id(run):
    assert "Missing argument 'EVENT_ID...'" in ok(run("events", "ack"), 2).stderr


def test_ack_when_the_document_read_fails(run, imds):
    imds.add_response(url=url(), status_code=404)
    ok(run("events", "ack", ID1), 3)


# -- watch through the CLI -----------------------------------------------------------------------------


def test_watch_once_prints_json_lines(run, imds):
    imds.add_response(url=url(), json=doc(2, event(), event(ID2, "Started")))
    result = ok(run("events", "watch", "--once"))
    assert lines(result) == [{"change": "new", "DocumentIncarnation": 2, "event": e}
                             for e in doc(2, event(), event(ID2, "Started"))["Events"]]


def test_watch_once_for_people(run, imds):
    imds.add_response(url=url(), json=doc(2, event()))
    out = ok(run("events", "watch", "--once", "-o", "text")).stdout
    assert re.fullmatch(rf"\d\d:\d\d:\d\d  new      Reboot     Scheduled  {ID1}  vm1  "
                        r"not before \S+( \S+)? \(in 14m \d\ds\)\n", out), out  # a date too, near midnight


def test_watch_query_applies_to_each_line(run, imds):
    imds.add_response(url=url(), json=doc(2, event(), event(ID2)))
    result = ok(run("events", "watch", "--once", "-q", "event.EventId"))
    assert result.stdout == f"{ID1}\n{ID2}\n"


def test_watch_once_handles_hook_and_ack(run, imds, tmp_path):
    imds.add_response(url=NAME_URL, text="vm1")
    imds.add_response(url=url(), json=doc(2, event()))
    imds.add_response(url=url(), method="POST", json=doc(3))
    out = tmp_path / "hook.out"
    ok(run("events", "watch", "--once", "--ack", "--exec", f"echo $IMDS_EVENT_ID >> {out}"))
    assert out.read_text() == ID1 + "\n"
    assert posted(imds) == {"StartRequests": [{"EventId": ID1}]}


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "yaml"], "watch prints JSON lines or text lines, not yaml"),
    (["--interval", "0.1"], "0.1 is not in the range 0.2<=x<=86400"),
    (["--max-events", "0"], "0 is not in the range x>=1"),
    (["--hook-timeout", "0"], "0.0 is not in the range 0<x<=86400"),
])
def test_watch_usage_errors(run, args, message):
    assert message in ok(run("events", "watch", "--once", *args), 2).stderr


@pytest.mark.parametrize(("reply", "code"), [
    (dict(status_code=404), 3),
    (dict(status_code=400, json={"error": "Bad request"}), 4),
    (dict(status_code=503, is_reusable=True), 5),
    (dict(json=[]), 7),
])
def test_watch_once_failures_exit_with_their_code(run, imds, reply, code):
    imds.add_response(url=url(), **reply)
    ok(run("events", "watch", "--once", "--timeout", "0.4"), code)


def test_watch_retries_410_within_a_poll(run, imds):
    imds.add_response(url=url(), status_code=410)
    imds.add_response(url=url(), json=doc(2))
    ok(run("events", "watch", "--once"))


@pytest.mark.parametrize("once", [True, False])
def test_watch_unreachable_from_the_start_exits_6(run, imds, once):
    imds.add_exception(httpx.ConnectError("connection refused"), is_reusable=True)
    ok(run("events", "watch", "--timeout", "0.3", *(["--once"] if once else [])), 6)


def test_watch_the_vm_name_is_read_before_the_first_poll(run, imds):
    imds.add_response(url=NAME_URL, status_code=404)
    ok(run("events", "watch", "--once", "--ack"), 3)
    assert len(imds.get_requests()) == 1


def test_watch_interrupted_exits_130(run, imds):
    def interrupt(request):
        raise KeyboardInterrupt

    imds.add_callback(interrupt)
    assert ok(run("events", "watch"), 130).stderr.endswith("imdsctl: interrupted\n")


# -- the watch loop, on a scripted client and a fake clock ------------------------------------------------


def records(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_each_change_is_printed_once(capsys):
    scheduled, started = event(), event(status="Started")
    client = Scripted(doc(2, scheduled), doc(2, scheduled), doc(3, started), doc(3, started), doc(4),
                      doc(5, event(ID2)))
    w, fake = watcher(client, max_events=2)
    assert w.run() == 0
    assert [(r["change"], r["DocumentIncarnation"], r["event"]["EventId"]) for r in records(capsys)] == [
        ("new", 2, ID1), ("changed", 3, ID1), ("gone", 4, ID1), ("new", 5, ID2)]
    assert client.budgets == 6 and fake.sleeps == [1.0] * 5  # a fresh budget per poll


def test_ids_match_in_any_case_and_a_moved_not_before_is_a_change(capsys):
    moved = dict(event(), NotBefore="Mon, 11 Apr 2044 22:26:58 GMT")
    client = Scripted(doc(2, event()), doc(3, dict(event(), EventId=ID1.lower())), doc(4, moved),
                      doc(5, event(ID2)))
    watcher(client, max_events=2)[0].run()
    assert [(r["change"], r["event"]["EventId"]) for r in records(capsys)] == [
        ("new", ID1), ("changed", ID1.lower()), ("changed", ID1), ("new", ID2)]


def test_transient_failures_are_logged_and_retried(capsys):
    client = Scripted(doc(2, event()), UnavailableError("IMDS kept failing (503)"),
                      UnreachableError("IMDS did not answer"), doc(3, event(), event(ID2)))
    w, _ = watcher(client, max_events=2)
    assert w.run() == 0
    captured = capsys.readouterr()
    assert captured.err == ("imdsctl: IMDS kept failing (503); polling again in 1s\n"
                            "imdsctl: IMDS did not answer; polling again in 1s\n")
    assert [json.loads(line)["event"]["EventId"] for line in captured.out.splitlines()] == [ID1, ID2]


@pytest.mark.parametrize(("first", "once"), [
    (UnreachableError("no IMDS"), False), (UnavailableError("503"), True), (RefusedError("400"), False)])
def test_fatal_failures_propagate(first, once):
    with pytest.raises(type(first)):
        watcher(Scripted(first), once=once)[0].run()


def test_the_hook_runs_once_per_new_event_with_the_event(tmp_path, capsys, monkeypatch):
    script = tmp_path / "hook.sh"
    script.write_text('env | grep ^IMDS_ | sort > "$OUT.$IMDS_EVENT_ID"; cat > "$OUT.$IMDS_EVENT_ID.json"\n'
                      'echo "hook says hi"\n')
    monkeypatch.setenv("OUT", str(tmp_path / "out"))
    first = event()
    client = Scripted(doc(2, first), doc(3, event(status="Started")), doc(4), doc(5, event(ID2)))
    watcher(client, hook=f"sh {script}", max_events=2)[0].run()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["hook.sh", f"out.{ID1}", f"out.{ID1}.json", f"out.{ID2}", f"out.{ID2}.json"])
    environment = dict(line.split("=", 1) for line in (tmp_path / f"out.{ID1}").read_text().splitlines())
    left = environment["IMDS_EVENT_SECONDS_LEFT"]
    assert 14 * 60 + 30 <= int(left) <= 14 * 60 + 40  # NotBefore is in 14m 40s, in whole seconds
    assert environment == hook_environment(first, 2, seconds_left=int(left), timeout=300)
    assert (environment["IMDS_HOOK_TIMEOUT"], environment["IMDS_HOOK_ATTEMPT"]) == ("300", "1")
    assert environment["IMDS_EVENT_RESOURCES"] == "vm1" and environment["IMDS_DOCUMENT_INCARNATION"] == "2"
    assert json.loads((tmp_path / f"out.{ID1}.json").read_text()) == first
    err = capsys.readouterr().err
    assert err.count("hook says hi") == 2  # the hook's output goes to stderr, stdout stays JSON
    assert f"imdsctl: hook for Reboot {ID1} exited 0" in err


def test_hook_environment_spells_every_field():
    assert hook_environment(event(status="Started"), 9, seconds_left=0, timeout=10, attempt=2) == {
        "IMDS_EVENT_ID": ID1, "IMDS_EVENT_TYPE": "Reboot", "IMDS_EVENT_STATUS": "Started",
        "IMDS_EVENT_RESOURCE_TYPE": "VirtualMachine", "IMDS_EVENT_RESOURCES": "vm1",
        "IMDS_EVENT_NOTBEFORE": "", "IMDS_EVENT_DESCRIPTION": "Host server is undergoing maintenance.",
        "IMDS_EVENT_SOURCE": "Platform", "IMDS_EVENT_DURATION": "5", "IMDS_DOCUMENT_INCARNATION": "9",
        "IMDS_EVENT_SECONDS_LEFT": "0", "IMDS_HOOK_TIMEOUT": "10", "IMDS_HOOK_ATTEMPT": "2",
        "IMDS_EVENT_TRUNCATED": ""}
    old = hook_environment({"EventId": ID1}, 1)
    assert old["IMDS_EVENT_DURATION"] == "" and old["IMDS_EVENT_SECONDS_LEFT"] == ""  # old api-versions


def test_ack_follows_a_successful_hook_only(capsys):
    client = Scripted(doc(2, event(), event(ID2)))
    watcher(client, hook='test "$IMDS_EVENT_ID" = ' + ID2, approve=True, once=True)[0].run()
    assert client.posts == [{"StartRequests": [{"EventId": ID2}]}]
    err = capsys.readouterr().err
    assert f"hook for Reboot {ID1} exited 1; not acknowledging" in err
    assert f"acknowledged Reboot {ID2}" in err


def test_ack_without_a_hook_is_immediate_and_only_for_scheduled_events():
    client = Scripted(doc(2, event(), event(ID2, "Started")))
    watcher(client, approve=True, once=True)[0].run()
    assert client.posts == [{"StartRequests": [{"EventId": ID1}]}]


def test_events_of_other_vms_are_left_alone_unless_asked(capsys):
    client = Scripted(doc(2, event(resources=("VM1", "vm2")), event(ID2, resources=("vm2",))))
    watcher(client, approve=True, once=True)[0].run()
    assert client.posts == [{"StartRequests": [{"EventId": ID1}]}]
    assert f"Reboot {ID2} lists only other VMs (vm2); not handled (see --all-resources)" \
        in capsys.readouterr().err
    client = Scripted(doc(2, event(ID2, resources=("vm2",))))
    watcher(client, approve=True, once=True, all_resources=True)[0].run()
    assert client.posts == [{"StartRequests": [{"EventId": ID2}]}]


def test_a_failed_ack_is_logged_not_fatal(capsys):
    client = Scripted(doc(2, event()), doc(3, event(ID2)),
                      post_error=RefusedError("IMDS refused POST /metadata/scheduledevents: 400"))
    assert watcher(client, approve=True, max_events=2)[0].run() == 0
    assert capsys.readouterr().err.count("could not acknowledge Reboot") == 2


def test_a_hook_that_hangs_is_killed_with_its_children(capsys):
    client = Scripted(doc(2, event()))
    started = time.monotonic()
    hung = "sleep 30 & sleep 30; echo never"
    watcher(client, hook=hung, hook_timeout=0.3, approve=True, once=True)[0].run()
    assert time.monotonic() - started < 5  # the background sleep held no pipe open: the session died
    assert client.posts == []
    assert "still running after 0.3s: killed; not acknowledging" in capsys.readouterr().err


def test_requests_are_paced_within_the_rate_limit():
    client = Scripted(doc(2, event()), doc(3, event(ID2)))
    watcher(client, approve=True, interval=0.2, max_events=2)[0].run()
    gaps = [b - a for a, b in zip(client.times, client.times[1:])]
    assert len(client.times) == 5 and min(gaps) >= 0.2 - 1e-9  # name, GET, POST, GET, POST


def test_quiet_prints_nothing_and_human_lines_read_well(capsys):
    watcher(Scripted(doc(2, event())), "none", once=True)[0].run()
    assert capsys.readouterr().out == ""
    query = compile_query("[change, event.EventStatus]")
    watcher(Scripted(doc(2, event())), query=query, once=True)[0].run()
    assert capsys.readouterr().out == '["new", "Scheduled"]\n'
    gone = human_line("gone", event(status="Started"), time.time())
    assert gone.endswith(f"  gone     Reboot                {ID1}  vm1  (completed or cancelled)")


def test_sigterm_while_polling_stops_at_once(capsys):
    def terminate():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler interrupts this
        return doc(9)

    previous = signal.getsignal(signal.SIGTERM)
    client = Scripted(doc(2, event()), terminate)
    assert watcher(client)[0].run() == 0
    assert signal.getsignal(signal.SIGTERM) is previous
    captured = capsys.readouterr()
    assert captured.err == "imdsctl: stopped (SIGTERM)\n" and len(captured.out.splitlines()) == 1


def test_sigterm_during_a_hook_finishes_the_step(capsys):
    client = Scripted(doc(2, event(), event(ID2)))
    hook = "kill -TERM $PPID; sleep 0.2; echo finished"
    assert watcher(client, hook=hook, approve=True)[0].run() == 0
    assert client.posts == [{"StartRequests": [{"EventId": ID1}]}]  # the hook's event; not the next
    err = capsys.readouterr().err
    assert "finished" in err and err.endswith("imdsctl: stopped (SIGTERM)\n")


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_ctrl_c_during_a_hook_ends_the_hook_too(tmp_path):
    client = Scripted(doc(2, event()))
    pidfile = tmp_path / "pid"
    with pytest.raises(KeyboardInterrupt):
        watcher(client, hook=f"sleep 30 & echo $! > {pidfile}; kill -INT $PPID; wait",
                approve=True, once=True)[0].run()
    pid, deadline = int(pidfile.read_text()), time.monotonic() + 3
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid) and client.posts == []


def test_a_hook_killed_by_a_signal_is_a_failure(capsys):
    client = Scripted(doc(2, event()))
    watcher(client, hook="kill -9 $$", approve=True, once=True)[0].run()
    assert client.posts == []
    assert "was killed by signal 9; not acknowledging" in capsys.readouterr().err


@pytest.mark.parametrize("status,body", [(200, b""), (204, b""), (200, b"accepted")])
def test_ack_ignores_the_undocumented_answer_body(run, imds, status, body):
    imds.add_response(url=url(), json=doc(2, event()), is_reusable=True)
    imds.add_response(url=url(), method="POST", status_code=status, content=body)
    ok(run("events", "ack", ID1, "-o", "json"))
    assert posted(imds) == {"StartRequests": [{"EventId": ID1}]}


def test_hook_environment_survives_a_nul_in_event_data():
    env = hook_environment({**event(), "Description": "bad\x00byte"}, 3)
    assert env["IMDS_EVENT_DESCRIPTION"] == "bad byte"
    assert all("\0" not in value for value in env.values())
