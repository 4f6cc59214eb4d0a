"""The control channel refuses what a web page can send (#18.10): a request
without the control header, a POST that is not JSON, any Origin, a Host that
is not a loopback name or the emulator's own address (DNS rebinding); and
`serve --control` on a non-loopback address needs --control-anywhere."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imdsctl.catalog import IMDS_ADDRESS
from imdsctl.emulator import Emulator
from imdsctl.emulator.control import HEADER

FAULT = json.dumps("500*1").encode()
GOOD = {HEADER: "1", "Content-Type": "application/json"}


def send(emulator, method, path, body=b"", headers=None, host=None):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def unchanged(emulator):
    return emulator.service.faults.active() == [] and \
        [e["EventType"] for e in emulator.service.scheduled_events.document()["Events"]] == ["Reboot"]


@pytest.mark.parametrize("method, path, body, headers, host", [
    # the page: text/plain, an Origin, a foreign Host, scheduling a Terminate
    ("POST", "/_emulator/events", b'"Terminate"', {"Content-Type": "text/plain",
                                                    "Origin": "http://evil.example"}, "evil.example"),
    ("POST", "/_emulator/events", b'"Terminate"', {"Content-Type": "text/plain"}, None),
    ("POST", "/_emulator/faults", b"spec=500", {"Content-Type": "application/x-www-form-urlencoded"}, None),
    ("POST", "/_emulator/faults", b"spec=500", {HEADER: "1",
                                                "Content-Type": "application/x-www-form-urlencoded"}, None),
    ("POST", "/_emulator/faults", FAULT, {"Content-Type": "application/json"}, None),  # no control header
    ("POST", "/_emulator/faults", FAULT, {HEADER: "1", "Content-Type": "text/plain"}, None),
    ("POST", "/_emulator/faults", FAULT, {HEADER: "1"}, None),                         # no Content-Type
    ("POST", "/_emulator/faults", FAULT, {**GOOD, "Origin": "http://127.0.0.1"}, None),
    ("POST", "/_emulator/faults", FAULT, {**GOOD, "Origin": "null"}, None),
    ("POST", "/_emulator/faults", FAULT, GOOD, "evil.example"),
    ("POST", "/_emulator/faults", FAULT, GOOD, "evil.example:80"),
    ("POST", "/_emulator/faults", FAULT, GOOD, "127.0.0.1.evil.example"),
    ("POST", "/_emulator/faults", FAULT, GOOD, "localhost.evil.example"),
    ("POST", "/_emulator/faults", FAULT, GOOD, ""),
    ("DELETE", "/_emulator/events", b"", {}, None),
    ("DELETE", "/_emulator/events", b"", {HEADER: "1", "Origin": "http://evil.example"}, None),
    ("GET", "/_emulator/requests", b"", {HEADER: "1"}, "rebound.example"),
])
def test_a_cross_site_control_request_is_refused_and_changes_nothing(imds_emulator_factory, method, path,
                                                                       body, headers, host):
    emulator = imds_emulator_factory(control=True, events=["Reboot"])
    status, answer = send(emulator, method, path, body, headers, host)
    assert status in (403, 415), answer
    assert "error" in json.loads(answer)
    assert unchanged(emulator)


def test_a_rebound_read_of_the_request_log_is_refused(imds_emulator_factory):
    emulator = imds_emulator_factory(control=True)
    status, answer = send(emulator, "GET", "/_emulator/requests", headers={HEADER: "1"}, host="evil.example")
    assert status == 403 and b"requests" not in answer


@pytest.mark.parametrize("host", [None, "localhost", "127.0.0.1", "127.0.0.1:8169", "[::1]:8169",
                                  "LOCALHOST:1", "127.9.9.9"])
def test_the_emulators_own_clients_are_served(imds_emulator_factory, host):
    emulator = imds_emulator_factory(control=True)
    assert send(emulator, "POST", "/_emulator/faults", FAULT, GOOD, host)[0] == 201
    assert send(emulator, "GET", "/_emulator/faults", headers={HEADER: "1"}, host=host)[0] == 200
    assert send(emulator, "DELETE", "/_emulator/faults", headers={HEADER: "1"}, host=host)[0] == 200
    media = {HEADER: "1", "Content-Type": "Application/JSON; charset=utf-8"}
    assert send(emulator, "POST", "/_emulator/events", b'"Terminate"', media, host)[0] == 201


def test_the_emulators_own_address_is_a_good_host():
    from imdsctl.emulator.control import refusal
    from imdsctl.emulator.http.wire import Headers
    from imdsctl.emulator.messages import Request

    def asked(host, own):
        return refusal(Request("GET", "/_emulator/faults", ("_emulator", "faults"), "", (),
                               Headers({"host": host, HEADER.lower(): "1"})), own)

    assert asked(IMDS_ADDRESS, (IMDS_ADDRESS,)) is None          # --link-local
    assert asked(f"{IMDS_ADDRESS}:80", (IMDS_ADDRESS,)) is None
    assert asked("10.1.2.3:8169", ("0.0.0.0",)) is None                   # every address of the machine
    assert asked("[fd00::1]:8169", ("::",)) is None
    assert asked(IMDS_ADDRESS, ()).status == 403
    assert asked("vm.example", ("0.0.0.0",)).status == 403                # a name: rebinding


def test_the_emulator_object_knows_its_address():
    assert Emulator(host="127.0.0.2").service.hosts == ("127.0.0.2",)
    assert Emulator(host="[::1]").service.hosts == ("::1",)


HEADER_NAMES = st.sampled_from(["Origin", "Host", "Content-Type", HEADER, "Referer"])
HEADER_VALUES = st.sampled_from(["http://evil.example", "null", "evil.example", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                 "1", ""])


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["faults", "events", "requests", "throttle/reset"]),
       body=st.sampled_from([FAULT, b'"Terminate"', b"spec=500"]),
       headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4))
def test_what_a_browser_can_send_without_a_preflight_changes_nothing(imds_emulator_factory, path, body,
                                                                      headers):
    """A page may send a "simple" request (form content types, no custom header)
    or one with an Origin: whatever it adds, it is refused and nothing changes."""
    headers = {k: v for k, v in headers.items() if k != HEADER}
    headers.setdefault("Origin", "http://evil.example") if "Content-Type" not in headers else None
    emulator = imds_emulator_factory(control=True, events=["Reboot"])
    host = headers.pop("Host", None)
    status, _ = send(emulator, "POST", f"/_emulator/{path}", body, headers, host)
    assert status in (403, 415)
    assert unchanged(emulator)


# -- the command line -------------------------------------------------------------------------


def test_control_on_a_non_loopback_host_is_refused_before_serving():
    # 192.0.2.1 (TEST-NET-1) is not on this machine: the refusal comes before any bind.
    result = subprocess.run([sys.executable, "-m", "imdsctl", "emulator", "serve", "--host", "0.0.0.0",
                             "--port", "0", "--control"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "--control-anywhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_control_host_check():
    from imdsctl.cli.emulator import check_control_host
    from imdsctl.errors import UsageError

    for host in ("127.0.0.1", "::1", "localhost", "127.3.2.1"):
        check_control_host(host, control=True, anywhere=False)
    check_control_host("0.0.0.0", control=False, anywhere=False)
    check_control_host("0.0.0.0", control=True, anywhere=True)
    for host in ("0.0.0.0", "::", "10.0.0.4", "vm.example"):
        with pytest.raises(UsageError, match="--control-anywhere"):
            check_control_host(host, control=True, anywhere=False)
