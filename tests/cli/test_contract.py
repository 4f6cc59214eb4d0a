"""The contract, as properties: whatever answers and whatever is asked, every
command that talks to IMDS exits with a code of the documented table (never 1,
"a bug"), says at most two lines on stderr and no traceback, prints nothing on
stdout when it reports a failure, and keeps to its time budget.

Hypothesis generates hostile answers (shapes, depths, encodings, NaN, huge
numbers, statuses) served through pytest-httpx, argument vectors for the
commands, raw byte streams from a loopback server, and mutated bundles for diff.
Example counts are bounded and derandomized, so the whole module takes seconds.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imdsctl import catalog
from imdsctl.emulator import load_profile
from imdsctl.errors import EXIT_CODES, ExitCode
from imdsctl.imds.client import ImdsClient
from imdsctl.support import bundle, doctor, facts
from imdsctl.ui.render import FORMATS
from tests.lib.clock import FakeTime
from tests.lib.helpers import RawServer
from tests.lib.mutation import MUTATIONS, mutate

DOCUMENTED = {int(code) for code, _ in EXIT_CODES} - {int(ExitCode.INTERNAL)}
DOCUMENT = load_profile("linux-2025").instance
MARKER = "@@HOSTILE@@"

FAST = settings(max_examples=100, deadline=dt.timedelta(seconds=2), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _routes(node, parts=()):
    yield parts
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _routes(child, (*parts, str(key)))


ROUTES = sorted(set(_routes(DOCUMENT)) - {()})


# -- hostile JSON, as text (so that it can hold what json.dumps never writes) ----------------------

_strings = st.one_of(
    st.text(max_size=12).map(json.dumps),
    st.text(max_size=12).map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.sampled_from(['"x\\ud800y"', '"\\udfff"', '"\\u001b]52;c;QUFB\\u0007"', '"\\u0000\\r\\n"',
                     '"\\u202eevil"', '"' + "A" * 5000 + '"']),
)
_numbers = st.one_of(
    st.integers().map(str), st.integers(10 ** 20, 10 ** 60).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "-0", "9" * 5000]),
)
_scalars = st.one_of(st.sampled_from(["null", "true", "false"]), _numbers, _strings)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(_strings, inner), max_size=4).map(
            lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}")),
    max_leaves=12)
_deep = st.integers(20, 5000).flatmap(lambda depth: st.sampled_from(
    ["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth]))
FRAGMENTS = st.one_of(_json, _deep)


class Hostile:
    """What IMDS answers in one example: a status and, for the instance document,
    the real document with one node replaced by hostile JSON; other endpoints
    answer the hostile JSON itself, or a body that is not JSON at all."""

    def __init__(self, status: int, route, fragment: str, raw: bytes, content_type: str,
                 retry_after: bytes = b""):
        self.status, self.route, self.fragment, self.raw = status, route, fragment, raw
        self.content_type, self.retry_after = content_type, retry_after
        marked = json.loads(json.dumps(DOCUMENT))
        node = marked
        for part in route[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(route[-1]) if isinstance(node, list) else route[-1]] = MARKER
        self.marked = marked

    def __repr__(self) -> str:
        return f"Hostile({self.status}, {'/'.join(self.route)!r}, {self.fragment[:80]!r}, {self.raw[:40]!r})"

    def respond(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        headers = [(b"Content-Type", self.content_type.encode())]
        if self.retry_after:
            headers.append((b"Retry-After", self.retry_after))
        if self.status != 200:
            return httpx.Response(self.status, content=self.raw or self._text(self.fragment), headers=headers)
        if path == catalog.VERSIONS_PATH:
            return httpx.Response(200, json={"apiVersions": [catalog.DEFAULT_API_VERSION]}, headers=headers)
        if not path.startswith(catalog.INSTANCE_PATH):
            return httpx.Response(200, content=self.raw or self._text(self.fragment), headers=headers)
        route = tuple(p for p in path[len(catalog.INSTANCE_PATH):].split("/") if p)
        try:
            node = catalog.walk(self.marked, list(route))
        except LookupError:
            return httpx.Response(404, json={"error": "Not found"})
        if params.get("format") == "text" and not isinstance(node, (dict, list)):
            text = self.fragment if node == MARKER else str(node)
            return httpx.Response(200, content=self._text(text), headers={"Content-Type": "text/plain"})
        text = json.dumps(node).replace(json.dumps(MARKER), self.fragment)
        return httpx.Response(200, content=self._text(text), headers=headers)

    @staticmethod
    def _text(text: str) -> bytes:
        return text.encode("utf-8", "surrogatepass")


answers = st.builds(
    Hostile,
    status=st.sampled_from([200] * 10 + [404, 400, 403, 410, 429, 500, 503, 301]),
    route=st.sampled_from(ROUTES),
    fragment=FRAGMENTS,
    raw=st.one_of(st.just(b""), st.just(b""), st.binary(max_size=40),
                  st.sampled_from([b"<html><body>hi</body></html>", b"\xff\xfe", b"{", b"null"])),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                  "text/html", ""]),
    retry_after=st.sampled_from([b"", b"", b"1", b"\xb2", b"\xd9\xa1", b"1e9", b"-1", b"9" * 30,
                                 b"Wed, 21 Oct 2015 07:28:00 GMT"]),
)


# -- argument vectors for the commands that talk to IMDS ---------------------------------------------

_words = st.one_of(st.text(max_size=10), st.sampled_from(["x\udcff", "\x1b[2J", "-", "--", "0", "99"]))
_fields = lambda fields: st.one_of(st.sampled_from(catalog.names(fields)), _words)  # noqa: E731


@st.composite
def argvs(draw):
    command = draw(st.sampled_from([
        ["get"], ["compute"], ["network"], ["loadbalancer"], ["versions"], ["wait"], ["doctor"],
        ["events", "list"], ["events", "ack"], ["identity", "token"], ["identity", "info"],
        ["attested"], ["attested", "verify", "--no-fetch"], ["collect"]]))
    args = list(command)
    if command == ["get"]:
        args += draw(st.lists(st.one_of(st.sampled_from(["/".join(r) for r in ROUTES]), _words,
                                        st.sampled_from(["/metadata/instance/compute/vmId?format=text",
                                                         "Compute/VMID"])), max_size=3))
        args += draw(st.sampled_from([[], [], ["--allow-missing"]]))
    elif command in (["compute"], ["network"]):
        fields = catalog.COMPUTE_FIELDS if command == ["compute"] else catalog.NETWORK_FIELDS
        args += draw(st.lists(_fields(fields), max_size=2))
        args += draw(st.sampled_from([[], [], ["--allow-missing"]]))
        if command == ["network"]:
            for option in ("--nic", "--ip"):
                args += draw(st.sampled_from([[], [], [option, "0"], [option, "1"], [option, "99"],
                                              [option, "99999999999999999999"], [option, "-1"]]))
            args += draw(st.sampled_from([[], [], ["--mac", "00:0D:3A:1B:2C:3D"], ["--mac", "zz"]]))
        if command == ["compute"]:
            args += draw(st.sampled_from([[], [], ["--decode"], ["--all"]]))
        args += draw(st.sampled_from([[], ["--max-age", "60"]]))
    elif command == ["events", "ack"]:
        args += draw(st.lists(_words.filter(lambda w: not w.startswith("-")), min_size=1, max_size=2))
        args += draw(st.sampled_from([[], ["--force"]]))
    elif command == ["identity", "token"]:
        args += draw(st.sampled_from([[], ["--resource", "https://vault.azure.net"],
                                      ["--resource", "x\udcff"]]))
    elif command == ["collect"]:
        args += ["-f", "{tmp}/bundle.zip"]
    args += draw(st.sampled_from([[], [], ["-o", "json"], *(["-o", f] for f in FORMATS)]))
    args += draw(st.sampled_from([[], [], ["-q", "compute"], ["-q", "[0]"], ["-q", "length(@)"],
                                  ["-q", "]["], ["-q", "`1e999`"], ["-q", "sum(`[1e308, 1e308]`)"],
                                  ["-q", '`"\\udfff"`'], ["-q", "to_number(@)"]]))
    args += draw(st.sampled_from([[], [], ["--api-version", "latest"], ["--api-version", "2017-08-01"],
                                  ["--api-version", "x\udcff"], ["--api-version", "2021-02-01"]]))
    args += draw(st.sampled_from([[], [], ["--prefix", "VM_"], ["--prefix", "$(id)"]]))
    return args


@pytest.fixture
def hostile_imds(imds, monkeypatch, tmp_path):
    """pytest-httpx answering every request with the current Hostile answer; retries
    sleep on a fake clock (so a 503 storm costs nothing); doctor's TCP connect and
    route lookup are replaced (no packet, no subprocess)."""
    current = {}
    imds.add_callback(lambda request: current["answer"].respond(request), is_optional=True, is_reusable=True)
    fake = FakeTime()
    monkeypatch.setitem(ImdsClient.__init__.__kwdefaults__, "sleep", fake.sleep)
    monkeypatch.setitem(ImdsClient.__init__.__kwdefaults__, "clock", fake.clock)
    monkeypatch.setattr(doctor, "_open", lambda host, port, timeout: None)
    monkeypatch.setattr(facts, "route_to", lambda *a, **k: {"address": a[0], "source": None, "route": None,
                                                               "commands": [], "error": "not looked up"})
    current["tmp"] = tmp_path
    return current


def _check_contract(result, elapsed: float, budget: float) -> None:
    said = result.stderr.splitlines()
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert len(said) <= 2, said
    if said and said[0].startswith("imdsctl: ") and result.exit_code != 0:  # a failure reported
        assert result.stdout_bytes == b"", (said, result.stdout_bytes[:200])
    assert elapsed < budget + 2.0, elapsed


@FAST
@given(answer=answers, argv=argvs())
def test_hostile_answers_and_arguments_keep_the_contract(run, hostile_imds, answer, argv):
    hostile_imds["answer"] = answer
    argv = [a.replace("{tmp}", str(hostile_imds["tmp"])) for a in argv]
    started = time.monotonic()
    result = run(*argv, "--timeout", "2")
    _check_contract(result, time.monotonic() - started, 2)


NARROW = ("latin-1", "ascii", "cp1252")
_unencodable = st.text(alphabet=st.sampled_from(list("a-\u00e9\u20ac\u4e2d\U0001F600\u202e\x1b")), min_size=1,
                       max_size=8)


@st.composite
def narrow_reads(draw):
    """A read that prints a value IMDS filled with what a narrow stdout cannot
    carry: the value's route, and the command line that prints it."""
    route = draw(st.sampled_from(ROUTES))
    text = json.dumps(draw(_unencodable), ensure_ascii=draw(st.booleans()))
    answer = Hostile(200, route, text, b"", "application/json")
    argv = draw(st.sampled_from([["get", "/".join(route)], ["get", "/".join(route[:1])], ["compute", "--all"],
                                 ["compute", "name", "tags"], ["network"]]))
    return answer, argv + draw(st.sampled_from([[], *(["-o", f] for f in FORMATS)]))


