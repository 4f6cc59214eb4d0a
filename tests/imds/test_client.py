"""ImdsClient against pytest-httpx: headers, proxies, retries, validation.

The default endpoint (http://169.254.169.254) is used on purpose here: httpx_mock
answers every request in-process, so nothing leaves the test.
"""

from __future__ import annotations

import httpx
import pytest

from imdsctl import catalog
from imdsctl.errors import (
    ExitCode,
    ImdsNotFoundError,
    NotImdsError,
    RefusedError,
    UnavailableError,
    UnreachableError,
    UsageError,
)
from imdsctl.imds.client import ImdsClient
from tests.lib.helpers import BASE

V = catalog.DEFAULT_API_VERSION
VMID_URL = f"{BASE}/metadata/instance/compute/vmId?api-version={V}&format=text"
DOC_URL = f"{BASE}/metadata/instance?api-version={V}"
VMID = "02aab8a4-74ef-476e-8182-f6d2ba4166a6"
NEWEST = {"error": "Bad request. api-version is invalid or was not specified in the request. "
                   "For more information refer to aka.ms/azureimds",
          "newest-versions": ["2024-07-17", "2024-03-15", "2023-11-15"]}


@pytest.fixture
def make(fake_time):
    clients = []

    def factory(**kwargs) -> ImdsClient:
        kwargs.setdefault("endpoint", BASE)
        kwargs.setdefault("timeout", 30)
        client = ImdsClient(sleep=fake_time.sleep, clock=fake_time.clock,
                            jitter=lambda: 0.5, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def test_leaf_is_fetched_as_text_with_the_metadata_header(httpx_mock, make):
    httpx_mock.add_response(url=VMID_URL, text=VMID, headers={"content-type": "text/plain"})
    assert make().leaf("compute/vmId") == VMID
    request = httpx_mock.get_request()
    assert request.headers["Metadata"] == "true"
    assert "X-Forwarded-For" not in request.headers
    assert request.headers["User-Agent"].startswith("imdsctl/")


def test_container_is_fetched_as_json(httpx_mock, make):
    httpx_mock.add_response(url=DOC_URL, json={"compute": {"vmId": VMID}})
    assert make().instance() == {"compute": {"vmId": VMID}}


def test_proxy_variables_are_ignored(httpx_mock, make, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    client = make()
    assert client._http._mounts == {}, "no proxy transport may be mounted"
    assert client.leaf("compute/vmId") == VMID
    assert httpx_mock.get_request().url.host == "169.254.169.254"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_not_followed(httpx_mock, make, status):
    httpx_mock.add_response(url=VMID_URL, status_code=status,
                            headers={"location": "http://portal.example/login"})
    with pytest.raises(NotImdsError, match="redirected") as info:
        make().leaf("compute/vmId")
    assert info.value.exit_code == ExitCode.NOT_IMDS
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize("status", [200, 403, 502])
def test_html_page_is_not_imds(httpx_mock, make, status):
    httpx_mock.add_response(url=DOC_URL, status_code=status, text="<html><body>Sign in</body></html>",
                            headers={"content-type": "text/html"})
    with pytest.raises(NotImdsError, match="HTML"):
        make().instance()
    assert len(httpx_mock.get_requests()) == 1, "an HTML answer is never retried"


def test_malformed_json_is_not_imds(httpx_mock, make):
    httpx_mock.add_response(url=DOC_URL, text="compute: yes")
    with pytest.raises(NotImdsError, match="not JSON"):
        make().instance()


@pytest.mark.parametrize("declared", [True, False])
def test_oversized_body_is_not_imds(httpx_mock, make, declared):
    body = b'{"compute":"' + b"x" * 2048 + b'"}'
    headers = {} if declared else {"transfer-encoding": "chunked"}
    httpx_mock.add_response(url=DOC_URL, content=body, headers=headers)
    with pytest.raises(NotImdsError, match="cap"):
        make(max_body=1024).instance()


def test_not_utf8_text_is_not_imds(httpx_mock, make):
    httpx_mock.add_response(url=VMID_URL, content=b"\xff\xfe\x00")
    with pytest.raises(NotImdsError, match="UTF-8"):
        make().leaf("compute/vmId")


@pytest.mark.parametrize("status", [410, 429, 500, 502, 503, 504])
def test_retryable_status_is_retried(httpx_mock, make, fake_time, status):
    httpx_mock.add_response(url=VMID_URL, status_code=status, json={"error": "busy"})
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    assert make().leaf("compute/vmId") == VMID
    assert len(httpx_mock.get_requests()) == 2
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize("exc", [
    httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    httpx.ReadError("Connection reset by peer"),
])
def test_broken_answers_until_the_budget_ends_are_unavailable_not_unreachable(httpx_mock, make, exc):
    httpx_mock.add_exception(exc, is_reusable=True)
    with pytest.raises(UnavailableError, match="dropped or answer truncated"):
        make(timeout=3).leaf("compute/vmId")


@pytest.mark.parametrize("exc", [
    httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    httpx.ReadError("reset"),
])
def test_transport_failures_are_retried(httpx_mock, make, exc):
    httpx_mock.add_exception(exc, url=VMID_URL)
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    assert make().leaf("compute/vmId") == VMID


@pytest.mark.parametrize("status,error", [
    (400, RefusedError), (403, RefusedError), (405, RefusedError), (401, RefusedError),
    (404, ImdsNotFoundError),
])
def test_other_4xx_are_never_retried(httpx_mock, make, fake_time, status, error):
    httpx_mock.add_response(url=VMID_URL, status_code=status, json={"error": "nope"})
    with pytest.raises(error, match="nope") as info:
        make().leaf("compute/vmId")
    assert info.value.status == status
    assert len(httpx_mock.get_requests()) == 1
    assert fake_time.sleeps == []


def test_410_storm_ends_in_unavailable_within_budget(httpx_mock, make, fake_time):
    httpx_mock.add_response(url=VMID_URL, status_code=410, is_reusable=True)
    with pytest.raises(UnavailableError, match="410") as info:
        make(timeout=20).leaf("compute/vmId")
    assert info.value.exit_code == ExitCode.UNAVAILABLE
    assert sum(fake_time.sleeps) <= 20
    assert len(httpx_mock.get_requests()) >= 5
    # exponential: each back-off at least as long as the one before, capped
    assert fake_time.sleeps == sorted(fake_time.sleeps)
    assert max(fake_time.sleeps) <= 8.0


def test_unreachable_ends_in_exit_6_within_budget(httpx_mock, make, fake_time):
    httpx_mock.add_exception(httpx.ConnectTimeout("timed out"), is_reusable=True)
    with pytest.raises(UnreachableError, match="did not answer") as info:
        make(timeout=5).leaf("compute/vmId")
    assert info.value.exit_code == ExitCode.UNREACHABLE
    assert sum(fake_time.sleeps) <= 5


def test_answer_then_silence_counts_as_unavailable(httpx_mock, make):
    httpx_mock.add_response(url=VMID_URL, status_code=503)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), is_reusable=True)
    with pytest.raises(UnavailableError):
        make(timeout=3).leaf("compute/vmId")


