"""Fault injection, the control channel and the rate limit."""

from __future__ import annotations

import http.client
import json
import time

import httpx
import pytest

from imdsctl.catalog import DEFAULT_API_VERSION, INSTANCE_PATH, VERSIONS_PATH
from imdsctl.emulator import Fault, FaultSpecError
from imdsctl.emulator.control import CLIENT_HEADERS
from imdsctl.emulator.faults import FaultPlan
from imdsctl.emulator.throttle import Throttle

V = DEFAULT_API_VERSION
VM_ID = f"{INSTANCE_PATH}/compute/vmId?api-version={V}&format=text"


def get(emulator, target=VM_ID, headers=None):
    """(status, content type, body) of one GET on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    try:
        connection.request("GET", target, headers={"Metadata": "true", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def control(emulator, method, path, body=None):
    response = httpx.request(method, f"{emulator.url}/_emulator/{path}", json=body, trust_env=False,
                             headers={**CLIENT_HEADERS, "Content-Type": "application/json"})
    return response.status_code, response.json()


# -- spec syntax ---------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "fault"), [
    ("410", Fault("status", status=410)),
    ("410*3@/metadata/instance", Fault("status", status=410, count=3, prefix="/metadata/instance")),
    ("500*inf", Fault("status", status=500, count=None)),
    ("delay=2.5", Fault("delay", seconds=2.5)),
    ("delay=1*2@/metadata/versions", Fault("delay", seconds=1.0, count=2, prefix="/metadata/versions")),
    ("html", Fault("html")),
    ("truncate*4", Fault("truncate", count=4)),
    ("reset*2", Fault("reset", count=2)),
    ("599@/", Fault("status", status=599)),
])
def test_spec_parses_and_round_trips(spec, fault):
    assert Fault.parse(spec) == fault
    assert Fault.parse(fault.spec) == fault


def test_prefix_trailing_slash_is_dropped():
    assert Fault.parse("404@/metadata/instance/").prefix == "/metadata/instance"


@pytest.mark.parametrize(("spec", "message"), [
    ("", "bad fault spec"),
    ("200", "not a 4xx or 5xx"),
    ("600", "not a 4xx or 5xx"),
    ("explode", "unknown fault kind 'explode'"),
    ("delay", "needs seconds"),
    ("delay=0", "between 0 and 600"),
    ("delay=9999", "between 0 and 600"),
    ("delay=soon", "not a number"),
    ("html=1", "only delay takes a value"),
    ("410*0", "positive integer"),
    ("410*-1", "positive integer"),
    ("410*many", "positive integer"),
    ("410@metadata", "must start with '/'"),
    ("HTML", "bad fault spec"),
])
def test_bad_specs_say_why(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        Fault.parse(spec)


@pytest.mark.parametrize(("data", "fault"), [
    ("503*2", Fault("status", status=503, count=2)),
    ({"spec": "reset"}, Fault("reset")),
    ({"status": 429, "count": None}, Fault("status", status=429, count=None)),
    ({"kind": "delay", "seconds": 1, "prefix": "/metadata"}, Fault("delay", seconds=1, prefix="/metadata")),
])
def test_fault_from_json(data, fault):
    assert Fault.from_json(data) == fault


@pytest.mark.parametrize("data", [42, {"kind": "html", "colour": "red"}, {"count": 2}, {"status": "410"},
                                  {"status": True}, {"kind": "delay", "seconds": "2"}])
def test_bad_fault_json(data):
    with pytest.raises(FaultSpecError):
        Fault.from_json(data)


def test_plan_consumes_the_first_match_in_order():
    plan = FaultPlan([Fault.parse("410*2@/metadata/instance"), Fault.parse("500")])
    assert plan.take("/metadata/versions").status == 500
    assert plan.take("/metadata/versions") is None
    assert plan.take("/metadata/instancex") is None  # whole segments only
    assert plan.take("/metadata/instance/compute").status == 410
    assert [f.spec for f in plan.active()] == ["410@/metadata/instance"]
    assert plan.take("/metadata/instance").status == 410
    assert plan.active() == []


# -- each fault over HTTP ---------------------------------------------------------------


def test_status_fault_with_count_and_prefix(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["410*2@/metadata/instance"])
    assert get(emulator, VERSIONS_PATH)[0] == 200  # outside the prefix
    assert get(emulator)[::2] == (410, b'{"error":"Gone"}')
    assert get(emulator)[0] == 410
    assert get(emulator)[0] == 200
    assert [(r.status, r.fault) for r in emulator.requests] == [(200, None), (410, "410"), (410, "410"),
                                                                (200, None)]


@pytest.mark.parametrize(("status", "body"), [
    (429, {"error": "Too many requests"}),
    (500, {"error": "Internal Server Error"}),
    (503, {"error": "Internal service unavailable. Retry later"}),
    (404, {"error": "Not found"}),
])
def test_status_fault_bodies_are_json(imds_emulator_factory, status, body):
    emulator = imds_emulator_factory(throttle=False, faults=[str(status)])
    code, content_type, content = get(emulator)
    assert (code, content_type, json.loads(content)) == (status, "application/json; charset=utf-8", body)


def test_faults_apply_before_validation(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["503"])
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    connection.request("GET", INSTANCE_PATH)  # no header, no api-version
    assert connection.getresponse().status == 503


def test_infinite_fault_until_cleared(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["500*inf"])
    assert [get(emulator)[0] for _ in range(5)] == [500] * 5
    assert emulator.faults == [Fault("status", status=500, count=None)]
    emulator.clear_faults()
    assert get(emulator)[0] == 200


def test_delay_fault(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["delay=0.3"])
    started = time.monotonic()
    assert get(emulator)[2] == b"02aab8a4-74ef-476e-8182-f6d2ba4166a6"
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    get(emulator)
    assert time.monotonic() - started < 0.3


def test_delay_fault_times_a_client_out(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["delay=2"])
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(emulator.url + VM_ID, headers={"Metadata": "true"}, timeout=0.2, trust_env=False)


def test_html_fault(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["html"])
    status, content_type, body = get(emulator)
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert body.startswith(b"<!DOCTYPE html>")


def test_truncate_fault(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["truncate"])
    with pytest.raises(http.client.IncompleteRead) as caught:
        get(emulator, f"{INSTANCE_PATH}?api-version={V}")
    assert 0 < len(caught.value.partial) < caught.value.expected + len(caught.value.partial)
    assert get(emulator)[0] == 200


def test_reset_fault(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, faults=["reset*2"])
    for _ in range(2):
        with pytest.raises(ConnectionResetError):
            get(emulator)
    assert get(emulator)[0] == 200
    assert [r.status for r in emulator.requests] == [None, None, 200]


def test_add_fault_at_run_time(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False)
    assert emulator.add_fault("429*2") == Fault("status", status=429, count=2)
    assert [get(emulator)[0] for _ in range(3)] == [429, 429, 200]


# -- control channel ------------------------------------------------------------------


def test_control_channel(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, control=True)
    assert control(emulator, "GET", "faults") == (200, {"faults": []})
    status, body = control(emulator, "POST", "faults", ["410*2@/metadata/instance", {"status": 500}])
    assert status == 201
    assert [f["spec"] for f in body["faults"]] == ["410*2@/metadata/instance", "500"]
    assert [get(emulator)[0] for _ in range(4)] == [410, 410, 500, 200]
    status, body = control(emulator, "GET", "requests")
    assert [(r["method"], r["path"], r["query"], r["status"], r["fault"]) for r in body["requests"]] == [
        ("GET", f"{INSTANCE_PATH}/compute/vmId", f"api-version={V}&format=text", s, f)
        for s, f in [(410, "410"), (410, "410"), (500, "500"), (200, None)]]
    assert all(isinstance(r["time"], float) and r["client"] == "127.0.0.1" for r in body["requests"])
    assert control(emulator, "DELETE", "requests") == (200, {"requests": []})
    control(emulator, "POST", "faults", {"spec": "503*inf"})
    assert control(emulator, "DELETE", "faults") == (200, {"faults": []})
    assert get(emulator)[0] == 200


def test_control_channel_errors(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False, control=True)
    status, body = control(emulator, "POST", "faults", {"spec": "200"})
    assert status == 400 and "4xx or 5xx" in body["error"]
    status, body = control(emulator, "POST", "faults", ["410", "nonsense"])
    assert status == 400 and emulator.faults == []  # all or nothing
    bad_json = httpx.post(f"{emulator.url}/_emulator/faults", content=b"{", trust_env=False,
                          headers={**CLIENT_HEADERS, "Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert control(emulator, "PUT", "faults")[0] == 405
    assert control(emulator, "GET", "nothing") == (404, {"error": "Not found"})


def test_control_channel_is_not_logged_faulted_or_throttled(imds_emulator_factory):
    emulator = imds_emulator_factory(control=True, rate=1, faults=["500*inf"])
    for _ in range(3):
        assert control(emulator, "GET", "faults")[0] == 200
    assert emulator.requests == []


def test_control_channel_is_off_by_default(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False)
    response = httpx.post(f"{emulator.url}/_emulator/faults", json="500", trust_env=False,
                          headers=CLIENT_HEADERS)
    assert response.status_code == 400  # no Metadata header: refused like any other path
    assert get(emulator, f"/_emulator/faults?api-version={V}")[::2] == (404, b'{"error":"Not found"}')
    assert emulator.faults == []


# -- throttling -------------------------------------------------------------------------


def test_throttle_answers_429_beyond_5_per_second(imds_emulator_factory):
    emulator = imds_emulator_factory(control=True)
    statuses = [get(emulator)[0] for _ in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
    assert get(emulator)[::2] == (429, b'{"error":"Too many requests"}')
    assert control(emulator, "POST", "throttle/reset") == (200, {"rate": 5})
    assert get(emulator)[0] == 200


def test_throttle_rate_and_reset(imds_emulator_factory):
    emulator = imds_emulator_factory(rate=2)
    assert [get(emulator)[0] for _ in range(3)] == [200, 200, 429]
    emulator.reset_throttle()
    assert get(emulator)[0] == 200


def test_throttle_can_be_switched_off(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=False)
    assert {get(emulator)[0] for _ in range(20)} == {200}


def test_invalid_requests_do_not_count_against_the_rate(imds_emulator_factory):
    emulator = imds_emulator_factory(rate=2)
    for _ in range(5):
        assert get(emulator, INSTANCE_PATH)[0] == 400  # no api-version
    assert get(emulator)[0] == 200


def test_throttle_window_slides():
    now = [100.0]
    throttle = Throttle(rate=2, clock=lambda: now[0])
    assert [throttle.allow("a"), throttle.allow("a"), throttle.allow("a")] == [True, True, False]
    assert throttle.allow("b")  # per client
    now[0] = 100.5
    assert not throttle.allow("a")
    now[0] = 101.0
    assert throttle.allow("a") and throttle.allow("a") and not throttle.allow("a")
    with pytest.raises(ValueError):
        Throttle(rate=0)


def test_throttle_windows_expire_and_memory_stays_bounded():
    """30,000 distinct sources, one request each, spread over 30 s: the throttle
    keeps only the windows still open (and never more than its cap)."""
    now = [0.0]
    throttle = Throttle(rate=5, clock=lambda: now[0])
    for i in range(30_000):
        now[0] = i / 1000.0
        assert throttle.allow(f"127.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        assert throttle.tracked() <= 1001
    now[0] += 1.0
    throttle.allow("127.0.0.1")
    assert throttle.tracked() == 1


def test_throttle_caps_the_sources_it_remembers_within_one_second():
    throttle = Throttle(rate=5, clock=lambda: 0.0)
    for i in range(30_000):
        throttle.allow(f"source-{i}")
    assert throttle.tracked() <= Throttle.MAX_SOURCES