@settings(max_examples=60, deadline=dt.timedelta(seconds=2), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(read=narrow_reads(), charset=st.sampled_from(NARROW))
def test_a_stdout_that_cannot_encode_the_answer_keeps_the_contract(run, hostile_imds, read, charset):
    """#18.3 as a property: whatever IMDS sends, a stdout in latin-1, ASCII or
    cp1252 gets bytes of that encoding (escapes for the rest), never a traceback."""
    hostile_imds["answer"], argv = read
    started = time.monotonic()
    result = type(run)(charset=charset)(*argv, "--timeout", "2")  # the run fixture's Run, narrower
    _check_contract(result, time.monotonic() - started, 2)
    result.stdout_bytes.decode(charset)  # strict: every byte is the encoding's own
    assert len([line for line in result.stderr.splitlines() if "cannot encode" in line]) <= 1


# -- raw bytes from a loopback server, real time ---------------------------------------------------

HEADS = [b"HTTP/1.1 200 OK\r\nX: ",
         b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n",
         b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
         b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.0 200\r\n\r\n", b"HTTP/1.1 ",
         b"HTTP/9.9 999 What\r\n\r\n", b"", b"\x16\x03\x01\x00\x05",
         b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"]
streams = st.tuples(st.sampled_from(HEADS), st.binary(max_size=64),
                    st.lists(st.tuples(st.binary(min_size=1, max_size=8), st.sampled_from([0.0, 0.02, 0.05])),
                             max_size=6),
                    st.sampled_from(["trickle", "close", "hang"]))


def _serving(stream):
    head, body, trickle, end = stream

    def handler(conn, going) -> None:
        conn.recv(65536)
        conn.sendall(head + body)
        for chunk, pause in trickle:
            time.sleep(pause)
            conn.sendall(chunk)
        while end != "close" and going():
            time.sleep(0.05)
            if end == "trickle":  # a byte at a time, for as long as the client listens
                conn.sendall(b"a")
    return handler


RAW_BUDGET = 0.2


@settings(max_examples=15, deadline=dt.timedelta(seconds=2), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stream=streams, command=st.sampled_from([["compute", "vm-id"], ["get"], ["wait"], ["doctor"],
                                                 ["events", "list"], ["versions"]]))
def test_raw_byte_streams_keep_the_contract_and_the_budget(run, stream, command):
    with RawServer(_serving(stream), stop_after=2.0) as server:
        started = time.monotonic()
        result = run(*command, "--endpoint", server.url, "--timeout", str(RAW_BUDGET))
        elapsed = time.monotonic() - started
    _check_contract(result, elapsed, 0)
    assert elapsed < RAW_BUDGET + 0.5, elapsed


# -- mutated bundles and snapshots for diff ------------------------------------------------------------

_BUNDLES = {fmt: bundle.archive(fmt, "b", {"instance.json": json.dumps(DOCUMENT, indent=2).encode(),
                                           "manifest.json": b"{}"}, dt.datetime(2025, 1, 14))
            for fmt in bundle.FORMATS}
@settings(max_examples=120, deadline=dt.timedelta(seconds=2), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(bundle.FORMATS), steps=MUTATIONS, exit_code=st.booleans())
def test_mutated_bundles_keep_the_contract_of_diff(run, tmp_path, fmt, steps, exit_code):
    (tmp_path / "a.json").write_text(json.dumps(DOCUMENT))
    (tmp_path / f"b.{fmt}").write_bytes(mutate(_BUNDLES[fmt], steps))
    started = time.monotonic()
    result = run("diff", *(["--exit-code"] if exit_code else []), str(tmp_path / "a.json"),
                 str(tmp_path / f"b.{fmt}"))
    _check_contract(result, time.monotonic() - started, 0)
    assert result.exit_code in (0, 2, 3)


@settings(max_examples=40, deadline=dt.timedelta(seconds=2), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fragment=FRAGMENTS, route=st.sampled_from(ROUTES))
def test_hostile_snapshots_keep_the_contract_of_diff(run, tmp_path, fragment, route):
    text = json.dumps(Hostile(200, route, fragment, b"", "").marked).replace(json.dumps(MARKER), fragment)
    (tmp_path / "a.json").write_text(json.dumps(DOCUMENT))
    (tmp_path / "b.json").write_bytes(text.encode("utf-8", "surrogatepass"))
    for output in ("json", "env"):
        result = run("diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "-o", output)
        _check_contract(result, 0, 0)
        assert result.exit_code in (0, 2)


def test_the_generators_reach_what_they_are_for():
    """The hostile answers reach the views: a plain instance document still works."""
    answer = Hostile(200, ("compute", "vmId"), '"02aab8a4"', b"", "application/json")
    url = f"{catalog.DEFAULT_ENDPOINT}{catalog.INSTANCE_PATH}/compute/vmId?format=text"
    request = httpx.Request("GET", url)
    assert answer.respond(request).content == b'"02aab8a4"'
    assert isinstance(io.BytesIO(_BUNDLES["zip"]).read(2), bytes)