def test_retry_after_is_honoured(httpx_mock, make, fake_time):
    httpx_mock.add_response(url=VMID_URL, status_code=429, headers={"retry-after": "3"})
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    make().leaf("compute/vmId")
    assert fake_time.sleeps == [3.0]


@pytest.mark.parametrize("value", [b"\xb2", b"\xd9\xa1", b"1e3", b"-1", b"soon"])
def test_a_retry_after_that_is_not_ascii_seconds_is_ignored(httpx_mock, make, fake_time, value):
    """'\xb2' (superscript two) passed str.isdigit() and failed float(): exit 1 before."""
    httpx_mock.add_response(url=VMID_URL, status_code=429, headers=[(b"Retry-After", value)])
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    assert make().leaf("compute/vmId") == VMID
    assert len(fake_time.sleeps) == 1 and fake_time.sleeps[0] < 1


def test_timeouts_are_bounded_by_the_budget(httpx_mock, make, fake_time):
    httpx_mock.add_response(url=VMID_URL, status_code=500)
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    make(timeout=10, connect_timeout=2).leaf("compute/vmId")
    first, second = httpx_mock.get_requests()
    assert first.extensions["timeout"] == {"connect": 2, "read": 10, "write": 10, "pool": 10}
    left = 10 - fake_time.sleeps[0]
    assert second.extensions["timeout"]["read"] == pytest.approx(left)


def test_default_version_falls_back_once_to_newest_listed(httpx_mock, make):
    httpx_mock.add_response(url=VMID_URL, status_code=400, json=NEWEST)
    fallback = f"{BASE}/metadata/instance/compute/vmId?api-version=2024-07-17&format=text"
    httpx_mock.add_response(url=fallback, text=VMID)
    client = make()
    assert client.leaf("compute/vmId") == VMID
    assert client.api_version == "2024-07-17"


def test_fallback_happens_only_once(httpx_mock, make):
    httpx_mock.add_response(status_code=400, json=NEWEST, is_reusable=True)
    with pytest.raises(RefusedError, match="offers 2024-07-17"):
        make().leaf("compute/vmId")
    assert len(httpx_mock.get_requests()) == 2


