"""The hostile-input classes of issue 18, as properties (bounded, derandomised).

test_contract.py holds the command-line contract over hostile answers; these
are the classes the second probe found, each generalised from its examples:

* limits that agree across layers: whatever an event holds, the hook's
  environment fits the kernel, the state file is read back, every stderr line
  is bounded;
* deadlines kept end to end: whatever a webhook sends, one attempt ends
  within its budget;
* surfaces that trust no one: the emulator's rate-limit windows follow the
  sources of the last second; --debug never shows an identity answer's body;
* wrong codes and bad input: whatever --notify holds, `events unit` exits 0 or
  2, and the unit it writes reads back, word for word, as systemd reads it.
"""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imdsctl.emulator.throttle import Throttle
from imdsctl.events import hook as watch_hook
from imdsctl.events import unit as events_unit
from imdsctl.events.state import MAX_BYTES, MAX_RECORDS, State, event_key, stamp
from imdsctl.imds import internet
from imdsctl.imds.client import ImdsClient
from imdsctl.ui import terminal
from imdsctl.ui.text import LINE_LIMIT
from tests.lib.clock import FakeTime
from tests.lib.events import event
from tests.lib.helpers import RawServer

BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Text as IMDS may send it in a JSON string: any character, lone surrogates (a JSON escape) included.
#: Text as IMDS may send it in a JSON string (valid Unicode: a lone surrogate is refused before, exit 7).
_char = st.one_of(st.characters(blacklist_categories=("Cs",)),
                  st.sampled_from(["\0", "\n", "\x1b", "\u202e", "\U0001F600"]))
_sizes = st.sampled_from([0, 1, 40, 5_000, 70_000, 200_000])


