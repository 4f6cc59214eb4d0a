"""`imdsctl identity token|info` against pytest-httpx: the request, the output,
every error path and exit code.

IMDSCTL_ENDPOINT is the real IMDS address on purpose: httpx_mock answers in-process.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from imdsctl import catalog
from tests.lib.helpers import BASE, ok

TOKEN_URL = BASE + catalog.IDENTITY_TOKEN_PATH
INFO_URL = BASE + catalog.IDENTITY_INFO_PATH
ARM = "https://management.azure.com/"
CLIENT_ID = "be5947ed-3560-4afe-9504-59967a63f810"
OBJECT_ID = "0f3c6e9a-2d5b-4c8f-b1e7-6a4d9c2f5e83"
MSI_RES_ID = ("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-web/providers/"
              "Microsoft.ManagedIdentity/userAssignedIdentities/id-web-01")
SECRET = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJl"
ANSWER = {
    "access_token": SECRET,
    "client_id": CLIENT_ID,
    "expires_in": "86399",
    "expires_on": "1541705014",
    "ext_expires_in": "86399",
    "not_before": "1541618314",
    "resource": ARM,
    "token_type": "Bearer",
}
NOT_FOUND = {"error": "invalid_request", "error_description": "Identity not found"}
THROTTLED = {"error": "invalid_request", "error_description": "Temporarily throttled, too many requests"}
TENANT = "aaaabbbb-0000-cccc-1111-dddd2222eeee"





def sent(request: httpx.Request) -> dict:
    """The query of a request, one value per name (all of them, to see repeats)."""
    return {k: v if len(v) > 1 else v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def token(*args: str):
    return ("identity", "token", "--resource", ARM, *args)


# -- token: the request and the output ----------------------------------------------


def test_token_piped_is_the_json_imds_sent(imds, run):
    imds.add_response(json=ANSWER)
    result = ok(run(*token()))
    assert json.loads(result.stdout) == ANSWER
    assert result.stderr == ""
    request = imds.get_request()
    assert (request.method, request.url.path) == ("GET", catalog.IDENTITY_TOKEN_PATH)
    assert sent(request) == {"api-version": "2018-02-01", "resource": ARM}
    assert request.headers["Metadata"] == "true"


def test_token_script_idiom_prints_the_bare_token(imds, run):
    imds.add_response(json=ANSWER)
    assert ok(run(*token("-q", "access_token", "-o", "tsv"))).stdout == SECRET + "\n"


def test_token_as_env_variables(imds, run):
    imds.add_response(json=ANSWER)
    lines = ok(run(*token("-o", "env"))).stdout.splitlines()
    assert f"IMDS_ACCESS_TOKEN='{SECRET}'" in lines
    assert "IMDS_EXPIRES_ON='1541705014'" in lines


@pytest.mark.parametrize("option, param, value", [
    ("--client-id", "client_id", CLIENT_ID),
    ("--object-id", "object_id", OBJECT_ID),
    ("--msi-res-id", "msi_res_id", MSI_RES_ID),
])
def test_token_selector_becomes_its_query_parameter(imds, run, option, param, value):
    imds.add_response(json=ANSWER)
    ok(run(*token(option, value)))
    assert sent(imds.get_request()) == {"api-version": "2018-02-01", "resource": ARM, param: value}


def test_token_scope_is_trimmed_to_a_resource_as_the_sdks_do(imds, run):
    imds.add_response(json=ANSWER)
    ok(run("identity", "token", "--resource", "https://vault.azure.net/.default"))
    assert sent(imds.get_request())["resource"] == "https://vault.azure.net"


def test_token_on_a_terminal_is_masked_unless_show_token(imds, run, monkeypatch):
    monkeypatch.setattr("imdsctl.ui.render.is_terminal", lambda stream=None: True)
    imds.add_response(json=ANSWER, is_reusable=True)
    masked = json.loads(ok(run(*token("-o", "json"))).stdout)
    assert masked == dict(ANSWER, access_token=f"eyJ0…({len(SECRET)} chars; --show-token to print)")
    assert SECRET not in ok(run(*token("-q", "access_token", "-o", "tsv"))).stdout
    assert json.loads(ok(run(*token("-o", "json", "--show-token"))).stdout) == ANSWER


def test_debug_never_shows_the_token(imds, run):
    imds.add_response(status_code=500, json={"error": "unknown"})
    imds.add_response(json=ANSWER)
    result = ok(run(*token("--debug", "-o", "none")))
    assert "-> 500" in result.stderr and "-> 200" in result.stderr
    assert "resource=https%3A%2F%2Fmanagement.azure.com%2F" in result.stderr
    assert SECRET[:20] not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("status, body", [
    (500, ANSWER),  # a broken IMDS echoing a token in its error
    (503, {"error": "x", "error_description": "token " + SECRET}),
    (500, {"message": "Bearer " + SECRET}),
])
def test_debug_shows_the_status_line_of_an_identity_failure_never_its_body(imds, run, status, body):
    for _ in range(3):
        imds.add_response(status_code=status, json=body)
    imds.add_response(json=ANSWER)
    result = run(*token("--debug", "-o", "none", "--timeout", "30"))
    assert result.exit_code == 0, result.stderr
    assert f"({status} " in result.stderr and "retrying" in result.stderr
    assert SECRET[:12] not in result.stderr


def test_an_identity_failure_that_lasts_is_said_without_its_body(imds, run):
    imds.add_response(status_code=500, json=ANSWER, is_reusable=True)
    result = run(*token("--debug", "--timeout", "1"))
    assert result.exit_code != 0 and "500" in result.stderr
    assert SECRET[:12] not in result.stderr


# -- token: api-version -----------------------------------------------------------------


def test_token_ignores_the_instance_api_version_of_the_environment(imds, run, monkeypatch):
    monkeypatch.setenv("IMDSCTL_API_VERSION", "2017-12-01")
    imds.add_response(json=ANSWER)
    ok(run(*token()))
    assert sent(imds.get_request())["api-version"] == catalog.IDENTITY_API_VERSION


def test_token_honours_an_explicit_api_version(imds, run):
    imds.add_response(json=ANSWER)
    ok(run(*token("--api-version", "2023-07-01")))
    assert sent(imds.get_request())["api-version"] == "2023-07-01"


def test_token_explicit_api_version_refused_lists_what_imds_offers(imds, run):
    imds.add_response(status_code=400, json={"error": "Bad request. api-version is invalid",
                                             "newest-versions": ["2025-04-07", "2024-07-17"]})
    result = ok(run(*token("--api-version", "2017-12-01")), 4)
    assert result.stderr.splitlines() == [
        "imdsctl: IMDS refused api-version 2017-12-01 for GET /metadata/identity/oauth2/token "
        "(400 Bad request. api-version is invalid)",
        "hint: it offers 2025-04-07, 2024-07-17; leave --api-version out to use 2018-02-01",
    ]
    assert len(imds.get_requests()) == 1


def test_token_api_version_latest_is_a_usage_error_before_any_request(imds, run):
    result = ok(run(*token("--api-version", "latest")), 2)
    assert "--api-version latest" in result.stderr
    assert imds.get_requests() == []


# -- token: usage errors (exit 2, no request) ----------------------------------------------


@pytest.mark.parametrize("args", [
    ("--client-id", CLIENT_ID, "--object-id", OBJECT_ID),
    ("--client-id", CLIENT_ID, "--msi-res-id", MSI_RES_ID),
    ("--object-id", OBJECT_ID, "--msi-res-id", MSI_RES_ID),
    ("--client-id", CLIENT_ID, "--object-id", OBJECT_ID, "--msi-res-id", MSI_RES_ID),
])
def test_token_selectors_are_mutually_exclusive(imds, run, args):
    result = ok(run(*token(*args)), 2)
    message, hint = result.stderr.splitlines()
    assert "mutually exclusive" in message
    assert hint == "hint: pass one of --client-id, --object-id, --msi-res-id, or none"
    assert imds.get_requests() == []


@pytest.mark.parametrize("args, complaint", [
    (("identity", "token"), "Missing option '--resource'"),
    (("identity", "token", "--resource", ""), "--resource is empty"),
    (("identity", "token", "--resource", "/.default"), "--resource is empty"),
    (token("--client-id", "my-identity"), "'my-identity' is not a GUID"),
    (token("--object-id", "1234"), "'1234' is not a GUID"),
    (token("--msi-res-id", "id-web-01"), "'id-web-01' is not an Azure resource id"),
])
def test_token_bad_arguments_exit_2_before_any_request(imds, run, args, complaint):
    result = ok(run(*args), 2)
    assert complaint in result.stderr
    assert imds.get_requests() == []


# -- token: refusals (exit 4) ----------------------------------------------------------------


def test_identity_not_found_without_a_selector_explains_the_causes(imds, run):
    imds.add_response(status_code=400, json=NOT_FOUND)
    result = ok(run(*token()), 4)
    assert result.stdout == ""
    message, hint = result.stderr.splitlines()
    assert message == ("imdsctl: IMDS has no managed identity to give a token for "
                       "(400 invalid_request: Identity not found)")
    assert "no system-assigned identity and not exactly one user-assigned" in hint
    assert "--client-id, --object-id or --msi-res-id" in hint and "few minutes" in hint
    assert len(imds.get_requests()) == 1  # a 400 is not retried


def test_identity_not_found_with_a_selector_names_the_identity(imds, run):
    imds.add_response(status_code=400, json=NOT_FOUND)
    message, hint = ok(run(*token("--msi-res-id", MSI_RES_ID)), 4).stderr.splitlines()
    assert message == (f"imdsctl: no managed identity with resource id {MSI_RES_ID} is assigned to this VM "
                       "(400 invalid_request: Identity not found)")
    assert "few minutes" in hint


def test_invalid_resource_is_explained(imds, run):
    description = ("AADSTS500011: The resource principal named https://nothing.example was not found in "
                   f"the tenant named {TENANT}. This can happen if the application has not been installed. "
                   "Trace ID: 1 Correlation ID: 2 Timestamp: 2025-01-01 00:00:00Z")
    imds.add_response(status_code=400, json={"error": "invalid_resource", "error_description": description,
                                             "error_codes": [500011]})
    result = ok(run("identity", "token", "--resource", "https://nothing.example"), 4)
    message, hint = result.stderr.splitlines()
    assert message == ("imdsctl: Microsoft Entra ID knows no resource https://nothing.example in this "
                       "tenant (400 invalid_resource: AADSTS500011: The resource principal named "
                       f"https://nothing.example was not found in the tenant named {TENANT}.)")
    assert hint.startswith("hint: --resource is the application ID URI of the target")


def test_other_oauth_errors_show_error_and_description(imds, run):
    imds.add_response(status_code=403, json={"error": "access_denied", "error_description": "Not for you"})
    result = ok(run(*token()), 4)
    assert result.stderr == ("imdsctl: IMDS refused GET /metadata/identity/oauth2/token "
                             "(403 access_denied: Not for you)\n")


# -- token: retries, exhaustion, transport ------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 429, 500, 503])
def test_token_retries_what_the_identity_endpoint_asks_to(imds, run, status):
    imds.add_response(status_code=status, json=THROTTLED if status == 429 else {"error": "updating"})
    imds.add_response(json=ANSWER)
    assert json.loads(ok(run(*token())).stdout) == ANSWER
    assert len(imds.get_requests()) == 2


def test_token_kept_throttled_exits_5_and_names_the_limit(imds, run):
    imds.add_response(status_code=429, json=THROTTLED, is_reusable=True)
    result = ok(run(*token("--timeout", "0.3")), 5)
    message, hint = result.stderr.splitlines()
    assert message.startswith("imdsctl: IMDS kept failing for GET /metadata/identity/oauth2/token "
                              "(429 Too Many Requests; ")  # an identity answer's body is never said
    assert "20 identity requests per second" in hint and "cache tokens until expires_on" in hint


def test_token_kept_updating_exits_5_not_3(imds, run):
    imds.add_response(status_code=404, json={"error": "not_found"}, is_reusable=True)
    result = ok(run(*token("--timeout", "0.3")), 5)
    assert result.stderr.splitlines()[1].startswith("hint: IMDS answers 404 while it is being updated")


def test_token_unreachable_exits_6(run):
    result = ok(run(*token("--timeout", "0.5")), 6)  # the guard's closed loopback port
    assert result.stderr.startswith("imdsctl: IMDS at http://127.0.0.1:")


@pytest.mark.parametrize("body", [b"not json but maybe " + SECRET.encode(), b'["a list"]',
                                  json.dumps({"token": SECRET}).encode()])
def test_token_answer_that_is_not_a_token_exits_7_without_quoting_it(imds, run, body):
    imds.add_response(content=body, headers={"Content-Type": "application/json"})
    result = ok(run(*token()), 7)
    assert result.stderr.startswith("imdsctl: GET /metadata/identity/oauth2/token returned "
                                    f"{len(body)} characters that are not a token answer")
    assert SECRET[:12] not in result.stderr and "not json" not in result.stderr


def test_token_internal_error_exits_1_without_the_token(imds, run, monkeypatch):
    def broken(stream=None):
        raise RuntimeError("boom")

    monkeypatch.setattr("imdsctl.ui.render.is_terminal", broken)
    imds.add_response(json=ANSWER)
    result = ok(run(*token()), 1)
    assert result.stderr.startswith("imdsctl: internal error: RuntimeError\n")
    assert SECRET not in result.stderr and result.stdout == ""


def test_token_interrupted_exits_130(imds, run, monkeypatch):
    def interrupted(stream=None):
        raise KeyboardInterrupt

    monkeypatch.setattr("imdsctl.ui.render.is_terminal", interrupted)
    imds.add_response(json=ANSWER)
    assert ok(run(*token()), 130).stderr == "imdsctl: interrupted\n"


# -- info -----------------------------------------------------------------------------------


def test_info(imds, run):
    imds.add_response(json={"tenantId": TENANT}, is_reusable=True)
    assert json.loads(ok(run("identity", "info")).stdout) == {"tenantId": TENANT}
    assert ok(run("identity", "info", "-q", "tenantId")).stdout == TENANT + "\n"
    request = imds.get_requests()[0]
    assert (request.url.path, sent(request)) == (catalog.IDENTITY_INFO_PATH, {"api-version": "2018-02-01"})


def test_info_without_an_identity_exits_4(imds, run):
    imds.add_response(status_code=400, json=NOT_FOUND)
    message, hint = ok(run("identity", "info"), 4).stderr.splitlines()
    assert message == ("imdsctl: IMDS reports no managed identity on this VM "
                       "(400 invalid_request: Identity not found)")
    assert hint.startswith("hint: assign one to the VM")


def test_info_404_is_not_retried_and_exits_3(imds, run):
    imds.add_response(status_code=404, json={"error": "Not found"})
    message, hint = ok(run("identity", "info"), 3).stderr.splitlines()
    assert message == "imdsctl: IMDS has no /metadata/identity/info (HTTP 404)"
    assert "'imdsctl identity token' does not need it" in hint
    assert len(imds.get_requests()) == 1


def test_info_retries_410_and_exits_5_when_it_lasts(imds, run):
    imds.add_response(status_code=410, is_reusable=True)
    ok(run("identity", "info", "--timeout", "0.3"), 5)
    assert len(imds.get_requests()) > 1


@pytest.mark.parametrize("body", [{"tenant": TENANT}, {"tenantId": 7}, ["x"]])
def test_info_without_a_tenant_exits_7(imds, run, body):
    imds.add_response(json=body)
    assert "returned JSON without a tenantId" in ok(run("identity", "info"), 7).stderr


def test_identity_help_lists_both_commands(run):
    result = ok(run("identity", "--help"))
    assert "token" in result.stdout and "info" in result.stdout and "20 token requests" in result.stdout
    example = " ".join(ok(run("identity", "token", "--help")).stdout.replace(" \\\n", " ").split())
    assert "-q access_token -o tsv" in example  # an example continued with " \\" reads as one line


def test_a_query_that_fails_on_the_token_exits_2_without_quoting_it(imds, run):
    imds.add_response(json=ANSWER)
    result = ok(run(*token("-q", "abs(access_token)")), 2)
    assert result.stderr.startswith("imdsctl: --query failed: abs() expects number, got string")
    assert SECRET not in result.stderr and result.stdout == ""
