"""The emulator's managed identity endpoints over loopback sockets: tokens that
decode as JWTs with the right claims, string values, selectors, error bodies,
api-versions, and the profile's identity section."""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imdsctl import catalog
from imdsctl.emulator import Emulator, ProfileError, load_profile, messages
from imdsctl.emulator import identity as identity_module
from imdsctl.emulator.faults import Fault, FaultPlan
from imdsctl.emulator.service import Service
from imdsctl.emulator.throttle import Throttle

pytestmark = pytest.mark.e2e

LINUX = load_profile("linux-2025")
SECTION = LINUX.identity
SYSTEM = SECTION["systemAssigned"]
USER = SECTION["userAssigned"][0]
TENANT = SECTION["tenantId"]
VM_ID = LINUX.instance["compute"]["resourceId"]
ARM = "https://management.azure.com/"
KEYS = {"access_token", "client_id", "expires_in", "expires_on", "ext_expires_in", "not_before", "resource",
        "token_type"}
NOT_FOUND = {"error": "invalid_request", "error_description": "Identity not found"}

#: Whether Service.check words refusals and rate-limits the identity family its own way
#: (Family.refuse and Family.rate, a change to service.py the identity report asks for).


def get_token(emulator_http, version=catalog.IDENTITY_API_VERSION, **params):
    return emulator_http.get(catalog.IDENTITY_TOKEN_PATH, params={"api-version": version, **params})


def decode(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def claims_of(answer: dict) -> dict:
    return decode(answer["access_token"].split(".")[1])


def with_identity(section: dict, imds_emulator_factory) -> httpx.Client:
    document = {"instance": LINUX.instance, "identity": section}
    emulator = imds_emulator_factory(profile=document, throttle=False)
    return httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true"}, trust_env=False,
                        timeout=5)


# -- the token --------------------------------------------------------------------------


def test_token_is_string_valued_json_like_imds(emulator_http):
    before = int(time.time())
    response = get_token(emulator_http, resource=ARM)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    answer = response.json()
    assert set(answer) == KEYS
    assert all(isinstance(v, str) for v in answer.values())
    assert (answer["client_id"], answer["resource"]) == (SYSTEM["clientId"], ARM)
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == answer["ext_expires_in"] == "86399"
    assert before + 86399 <= int(answer["expires_on"]) <= int(time.time()) + 86399
    assert int(answer["not_before"]) == int(answer["expires_on"]) - 86399 - 300


def test_token_is_a_jwt_with_entra_claims(emulator_http):
    answer = get_token(emulator_http, resource=ARM).json()
    header, payload, signature = answer["access_token"].split(".")
    head = decode(header)
    assert (head["alg"], head["typ"]) == ("RS256", "JWT") and head["kid"] == head["x5t"]
    assert len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) == 256
    claims = decode(payload)
    authority = f"https://sts.windows.net/{TENANT}/"
    assert claims["aud"] == ARM
    assert (claims["iss"], claims["idp"], claims["tid"]) == (authority, authority, TENANT)
    assert (claims["appid"], claims["oid"], claims["sub"]) == (SYSTEM["clientId"], SYSTEM["objectId"],
                                                               SYSTEM["objectId"])
    assert claims["xms_mirid"] == VM_ID
    assert (claims["nbf"], claims["exp"]) == (int(answer["not_before"]), int(answer["expires_on"]))
    assert claims["iat"] <= claims["nbf"] < claims["exp"] and claims["ver"] == "1.0"


def test_every_request_mints_a_fresh_token(emulator_http):
    first, second = (get_token(emulator_http, resource=ARM).json()["access_token"] for _ in range(2))
    assert first != second


@pytest.mark.parametrize("param, value", [
    ("client_id", USER["clientId"]),
    ("client_id", USER["clientId"].upper()),
    ("object_id", USER["objectId"]),
    ("msi_res_id", USER["resourceId"]),
    ("msi_res_id", USER["resourceId"].lower()),
    ("mi_res_id", USER["resourceId"]),
])
def test_selectors_pick_the_user_assigned_identity(emulator_http, param, value):
    answer = get_token(emulator_http, resource=ARM, **{param: value}).json()
    claims = claims_of(answer)
    assert (answer["client_id"], claims["appid"], claims["oid"]) == (USER["clientId"], USER["clientId"],
                                                                     USER["objectId"])
    assert claims["xms_mirid"] == USER["resourceId"]