def _repeat(seed_and_size):
    seed, size = seed_and_size
    return (seed * (size // len(seed) + 1))[:size]


_texts = st.tuples(st.text(_char, min_size=1, max_size=3), _sizes).map(_repeat)


@st.composite
def hostile_events(draw):
    e = event(draw(st.one_of(st.uuids().map(str), _texts)))
    for field in ("EventType", "ResourceType", "EventSource", "Description", "EventStatus", "NotBefore"):
        if draw(st.booleans()):
            e[field] = draw(_texts)
    if draw(st.booleans()):
        names = [draw(_texts) for _ in range(draw(st.integers(0, 3)))]
        e["Resources"] = names * draw(st.sampled_from([1, 4000]))
    return e


# -- limits that agree across layers ------------------------------------------------------------


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@BOUNDED
@given(e=hostile_events(), attempt=st.integers(1, 2))
def test_whatever_an_event_holds_the_hook_environment_fits_the_kernel(e, attempt):
    variables = watch_hook.hook_environment(e, 7, seconds_left=1, timeout=30.0, attempt=attempt)
    sizes = {k: len(k) + 1 + len(_utf8(v)) + 1 for k, v in variables.items()}
    assert max(sizes.values()) <= watch_hook.MAX_ARG_STRLEN
    assert sum(sizes.values()) <= watch_hook.ENVIRONMENT_LIMIT
    assert not any("\0" in v for v in variables.values())
    cut = set(filter(None, variables["IMDS_EVENT_TRUNCATED"].split(",")))
    whole = {"IMDS_EVENT_DESCRIPTION": e.get("Description"), "IMDS_EVENT_TYPE": e.get("EventType")}
    for name, value in whole.items():  # a variable not named as cut is the whole field
        if name not in cut and value is not None:
            assert variables[name] == str(value).replace("\0", " ")


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=st.lists(hostile_events(), min_size=1, max_size=6))
def test_whatever_events_hold_the_state_file_is_read_back(tmp_path_factory, events):
    directory = tmp_path_factory.mktemp("state")
    directory.chmod(0o700)
    path = str(directory / "events.json")
    said = []
    with State.open(path, log=said.append) as state:
        for e in events:
            record = state.record(e, 1.7e9)
            state.hook_started(record, 1.7e9)
            state.hook_ended(record, False, "exited 3", 1.7e9 + 1)
    raw = (directory / "events.json").read_bytes()
    raw.decode("utf-8")  # strict: what the file holds is UTF-8
    assert len(raw) <= MAX_BYTES
    with State.open(path, log=said.append) as again:
        assert set(again.records) == {event_key(e["EventId"]) for e in events}
        assert all(r["attempts"] >= 1 and "hookEnded" in r for r in again.records.values())
    assert said == []


def test_the_largest_state_the_watch_keeps_fits_its_own_read_limit(tmp_path):
    """MAX_RECORDS records of the worst kind (the longest id and type kept, in
    four-byte characters, every step taken) are still under MAX_BYTES."""
    worst = "\U0001F600" * 10_000
    path = str(tmp_path / "events.json")
    tmp_path.chmod(0o700)
    now = time.time()
    with State.open(path) as state:
        for n in range(MAX_RECORDS):
            record = state.record({"EventId": f"{n}{worst}", "EventType": worst}, now)
            state.hook_started(record, now) if n == 0 else None
            state.update(record, save=False, hookStarted=stamp(now), hookEnded=stamp(now), hookOk=False,
                         hook=worst, attempts=2, acknowledged=stamp(now), gone=stamp(now),
                         kubeCordoned=True, kubeAnnotated=True, kubeDrainStarted=True,
                         kubeDrain=f"annotated ({worst} is not drained)", kubeOk=False, kubeUncordoned=True)
        state.save()
    assert (tmp_path / "events.json").stat().st_size <= MAX_BYTES
    with State.open(path) as again:
        assert len(again.records) == MAX_RECORDS


@BOUNDED
@given(text=_texts)
def test_every_note_is_one_bounded_line_without_controls(capsys, text):
    terminal.note(f"hook for {text} exited 3")
    said = capsys.readouterr().err
    assert said.endswith("\n") and said.count("\n") == 1
    line = said[:-1]
    assert len(line) <= LINE_LIMIT
    assert not re.search(r"[\x00-\x1f\x7f\u202e]", line), line[:200]


# -- deadlines kept end to end ------------------------------------------------------------------

ANSWERS = st.tuples(
    st.sampled_from([b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n",
                     b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n\r\n", b"\x16\x03\x01"]),
    st.sampled_from(["close", "hang", "trickle"]))
WEBHOOK_BUDGET = 0.3


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(answer=ANSWERS)
def test_one_webhook_attempt_ends_within_its_budget_whatever_the_server_does(answer):
    head, end = answer

    def handler(conn, going) -> None:
        conn.recv(65536)
        conn.sendall(head)
        while end != "close" and going():
            time.sleep(0.02)
            if end == "trickle":
                conn.sendall(b"a")

    with RawServer(handler, stop_after=3.0) as server:
        started = time.monotonic()
        try:
            status = internet.post_webhook(f"{server.url}/hook", {"x": 1}, timeout=WEBHOOK_BUDGET)
        except OSError:
            status = None
        elapsed = time.monotonic() - started
    assert status in (None, 200, 302)
    assert elapsed < WEBHOOK_BUDGET + 1.0, elapsed


# -- surfaces that trust no one -----------------------------------------------------------------


@BOUNDED
@given(steps=st.lists(st.tuples(st.integers(0, 300), st.sampled_from([0.0, 0.001, 0.05, 0.4, 1.0, 7.0])),
                      max_size=400))
def test_rate_limit_windows_follow_the_sources_of_the_last_second(steps):
    clock = FakeTime()
    throttle = Throttle(rate=5, clock=clock.clock)
    seen, admitted = [], {}
    for source, pause in steps:
        clock.sleep(pause)
        now = clock.clock()
        if throttle.allow(f"127.0.{source // 256}.{source % 256}"):
            admitted.setdefault(source, []).append(now)
        seen.append((now, source))
        recent = {s for t, s in seen if now - t < 1.0}
        assert len(throttle._recent) <= len(recent)
    for times in admitted.values():  # and never more than 5 in any second
        assert all(sum(1 for u in times if t <= u < t + 1.0) <= 5 for t in times)


@pytest.fixture
def failing_imds(imds, monkeypatch):
    """The mocked IMDS answering every request with the current status and body;
    retries sleep on a fake clock."""
    current = {}
    imds.add_callback(lambda request: httpx.Response(current["status"], content=current["body"]),
                      is_optional=True, is_reusable=True)
    fake = FakeTime()
    monkeypatch.setitem(ImdsClient.__init__.__kwdefaults__, "sleep", fake.sleep)
    monkeypatch.setitem(ImdsClient.__init__.__kwdefaults__, "clock", fake.clock)
    return current


SECRET = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ"
_bodies = st.one_of(
    st.sampled_from([{"access_token": SECRET}, {"error": "x", "error_description": "Bearer " + SECRET},
                     [SECRET], SECRET]).map(lambda b: json.dumps(b).encode()),
    st.binary(max_size=20).map(lambda b: b + SECRET.encode() + b),
    st.just(f"<html>{SECRET}</html>".encode()))


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(status=st.sampled_from([400, 401, 403, 404, 410, 429, 500, 502, 503]), body=_bodies,
       command=st.sampled_from([["identity", "token"], ["identity", "info"],
                                ["identity", "token", "--resource", "https://vault.azure.net"]]))
def test_debug_never_shows_an_identity_answers_body(failing_imds, run, status, body, command):
    failing_imds.update(status=status, body=body)
    result = run(*command, "--debug", "--timeout", "5")
    assert result.exit_code not in (0, 1), result.stderr
    assert SECRET[:16] not in result.stderr and SECRET[:16] not in result.stdout
    assert "Traceback" not in result.stderr


# -- wrong codes and bad input ------------------------------------------------------------------

_hosts = st.sampled_from(["127.0.0.1", "[::1]", "[::1", "::1]", "hooks.example", "", "a b", "[v1.x]", "%41"])
_ports = st.one_of(st.none(), st.integers(-2, 70_000).map(str), st.text(max_size=4))


@BOUNDED
@given(scheme=st.sampled_from(["http", "https", "ftp", "HTTP"]), host=_hosts, port=_ports,
       path=st.sampled_from(["", "/x", "/x?y=1", "/%zz"]), via=st.sampled_from(["option", "environment"]))
def test_whatever_the_webhook_url_events_unit_exits_0_or_2(run, monkeypatch, scheme, host, port, path, via):
    url = f"{scheme}://{host}{'' if port is None else ':' + port}{path}"
    if via == "option":
        result = run("events", "unit", "--notify", url)
    else:
        monkeypatch.setenv("IMDSCTL_NOTIFY_URL", url)
        result = run("events", "unit", "--notify", "")
        monkeypatch.delenv("IMDSCTL_NOTIFY_URL")
    assert result.exit_code in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if result.exit_code == 2:
        assert result.stdout == ""


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "s": " ",
            "\\": "\\", '"': '"', "'": "'"}
_WORD = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)', re.S)


def systemd_words(line: str) -> list:
    """ExecStart='s words as systemd reads them (systemd.syntax(7), load-fragment.c's
    config_parse_exec): quoted or bare words, C escapes decoded, then specifiers
    (%%), then, but in the executable, variables ($$)."""
    words = []
    for quoted, bare in _WORD.findall(line):
        raw = quoted if quoted or not bare else bare
        words.append(_unescape(raw))
    words = [re.sub(r"%(.?)", _specifier, w, flags=re.S) for w in words]
    return words[:1] + [re.sub(r"\$\$", "$", w) for w in words[1:]]


def _specifier(match: re.Match) -> str:
    assert match.group(1) == "%", f"a specifier systemd would expand: %{match.group(1)}"
    return "%"


def _unescape(raw: str) -> str:
    out, i = [], 0
    while i < len(raw):
        if raw[i] != "\\":
            out.append(raw[i])
            i += 1
            continue
        kind = raw[i + 1]
        width = {"x": 2, "u": 4, "U": 8}.get(kind)
        if width:
            code = int(raw[i + 2:i + 2 + width], 16)
            assert not 0xD800 <= code <= 0xDFFF, raw  # systemd refuses a surrogate
            byte = kind == "x" and code >= 0x80  # a raw byte: what surrogateescape holds for it
            out.append(bytes([code]).decode("utf-8", "surrogateescape") if byte else chr(code))
            i += 2 + width
        else:
            out.append(_ESCAPES[kind])
            i += 2
    return "".join(out)


_args = st.text(st.characters(blacklist_characters="\0"), min_size=1, max_size=12)
_argv_texts = st.one_of(_args, st.binary(min_size=1, max_size=6).map(
    lambda b: b.replace(b"\0", b"x").decode("utf-8", "surrogateescape")))


@BOUNDED
@given(argument=_argv_texts, interval=st.sampled_from([1.0, 2.5]))
def test_the_unit_reads_back_word_for_word_as_systemd_reads_it(argument, interval):
    hook = f"/opt/hooks/drain.sh {argument}"
    command = ["/opt/imdsctl $HOME/bin/imdsctl"]
    text = events_unit.unit(hook=hook, interval=interval, notify=f"http://127.0.0.1:8/{argument}",
                            command=command)
    line = next(li for li in text.splitlines() if li.startswith("ExecStart="))[len("ExecStart="):]
    expected = command + events_unit.arguments([("--state", events_unit.STATE),
                                                ("--interval", None if interval == 1.0 else interval),
                                                ("--exec", hook),
                                                ("--notify", f"http://127.0.0.1:8/{argument}")])
    assert not re.search(r"(^|\s);(\s|$)", line)  # no bare ";": it would end the command
    assert systemd_words(line) == expected


@pytest.mark.parametrize("word", ["\udc80", "\udcff\udcfe", "x\udca0y"])
def test_a_byte_that_is_not_utf8_is_written_as_that_byte(word):
    quoted = events_unit.quote(word)
    assert "\\u" not in quoted and _unescape(quoted.strip('"')) == word
