"""The emulator's Scheduled Events: specs, the state machine on a fake clock,
version gating, and the endpoint over real loopback sockets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from email.utils import formatdate, parsedate_to_datetime

import httpx
import pytest

from imdsctl.catalog import SCHEDULED_EVENTS_PATH, SCHEDULED_EVENTS_VERSIONS
from imdsctl.emulator import Emulator, ProfileError, load_profile
from imdsctl.emulator import events as se
from imdsctl.emulator.control import CLIENT_HEADERS
from imdsctl.emulator.events import EventSpec, EventSpecError, ScheduledEvents
from imdsctl.emulator.messages import Request

V = "2020-07-01"
GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\Z")
T0 = 1_800_000_000.0  # a whole second, so NotBefore strings are exact


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def state(clock):
    return ScheduledEvents(("vm1",), clock=clock)


def only(state, version=V):
    document = state.document(version)
    assert len(document["Events"]) == 1, document
    return document["Events"][0]


# -- specs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Reboot", EventSpec("Reboot")),
    ("reboot", EventSpec("Reboot")),
    ("Preempt@30", EventSpec("Preempt", notice=30)),
    ("Freeze@60+5", EventSpec("Freeze", notice=60, active=5)),
    ("Freeze+5", EventSpec("Freeze", active=5)),
    ("Terminate@600:vmss_3,vmss_4", EventSpec("Terminate", notice=600, resources=("vmss_3", "vmss_4"))),
    ("Redeploy@0.5", EventSpec("Redeploy", notice=0.5)),
])
def test_event_specs_parse(text, expected):
    assert EventSpec.parse(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("Explode", "unknown event type 'Explode'"),
    ("Reboot@soon", "notice must be a number of seconds"),
    ("Reboot@-1", "notice must be between 0"),
    ("Reboot+x", "active must be a number of seconds"),
    ("Reboot:", "resources must be non-empty"),
    ("Reboot:a,,b", "resources must be non-empty"),
    ("", "bad event spec"),
    ("Reboot@1@2", "notice must be a number"),
])
def test_bad_event_specs_say_why(text, message):
    with pytest.raises(EventSpecError, match=re.escape(message)):
        EventSpec.parse(text)


def test_event_json_takes_a_spec_or_fields():
    assert EventSpec.from_json("Preempt@30") == EventSpec("Preempt", notice=30)
    data = {"type": "freeze", "notice": 60, "resources": ["a"], "description": "d", "source": "User",
            "duration": 9, "id": "c7061bac-afdc-4513-b24b-aa5f13a16123", "active": 1}
    assert EventSpec.from_json(data) == EventSpec("Freeze", 60, 1, ("a",), "d", "User", 9,
                                                  "c7061bac-afdc-4513-b24b-aa5f13a16123")


@pytest.mark.parametrize(("data", "message"), [
    (3, "a spec string or a JSON object"),
    ({}, "an event needs a type"),
    ({"type": "Reboot", "when": 3}, "unknown event field 'when'"),
    ({"type": "Reboot", "resources": "vm1"}, "resources must be a list"),
    ({"type": "Reboot", "source": "Azure"}, "source must be Platform or User"),
    ({"type": "Reboot", "duration": -2}, "duration must be an integer"),
    ({"type": "Reboot", "duration": True}, "duration must be an integer"),
    ({"type": "Reboot", "notice": True}, "notice must be between"),
    ({"type": "Reboot", "description": 5}, "description must be a string"),
    ({"type": "Reboot", "id": "42"}, "id must be a GUID"),
])
def test_bad_event_json_says_why(data, message):
    with pytest.raises(EventSpecError, match=re.escape(message)):
        EventSpec.from_json(data)


def test_profile_section_holds_initial_events():
    profile = load_profile({"instance": {"compute": {"name": "vm1"}},
                            "scheduledEvents": ["Reboot", {"type": "Preempt", "notice": 30}]})
    assert profile.scheduled_events == (EventSpec("Reboot"), EventSpec("Preempt", notice=30))
    assert load_profile("linux-2025").scheduled_events == ()


@pytest.mark.parametrize(("section", "message"), [
    ("Reboot", "p: scheduledEvents: expected a list of events"),
    (["Reboot", "Nap"], "p: scheduledEvents/1: bad event spec 'Nap': unknown event type 'Nap'"),
])
def test_profile_section_errors_name_the_place(section, message):
    from imdsctl.emulator.profiles import from_document

    with pytest.raises(ProfileError, match=re.escape(message)):
        from_document({"instance": {}, "scheduledEvents": section}, "p")


# -- the state machine -------------------------------------------------------------------------


def test_empty_document(state):
    assert state.document() == {"DocumentIncarnation": 1, "Events": []}


def test_a_scheduled_event_looks_like_imds(state):
    shown = state.schedule("Freeze")
    assert shown == only(state)
    assert GUID.match(shown["EventId"])
    assert shown == {
        "EventId": shown["EventId"], "EventStatus": "Scheduled", "EventType": "Freeze",
        "ResourceType": "VirtualMachine", "Resources": ["vm1"],
        "NotBefore": formatdate(T0 + 900, usegmt=True),
        "Description": "Virtual machine is being paused because of a memory-preserving Live Migration "
                       "operation.",
        "EventSource": "Platform", "DurationInSeconds": 5,
    }
    assert state.document()["DocumentIncarnation"] == 2


@pytest.mark.parametrize(("kind", "notice"), [
    ("Freeze", 900), ("Reboot", 900), ("Redeploy", 600), ("Preempt", 30), ("Terminate", 300)])
def test_default_notice_is_the_documented_minimum(state, kind, notice):
    shown = state.schedule(kind)
    assert parsedate_to_datetime(shown["NotBefore"]).timestamp() == T0 + notice


def test_scheduled_then_started_then_gone(state, clock):
    event_id = state.schedule("Reboot@60+30")["EventId"]
    clock.now = T0 + 59.9
    assert only(state)["EventStatus"] == "Scheduled"
    assert state.document()["DocumentIncarnation"] == 2
    clock.now = T0 + 60
    started = only(state)
    assert (started["EventId"], started["EventStatus"], started["NotBefore"]) == (event_id, "Started", "")
    assert state.document()["DocumentIncarnation"] == 3
    clock.now = T0 + 89.9
    assert only(state)["EventStatus"] == "Started"
    clock.now = T0 + 90
    assert state.document() == {"DocumentIncarnation": 4, "Events": []}


def test_transitions_missed_between_polls_each_count(state, clock):
    state.schedule("Reboot@10+10")
    clock.now = T0 + 1000
    assert state.document() == {"DocumentIncarnation": 4, "Events": []}


def test_time_factor_compresses_every_duration(clock):
    state = ScheduledEvents(("vm1",), time_factor=0.001, clock=clock)
    shown = state.schedule("Reboot")  # 900 s of notice, 600 s Started
    assert parsedate_to_datetime(shown["NotBefore"]).timestamp() == T0 + 1  # 0.9 s, rounded up
    clock.now = T0 + 0.9
    assert only(state)["EventStatus"] == "Started"
    clock.now = T0 + 1.5
    assert state.document()["Events"] == []


def test_no_notice_means_started_at_once_in_one_change(state):
    assert state.schedule("Reboot@0")["EventStatus"] == "Started"
    assert state.document()["DocumentIncarnation"] == 2


def test_overrides_and_fixed_ids(state):
    shown = state.schedule("Redeploy", resources=("a", "b"), description="moving", source="User",
                           duration=0, id="c7061bac-afdc-4513-b24b-aa5f13a16123")
    assert shown["EventId"] == "C7061BAC-AFDC-4513-B24B-AA5F13A16123"
    assert (shown["Resources"], shown["Description"], shown["EventSource"], shown["DurationInSeconds"]) \
        == (["a", "b"], "moving", "User", 0)
    with pytest.raises(EventSpecError, match="exists already"):
        state.schedule("Reboot", id="C7061BAC-AFDC-4513-B24B-AA5F13A16123")


def test_approval_starts_an_event_early(state, clock):
    first = state.schedule("Reboot")["EventId"]
    second = state.schedule("Freeze")["EventId"]
    clock.now = T0 + 5
    state.approve([first.lower(), "00000000-0000-0000-0000-000000000000"])
    document = state.document()
    assert [e["EventStatus"] for e in document["Events"]] == ["Started", "Scheduled"]
    assert document["DocumentIncarnation"] == 4
    state.approve([first])  # already Started: nothing changes
    assert state.document()["DocumentIncarnation"] == 4
    clock.now = T0 + 5 + 600  # Started lasts its active time from the approval
    assert [e["EventId"] for e in state.document()["Events"]] == [second]


def test_cancel_one_or_all(state):
    first = state.schedule("Reboot")["EventId"]
    state.schedule("Freeze")
    state.cancel(first.lower())
    assert [e["EventType"] for e in state.document()["Events"]] == ["Freeze"]
    state.cancel("00000000-0000-0000-0000-000000000000")
    assert state.document()["DocumentIncarnation"] == 4
    state.cancel()
    assert state.document() == {"DocumentIncarnation": 5, "Events": []}


@pytest.mark.parametrize("version", SCHEDULED_EVENTS_VERSIONS)
def test_fields_and_types_follow_the_api_version(state, version):
    for kind in ("Freeze", "Preempt", "Terminate"):
        state.schedule(kind)
    document = state.document(version)
    types = [e["EventType"] for e in document["Events"]]
    assert types == ["Freeze"] + (["Preempt"] if version >= "2017-11-01" else []) \
        + (["Terminate"] if version >= "2019-01-01" else [])
    event = document["Events"][0]
    assert ("Description" in event) == (version >= "2019-04-01")
    assert ("EventSource" in event) == (version >= "2019-08-01")
    assert ("DurationInSeconds" in event) == (version >= "2020-07-01")
    assert event["Resources"] == (["_vm1"] if version == "2017-03-01" else ["vm1"])
    assert document["DocumentIncarnation"] == 4


def test_the_enablement_delay_applies_to_the_first_call_only():
    state = ScheduledEvents(enable_delay=2.5)
    assert [state.first_call_delay() for _ in range(3)] == [2.5, 0.0, 0.0]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        ScheduledEvents(time_factor=0)
    with pytest.raises(ValueError):
        ScheduledEvents(enable_delay=-1)


# -- one state per emulator -------------------------------------------------------------------


def test_attach_schedules_the_profile_then_the_given_events(imds_emulator_factory):
    emulator = imds_emulator_factory(profile={"instance": {"compute": {"name": "node-7"}},
                                              "scheduledEvents": ["Preempt"]})
    state = se.attach(emulator.service, time_factor=0.5, events=["Freeze:other"])
    assert emulator.service.scheduled_events is state
    assert [(e["EventType"], e["Resources"]) for e in state.document()["Events"]] == \
        [("Preempt", ["node-7"]), ("Freeze", ["other"])]


def test_each_emulator_has_its_own_state(imds_emulator_factory):
    a, b = imds_emulator_factory(), imds_emulator_factory()
    a.service.scheduled_events.schedule("Reboot")
    assert b.service.scheduled_events.document()["Events"] == []
    assert a.service.scheduled_events.default_resources == (a.profile.instance["compute"]["name"],)


# -- the endpoint, over sockets ------------------------------------------------------------------



def get(emulator_http, version=V, **params):
    return emulator_http.get(SCHEDULED_EVENTS_PATH, params={"api-version": version, **params})


def post(emulator_http, body, version=V, **kwargs):
    return emulator_http.post(SCHEDULED_EVENTS_PATH, params={"api-version": version}, content=body, **kwargs)


def test_get_answers_the_document_as_compact_json(emulator, emulator_http):
    emulator.service.scheduled_events.schedule("Reboot")
    response = get(emulator_http)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == emulator.service.scheduled_events.document()
    assert b": " not in response.content


def test_post_start_requests_answers_200_with_the_document(emulator, emulator_http):
    event_id = emulator.service.scheduled_events.schedule("Reboot")["EventId"]
    body = json.dumps({"StartRequests": [{"EventId": event_id}]}).encode()
    # Content-Type is not checked: the documented curl -d example sends a form type.
    response = post(emulator_http, body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert response.json()["Events"][0]["EventStatus"] == "Started"


@pytest.mark.parametrize(("body", "message"), [
    (b"", "Expected {\"StartRequests\""),
    (b"{", "not JSON"),
    (b"[]", "Expected {\"StartRequests\""),
    (b'{"StartRequests": []}', "Expected {\"StartRequests\""),
    (b'{"StartRequests": {"EventId": "x"}}', "Expected {\"StartRequests\""),
    (b'{"StartRequests": ["C7061BAC-AFDC-4513-B24B-AA5F13A16123"]}', "Invalid EventId null"),
    (b'{"StartRequests": [{"EventId": "reboot-1"}]}', 'Invalid EventId "reboot-1"'),
    (b'{"StartRequests": [{"Id": "C7061BAC-AFDC-4513-B24B-AA5F13A16123"}]}', "Invalid EventId null"),
])
def test_malformed_post_bodies_are_400(emulator_http, body, message):
    response = post(emulator_http, body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_unknown_but_well_formed_ids_are_accepted(emulator_http):
    body = b'{"StartRequests": [{"EventId": "c7061bac-afdc-4513-b24b-aa5f13a16123"}]}'
    response = post(emulator_http, body)
    assert (response.status_code, response.json()) == (200, {"DocumentIncarnation": 1, "Events": []})


@pytest.mark.parametrize(("fmt", "status"), [("json", 200), ("text", 400), ("xml", 400)])
def test_only_json_is_served(emulator_http, fmt, status):
    assert get(emulator_http, format=fmt).status_code == status


def test_the_family_checks_apply(emulator_http):
    assert emulator_http.get(SCHEDULED_EVENTS_PATH, params={"api-version": V}, headers={"Metadata": "no"}) \
        .status_code == 400
    refused = get(emulator_http, version="2025-04-07")
    assert refused.status_code == 400
    assert refused.json()["newest-versions"] == ["2020-07-01", "2019-08-01", "2019-04-01"]
    assert emulator_http.put(SCHEDULED_EVENTS_PATH, params={"api-version": V}).status_code == 405


def test_enablement_delay_over_sockets(emulator, emulator_http):
    se.attach(emulator.service, enable_delay=0.3)
    started = time.monotonic()
    assert get(emulator_http).status_code == 200
    first = time.monotonic() - started
    started = time.monotonic()
    assert get(emulator_http).status_code == 200
    assert first >= 0.3 > time.monotonic() - started


# -- the control channel handlers -------------------------------------------------------------


def control(method, body=b""):
    return Request(method, "/_emulator/events", ("_emulator", "events"), "", (), {}, body=body)


def test_control_schedules_lists_and_cancels(emulator):
    service = emulator.service
    response = se.control_schedule(service, control("POST", b'["Reboot", {"type": "Preempt"}]'))
    assert response.status == 201
    scheduled = json.loads(response.body)["scheduled"]
    assert [e["EventType"] for e in scheduled] == ["Reboot", "Preempt"]
    listed = json.loads(se.control_list(service, control("GET")).body)
    assert listed["Events"] == scheduled
    assert json.loads(se.control_cancel(service, control("DELETE")).body)["Events"] == []
    assert se.CONTROL_ROUTES["events"]["POST"] is se.control_schedule


@pytest.mark.parametrize(("body", "message"), [
    (b"{", "the body must be JSON"),
    (b'"Nap"', "unknown event type 'Nap'"),
])
def test_control_refuses_bad_events(emulator, body, message):
    response = se.control_schedule(emulator.service, control("POST", body))
    assert response.status == 400
    assert message in json.loads(response.body)["error"]


# -- the Emulator, the command line and the control channel ------------------------------------

EMULATE = [sys.executable, "-c", "from imdsctl.cli.emulator import emulate; emulate()"]


def test_emulator_takes_events_and_schedules_more():
    emulator = Emulator(profile={"instance": {"compute": {"name": "vm9"}}, "scheduledEvents": ["Freeze"]},
                        events=["Preempt@30"], events_time_factor=0.5, events_enable_delay=0.25)
    state = emulator.scheduled_events
    assert (state.time_factor, state.enable_delay) == (0.5, 0.25)
    shown = emulator.schedule_event("Terminate", resources=("vm9", "vm10"))
    assert [e["EventType"] for e in state.document()["Events"]] == ["Freeze", "Preempt", "Terminate"]
    assert shown["Resources"] == ["vm9", "vm10"]


@pytest.mark.imds_emulator(events=["Reboot@0"], throttle=False)
def test_the_fixture_marker_takes_events(imds_emulator):
    with httpx.Client(verify=False, base_url=imds_emulator.url, trust_env=False,
                      headers={"Metadata": "true", **CLIENT_HEADERS}) as emulator_http:
        assert get(emulator_http).json()["Events"][0]["EventStatus"] == "Started"
        assert emulator_http.post("/_emulator/events", json=["Preempt@30"]).status_code == 201
        assert len(emulator_http.get("/_emulator/events").json()["Events"]) == 2
        assert emulator_http.delete("/_emulator/events").json()["Events"] == []
        assert emulator_http.post("/_emulator/events", json="Nap").status_code == 400


def test_emulate_takes_event_specs():
    # Scenario times long enough to outlive two interpreter start-ups on a busy machine even
    # once scaled (a Preempt@30 at 0.001 lives 0.33 s: that flaked), and far enough apart
    # unscaled (10 days) and scaled (15 minutes) to show the factor applied.
    command = [sys.executable, "-m", "imdsctl", "events", "list", "-o", "json"]
    started = time.time()
    result = subprocess.run([*EMULATE, "--event", "Reboot@900000", "--event", "Preempt@30000:a,b",
                             "--events-time-factor", "0.001", "--", *command],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["Events"]
    assert [(e["EventType"], e["EventStatus"]) for e in events] == [("Reboot", "Scheduled"),
                                                                    ("Preempt", "Scheduled")]
    assert events[1]["Resources"] == ["a", "b"]
    notice = [parsedate_to_datetime(e["NotBefore"]).timestamp() - started for e in events]
    assert 900 <= notice[0] < 931 and 30 <= notice[1] < 61  # the run is bounded by 30 s


@pytest.mark.parametrize(("args", "message"), [
    (["--event", "Nap"], "unknown event type 'Nap'"),
    (["--events-time-factor", "0"], "0.0 is not in the range 0<x<=1000"),
    (["--events-enable-delay", "-1"], "-1.0 is not in the range 0<=x<=3600"),
])
def test_bad_event_options_are_usage_errors(args, message):
    from click.testing import CliRunner

    from imdsctl.cli.emulator import emulate

    result = CliRunner().invoke(emulate, [*args, "--", "true"])
    assert result.exit_code == 2 and message in result.output


def test_help_documents_event_specs():
    from click.testing import CliRunner

    from imdsctl.cli.emulator import emulator

    help_text = CliRunner().invoke(emulator, ["serve", "--help"]).output
    assert "EVENT = TYPE[@NOTICE][+ACTIVE][:RESOURCE[,RESOURCE...]]" in help_text