def test_the_system_assigned_identity_can_be_named_by_client_id(emulator_http):
    answer = get_token(emulator_http, resource=ARM, client_id=SYSTEM["clientId"]).json()
    assert claims_of(answer)["oid"] == SYSTEM["objectId"]


@pytest.mark.parametrize("params", [
    {"client_id": "00000000-0000-0000-0000-000000000000"},
    {"object_id": "00000000-0000-0000-0000-000000000000"},
    {"msi_res_id": USER["resourceId"].replace("id-web-01", "id-other")},
    {"msi_res_id": VM_ID},
    {"client_id": ""},
])
def test_unknown_identity_is_400_identity_not_found(emulator_http, params):
    response = get_token(emulator_http, resource=ARM, **params)
    assert (response.status_code, response.json()) == (400, NOT_FOUND)


def test_more_than_one_selector_is_400(emulator_http):
    response = get_token(emulator_http, resource=ARM, client_id=USER["clientId"], object_id=USER["objectId"])
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request",
                               "error_description": "Only one of client_id, object_id and msi_res_id "
                                                    "may be specified"}


@pytest.mark.parametrize("params", [{}, {"resource": ""}])
def test_missing_resource_is_400(emulator_http, params):
    response = get_token(emulator_http, **params)
    assert (response.status_code, response.json()) == (400, {
        "error": "invalid_request", "error_description": "Required query variable 'resource' is missing"})


@pytest.mark.parametrize("resource", ["foo", "https://management.azure.com/.default", "management.azure.com"])
def test_unknown_resource_is_entras_invalid_resource(emulator_http, resource):
    response = get_token(emulator_http, resource=resource)
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["error_codes"]) == ("invalid_resource", [500011])
    assert body["error_description"].startswith(
        f"AADSTS500011: The resource principal named {resource} was not found in the tenant named {TENANT}.")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


@pytest.mark.parametrize("resource", ["https://vault.azure.net", "api://my-app", SYSTEM["clientId"]])
def test_uris_and_app_ids_are_resources(emulator_http, resource):
    assert claims_of(get_token(emulator_http, resource=resource).json())["aud"] == resource


# -- which identity without a selector --------------------------------------------------------

TWO_USERS = [USER, {"clientId": "11111111-aaaa-4bbb-8ccc-222222222222",
                    "objectId": "33333333-dddd-4eee-8fff-444444444444",
                    "resourceId": USER["resourceId"].replace("id-web-01", "id-web-02")}]


def test_without_system_assigned_the_only_user_assigned_answers(imds_emulator_factory):
    with with_identity({"tenantId": TENANT, "userAssigned": [USER]}, imds_emulator_factory) as emulator_http:
        assert get_token(emulator_http, resource=ARM).json()["client_id"] == USER["clientId"]


def test_several_user_assigned_need_a_selector(imds_emulator_factory):
    two = {"tenantId": TENANT, "userAssigned": TWO_USERS}
    with with_identity(two, imds_emulator_factory) as emulator_http:
        response = get_token(emulator_http, resource=ARM)
        assert (response.status_code, response.json()) == (400, NOT_FOUND)
        picked = get_token(emulator_http, resource=ARM, client_id=TWO_USERS[1]["clientId"]).json()
        assert claims_of(picked)["oid"] == TWO_USERS[1]["objectId"]


def test_no_identity_section_means_identity_not_found(imds_emulator_factory):
    emulator = imds_emulator_factory(profile="linux-2017", throttle=False)
    with httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true"},
                      trust_env=False) as emulator_http:
        for path in (catalog.IDENTITY_TOKEN_PATH, catalog.IDENTITY_INFO_PATH):
            response = emulator_http.get(path, params={"api-version": "2018-02-01", "resource": ARM})
            assert (response.status_code, response.json()) == (400, NOT_FOUND)


