"""The Service's answer cache: the bytes of answers that depend on the profile
alone are built once per (api-version, route, format); what varies never is."""

from __future__ import annotations

import copy
import json
from urllib.parse import parse_qsl

import pytest

from imdsctl.catalog import (
    DEFAULT_API_VERSION,
    IDENTITY_TOKEN_PATH,
    INSTANCE_PATH,
    LOADBALANCER_PATH,
    SCHEDULED_EVENTS_PATH,
    VERSIONS_PATH,
)
from imdsctl.emulator.control import CLIENT_HEADERS
from imdsctl.emulator.faults import Fault
from imdsctl.emulator.messages import Request
from imdsctl.emulator.profiles import load_profile
from imdsctl.emulator.service import AnswerCache, Service
from imdsctl.emulator.throttle import Throttle
from imdsctl.emulator.tree import InstanceTree

V = DEFAULT_API_VERSION


def request(target, method="GET", body=b""):
    path, _, query = target.partition("?")
    return Request(method, path, tuple(p for p in path.split("/") if p), query,
                   tuple(parse_qsl(query, keep_blank_values=True)), {"Metadata": "true", **CLIENT_HEADERS},
                   body=body)


@pytest.fixture
def service():
    return Service(load_profile("linux-2025"), control=True)


@pytest.mark.parametrize("target", [
    VERSIONS_PATH,
    f"{INSTANCE_PATH}?api-version={V}",
    f"{INSTANCE_PATH}?api-version=2017-03-01",
    f"{INSTANCE_PATH}/compute/vmId?api-version={V}&format=text",
    f"{INSTANCE_PATH}/network?api-version={V}&format=json",
    f"{INSTANCE_PATH}/compute?api-version={V}&format=text",
    f"{LOADBALANCER_PATH}?api-version=2020-10-01",
])
def test_answers_from_the_profile_are_built_once(service, target):
    first = service.handle(request(target))
    assert first.status == 200
    assert service.handle(request(target)) is first  # the same bytes, not built again
    fresh = Service(service.profile).handle(request(target))
    assert (first.body, first.content_type) == (fresh.body, fresh.content_type)


def test_the_key_is_api_version_route_and_format(service):
    answers = {target: service.handle(request(target)).body for target in [
        f"{INSTANCE_PATH}/compute?api-version={V}",
        f"{INSTANCE_PATH}/compute?api-version={V}&format=text",
        f"{INSTANCE_PATH}/compute?api-version=2017-04-02",
        f"{INSTANCE_PATH}/network?api-version={V}",
    ]}
    assert len(set(answers.values())) == 4
    assert service.handle(request(f"{INSTANCE_PATH}/compute?api-version={V}&format=json")).body == \
        answers[f"{INSTANCE_PATH}/compute?api-version={V}"]


def test_only_200s_are_kept_and_at_most_size():
    service = Service(load_profile("linux-2025"))
    service.answers = AnswerCache(size=1)
    missing = request(f"{INSTANCE_PATH}/nothing/here?api-version={V}")
    assert service.handle(missing).status == 404
    assert service.handle(missing) is not service.handle(missing)  # made-up routes are not kept
    kept = service.handle(request(VERSIONS_PATH))
    assert service.handle(request(VERSIONS_PATH)) is kept
    other = request(f"{INSTANCE_PATH}?api-version={V}")
    assert service.handle(other) is not service.handle(other)  # full: answered, not kept


def test_faults_and_the_rate_limit_still_apply_to_every_request():
    service = Service(load_profile("linux-2025"), throttle=Throttle(2))
    target = request(f"{INSTANCE_PATH}/compute/vmId?api-version={V}&format=text")
    assert [service.handle(target).status for _ in range(3)] == [200, 200, 429]
    service.throttle.reset()
    service.faults.add(Fault.parse("410"))
    service.faults.add(Fault.parse("delay=1"))
    assert service.handle(target).status == 410
    delayed = service.handle(target)
    assert (delayed.status, delayed.delay) == (200, 1.0)
    assert service.handle(target).delay == 0.0  # the cached answer was not altered


def test_a_new_profile_or_tree_empties_the_cache(service):
    target = request(f"{INSTANCE_PATH}/compute/name?api-version={V}&format=text")
    assert service.handle(target).body == b"web-01"
    document = copy.deepcopy(service.profile.instance)
    document["compute"]["name"] = "renamed"
    service.tree = InstanceTree(document)
    assert service.handle(target).body == b"renamed"
    lb = request(f"{LOADBALANCER_PATH}?api-version=2020-10-01")
    assert service.handle(lb).status == 200
    service.profile = load_profile("spot-vmss")  # no load balancer
    assert service.handle(lb).status == 404


def test_what_varies_is_answered_afresh(service):
    events = request(f"{SCHEDULED_EVENTS_PATH}?api-version=2020-07-01")
    before = json.loads(service.handle(events).body)
    service.scheduled_events.schedule("Reboot")
    after = json.loads(service.handle(events).body)
    assert after["DocumentIncarnation"] == before["DocumentIncarnation"] + 1
    assert [e["EventType"] for e in after["Events"]] == ["Reboot"]
    faults = request("/_emulator/faults")
    assert json.loads(service.handle(faults).body) == {"faults": []}
    service.faults.add(Fault.parse("500@/nowhere"))
    assert len(json.loads(service.handle(faults).body)["faults"]) == 1
    token = request(f"{IDENTITY_TOKEN_PATH}?api-version=2018-02-01&resource=https://management.azure.com/")
    first = service.handle(token)
    assert first.status == 200 and service.handle(token) is not first