def test_explicit_version_is_never_changed(httpx_mock, make):
    url = f"{BASE}/metadata/instance/compute/vmId?api-version=2099-01-01&format=text"
    httpx_mock.add_response(url=url, status_code=400, json=NEWEST)
    with pytest.raises(RefusedError) as info:
        make(api_version="2099-01-01").leaf("compute/vmId")
    assert "2024-07-17, 2024-03-15, 2023-11-15" in info.value.message
    assert info.value.exit_code == ExitCode.REFUSED
    assert len(httpx_mock.get_requests()) == 1


def test_latest_resolves_from_versions(httpx_mock, make):
    httpx_mock.add_response(url=f"{BASE}/metadata/versions",
                            json={"apiVersions": ["2019-06-01", "2025-04-07", "2021-01-01"]})
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    assert make(api_version="latest").leaf("compute/vmId") == VMID
    assert httpx_mock.get_requests()[0].headers["Metadata"] == "true"


def test_versions_are_sorted_and_validated(httpx_mock, make):
    httpx_mock.add_response(url=f"{BASE}/metadata/versions",
                            json={"apiVersions": ["2021-01-01", "2017-04-02"]})
    assert make().versions() == ["2017-04-02", "2021-01-01"]
    httpx_mock.add_response(url=f"{BASE}/metadata/versions", json={"versions": []})
    with pytest.raises(NotImdsError):
        make().versions()


def test_error_text_from_identity_style_body(httpx_mock, make):
    httpx_mock.add_response(status_code=400, json={"error": "invalid_request",
                                                   "error_description": "Identity not found"})
    with pytest.raises(RefusedError, match="invalid_request: Identity not found"):
        make().instance()


@pytest.mark.parametrize("endpoint", ["169.254.169.254", "ftp://x", "http://127.0.0.1:99999", "http://"])
def test_bad_endpoint_is_a_usage_error(endpoint):
    with pytest.raises(UsageError):
        ImdsClient(endpoint)


def test_debug_lines_tell_requests_and_retries(httpx_mock, make):
    lines = []
    httpx_mock.add_response(url=VMID_URL, status_code=410)
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    make(debug=lines.append).leaf("compute/vmId")
    assert any("-> 410" in line for line in lines)
    assert any(line.startswith("retrying GET /metadata/instance/compute/vmId in") for line in lines)
    assert any("-> 200" in line for line in lines)


def test_guard_stops_real_imds_traffic():
    """The autouse guard fails a test before it can connect to the real IMDS."""
    import socket

    with pytest.raises(pytest.fail.Exception, match="169.254.169.254"):
        socket.create_connection(("169.254.169.254", 80), timeout=0.1)


def test_reset_budget_starts_a_new_budget(httpx_mock, make, fake_time):
    httpx_mock.add_response(url=VMID_URL, text=VMID, is_reusable=True)
    client = make(timeout=5)
    fake_time.now += 10
    assert client.remaining() == -5
    client.reset_budget()
    assert client.remaining() == 5
    client.reset_budget(60)
    assert client.remaining() == 60 and client.leaf("compute/vmId") == VMID


def test_nothing_listening_fails_fast_instead_of_spending_the_budget(httpx_mock, make, fake_time):
    httpx_mock.add_exception(httpx.ConnectError("Connection refused"), is_reusable=True)
    with pytest.raises(UnreachableError, match=r"3 attempt\(s\)"):
        make(timeout=30).leaf("compute/vmId")
    assert len(httpx_mock.get_requests()) == 3
    assert sum(fake_time.sleeps) < 2


def test_once_imds_has_answered_connection_errors_are_retried_for_the_budget(httpx_mock, make, fake_time):
    httpx_mock.add_response(url=VMID_URL, text=VMID)
    httpx_mock.add_exception(httpx.ConnectError("Connection refused"), is_reusable=True)
    client = make(timeout=20)
    assert client.leaf("compute/vmId") == VMID
    with pytest.raises(UnreachableError):
        client.leaf("compute/vmId")
    assert len(httpx_mock.get_requests()) > 5
    assert sum(fake_time.sleeps) > 10


def test_patient_clients_retry_connection_errors_for_the_budget(httpx_mock, make, fake_time):
    httpx_mock.add_exception(httpx.ConnectTimeout("timed out"), is_reusable=True)
    with pytest.raises(UnreachableError):
        make(timeout=20, connect_attempts=None).leaf("compute/vmId")
    assert len(httpx_mock.get_requests()) > 5