def test_a_section_without_identities_still_has_a_tenant(imds_emulator_factory):
    with with_identity({"tenantId": TENANT}, imds_emulator_factory) as emulator_http:
        assert get_token(emulator_http, resource=ARM).json() == NOT_FOUND
        info = emulator_http.get(catalog.IDENTITY_INFO_PATH, params={"api-version": "2018-02-01"})
        assert info.json() == {"tenantId": TENANT}


# -- info, api-versions, the service's checks ---------------------------------------------------


def test_info_is_the_tenant(emulator_http):
    response = emulator_http.get(catalog.IDENTITY_INFO_PATH, params={"api-version": "2023-07-01"})
    assert (response.status_code, response.json()) == (200, {"tenantId": TENANT})


@pytest.mark.parametrize("version", ["2018-02-01", "2019-08-15", "2023-07-01", catalog.DEFAULT_API_VERSION])
def test_identity_api_versions_from_2018_02_01_on(emulator_http, version):
    assert get_token(emulator_http, version=version, resource=ARM).status_code == 200


@pytest.mark.parametrize("version", [None, "2017-12-01", "2018-01-01", "latest"])
def test_other_api_versions_are_refused_with_the_newest(emulator_http, version):
    params = {"resource": ARM} if version is None else {"api-version": version, "resource": ARM}
    response = emulator_http.get(catalog.IDENTITY_TOKEN_PATH, params=params)
    assert response.status_code == 400
    assert response.json()["newest-versions"] == ["2025-04-07", "2024-07-17", "2024-03-15"]


def test_an_sdk_probe_without_the_metadata_header_gets_a_400_answer(emulator):
    """azure-identity's probe sends no Metadata header: any HTTP answer means IMDS is there."""
    with httpx.Client(verify=False, base_url=emulator.url, trust_env=False, timeout=5) as bare:
        response = get_token(bare, resource=ARM)
    assert response.status_code == 400 and "Required metadata header not specified" in response.text


def test_post_is_405(emulator_http):
    response = emulator_http.post(catalog.IDENTITY_TOKEN_PATH,
                                  params={"api-version": "2018-02-01", "resource": ARM})
    assert (response.status_code, response.headers["Allow"]) == (405, "GET")


def test_faults_reach_the_identity_endpoint(emulator, emulator_http):
    emulator.add_fault("410@" + catalog.IDENTITY_TOKEN_PATH)
    assert [get_token(emulator_http, resource=ARM).status_code for _ in range(2)] == [410, 200]


def test_missing_metadata_header_gets_the_identity_error_body(emulator):
    with httpx.Client(verify=False, base_url=emulator.url, trust_env=False, timeout=5) as bare:
        response = get_token(bare, resource=ARM)
    assert (response.status_code, response.json()) == (400, {
        "error": "invalid_request", "error_description": "Required metadata header not specified"})


def test_identity_has_its_own_rate_limit_of_20_per_second(imds_emulator_factory):
    emulator = imds_emulator_factory(throttle=True)
    with httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true"},
                      trust_env=False) as emulator_http:
        statuses = [get_token(emulator_http, resource=ARM).status_code for _ in range(21)]
        throttled = get_token(emulator_http, resource=ARM)
        instance = emulator_http.get(catalog.INSTANCE_PATH,
                                     params={"api-version": catalog.DEFAULT_API_VERSION})
    assert statuses[:20] == [200] * 20  # more than the general 5 per second
    assert (throttled.status_code, throttled.json()) == (429, {
        "error": "invalid_request", "error_description": "Temporarily throttled, too many requests"})
    assert instance.status_code == 200  # its own bucket


# -- 5 concurrent requests -----------------------------------------------------------------------

TOKEN_QUERY = f"api-version={catalog.IDENTITY_API_VERSION}&resource={ARM}"
THROTTLED = {"error": "invalid_request", "error_description": "Temporarily throttled, too many requests"}


def token_request(client="10.0.0.4", path=catalog.IDENTITY_TOKEN_PATH, query=TOKEN_QUERY):
    return messages.Request("GET", path, tuple(path.strip("/").split("/")), query,
                            tuple(parse_qsl(query)), {"Metadata": "true"}, client=client)


def slow_service(now, seconds=2.0, throttle=True):
    """A Service whose identity answers are due ``seconds`` after they are asked
    (a delay fault: a slow token issuance), on the fake clock ``now``."""
    return Service(LINUX, throttle=Throttle(clock=lambda: now[0]) if throttle else None,
                   faults=FaultPlan([Fault.parse(f"delay={seconds}*inf@/metadata/identity")]))


def test_identity_allows_5_requests_in_flight_then_answers_429():
    now = [100.0]
    service = slow_service(now)
    answers = [service.handle(token_request()) for _ in range(6)]
    assert [a.status for a in answers] == [200] * 5 + [429]
    assert json.loads(answers[5].body) == THROTTLED
    assert service.handle(token_request(client="10.0.0.5")).status == 200  # per client, as the rate
    info = token_request(path=catalog.IDENTITY_INFO_PATH, query=f"api-version={catalog.IDENTITY_API_VERSION}")
    assert service.handle(info).status == 200  # per family, as the rate
    now[0] = 101.5  # a second later the rate allows more, but the five are still in flight
    assert service.handle(token_request()).status == 429
    now[0] = 102.0  # their answers were due: none in flight
    assert [service.handle(token_request()).status for _ in range(5)] == [200] * 5


def test_requests_answered_at_once_are_never_in_flight_together():
    now = [100.0]
    service = Service(LINUX, throttle=Throttle(clock=lambda: now[0]))
    statuses = []
    for _ in range(40):
        statuses.append(service.handle(token_request()).status)
        now[0] += 0.06  # under the 20 per second
    assert set(statuses) == {200}


def test_no_throttle_means_no_concurrency_limit_either():
    service = slow_service([100.0], throttle=False)
    assert {service.handle(token_request()).status for _ in range(12)} == {200}


def test_the_throttle_counts_flights_by_key_and_bucket():
    now = [10.0]
    throttle = Throttle(rate=100, clock=lambda: now[0])
    assert all(throttle.admit("a", concurrent=2, key=k) for k in ("k1", "k2"))
    assert not throttle.admit("a", concurrent=2, key="k3")  # both still being answered
    assert throttle.admit("b", concurrent=2, key="k4")
    throttle.land("k1")  # answered at once
    assert throttle.admit("a", concurrent=2, key="k1")  # a key may come back (ids are reused)
    throttle.land("k1", after=5.0)
    throttle.land("k2", after=1.0)
    throttle.land("k1")  # landing a key again changes nothing
    assert not throttle.admit("a", concurrent=2, key="k5")
    now[0] = 11.0
    assert throttle.admit("a", concurrent=2, key="k5")
    throttle.reset()
    assert throttle.admit("a", concurrent=1, key="k6")


def test_the_limit_over_real_sockets(imds_emulator_factory):
    """Six token requests at once, each answered 0.5 s later: five 200s and one 429."""
    emulator = imds_emulator_factory(faults=["delay=0.5*inf@/metadata/identity/oauth2/token"])
    barrier = threading.Barrier(6)

    def ask(_):
        with httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true"}, trust_env=False,
                          timeout=10) as client:
            barrier.wait(5)
            return get_token(client, resource=ARM).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(ask, range(6)))
    assert statuses == [200] * 5 + [429]


# -- refuse(): how the identity family words the service's refusals -------------------------------


@pytest.mark.parametrize("variant", ["invalid_request", "bad_request_102"])
def test_refuse_words_the_missing_header_as_the_profile_says(variant):
    section = dict(SECTION, metadataHeaderError=variant)
    profile = load_profile({"instance": LINUX.instance, "identity": section})
    refusal = identity_module.refuse(Service(profile), 400, messages.METADATA_HEADER)
    assert (refusal.status, json.loads(refusal.body)) == (400, {
        "error": variant, "error_description": "Required metadata header not specified"})


@pytest.mark.parametrize("status, message, code, description", [
    (429, messages.THROTTLED, "invalid_request", "Temporarily throttled, too many requests"),
    (405, "Http method isn't allowed", "method_not_allowed", "Http method isn't allowed"),
    (400, messages.FORWARDED, "invalid_request", messages.FORWARDED),
])
def test_refuse_is_oauth_shaped(status, message, code, description):
    refusal = identity_module.refuse(Service(LINUX), status, message)
    assert (refusal.status, json.loads(refusal.body)) == (status, {"error": code,
                                                                   "error_description": description})


# -- the profile section --------------------------------------------------------------------------


def test_builtin_profiles_default_identities():
    assert SYSTEM is not None and len(SECTION["userAssigned"]) == 1
    assert SECTION["metadataHeaderError"] == "invalid_request"
    assert load_profile("linux-2017").identity is None


@pytest.mark.parametrize("section, complaint", [
    ([], "identity: expected a JSON object or null"),
    ({"tenantId": TENANT, "extra": 1}, "identity: unknown key 'extra'"),
    ({}, "identity/tenantId: expected a GUID string, got null"),
    ({"tenantId": "contoso"}, "identity/tenantId: expected a GUID string"),
    ({"tenantId": TENANT, "systemAssigned": True}, "identity/systemAssigned: expected an object with"),
    ({"tenantId": TENANT, "systemAssigned": {"clientId": SYSTEM["clientId"]}}, "exactly clientId, objectId"),
    ({"tenantId": TENANT, "userAssigned": USER}, "identity/userAssigned: expected a JSON list"),
    ({"tenantId": TENANT, "userAssigned": [dict(USER, objectId="x")]},
     "identity/userAssigned/0/objectId: expected a GUID string"),
    ({"tenantId": TENANT, "userAssigned": [dict(USER, resourceId="id-web-01")]},
     "identity/userAssigned/0/resourceId: expected /subscriptions/"),
    ({"tenantId": TENANT, "userAssigned": [USER, dict(TWO_USERS[1], clientId=USER["clientId"].upper())]},
     "two identities have the same clientId"),
    ({"tenantId": TENANT, "systemAssigned": {"clientId": USER["clientId"], "objectId": SYSTEM["objectId"]},
      "userAssigned": [USER]}, "two identities have the same clientId"),
    ({"tenantId": TENANT, "metadataHeaderError": "bad_request"}, "metadataHeaderError: expected one of"),
])
def test_bad_identity_sections_are_refused(section, complaint):
    with pytest.raises(ProfileError) as caught:
        load_profile({"instance": LINUX.instance, "identity": section})
    assert complaint in str(caught.value)
    assert str(caught.value).startswith("<dict>: identity")


# -- fuzz ---------------------------------------------------------------------------------------

PARAM_NAMES = st.sampled_from(["resource", "client_id", "object_id", "msi_res_id", "mi_res_id",
                               "bypass_cache"])
PARAM_VALUES = st.sampled_from([ARM, "", SYSTEM["clientId"], USER["objectId"], USER["resourceId"],
                                "/.default"]) | st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF),
                                                        max_size=12)


@pytest.fixture(scope="module")
def fuzz_target():
    """One emulator and one client for every example (a client per example costs more than the test)."""
    with Emulator(throttle=False) as emulator, \
            httpx.Client(base_url=emulator.url, headers={"Metadata": "true"}, trust_env=False, timeout=5,
                         verify=False) as client:
        yield client


@settings(max_examples=150, deadline=2000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=4))
def test_fuzz_the_token_endpoint_answers_json_and_never_5xx(fuzz_target, params):
    response = fuzz_target.get(catalog.IDENTITY_TOKEN_PATH, params=[("api-version", "2018-02-01"), *params])
    body = response.json()
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert set(body) == KEYS and all(isinstance(v, str) for v in body.values())
    else:
        assert isinstance(body["error"], str)
