"""The transport: keep-alive, concurrency, shutdown, malformed requests, the
Python API, and a bounded fuzz run."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imdsctl.catalog import DEFAULT_API_VERSION, INSTANCE_PATH, INSTANCE_VERSIONS, VERSIONS_PATH
from imdsctl.emulator import Emulator

V = DEFAULT_API_VERSION
VM_ID = f"{INSTANCE_PATH}/compute/vmId?api-version={V}&format=text"
HEADERS = {"Metadata": "true"}


def raw(emulator, data, timeout=5):
    """Send raw bytes; everything the server sends back until it closes."""
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=timeout) as sock:
        sock.sendall(data)
        return b"".join(iter(lambda: sock.recv(65536), b""))


@pytest.fixture
def emulator(imds_emulator_factory):
    return imds_emulator_factory(throttle=False)


# -- keep-alive and concurrency ---------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(emulator):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    targets = [VM_ID, VERSIONS_PATH, INSTANCE_PATH, f"{INSTANCE_PATH}/nothing?api-version={V}",
               f"{INSTANCE_PATH}/compute/vmId?api-version={V}"] * 4
    statuses = []
    sock = None
    for target in targets:
        connection.request("GET", target, headers=HEADERS)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        sock = sock or connection.sock
        assert connection.sock is sock and not response.will_close
    assert statuses == [200, 200, 400, 404, 400] * 4
    connection.close()


def test_request_bodies_are_consumed(emulator):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    connection.request("GET", VM_ID, body=b"ignored body", headers=HEADERS)
    assert connection.getresponse().read() == b"02aab8a4-74ef-476e-8182-f6d2ba4166a6"
    connection.request("GET", VM_ID, headers=HEADERS)
    assert connection.getresponse().status == 200


def test_concurrent_clients(emulator):
    def client(n):
        connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
        bodies = set()
        for i in range(25):
            version = INSTANCE_VERSIONS[(n + i) % len(INSTANCE_VERSIONS)]
            connection.request("GET", f"{INSTANCE_PATH}/compute/vmId?api-version={version}&format=text",
                               headers=HEADERS)
            response = connection.getresponse()
            bodies.add((response.status, response.read()))
        connection.close()
        return bodies

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = set().union(*pool.map(client, range(16)))
    assert results == {(200, b"02aab8a4-74ef-476e-8182-f6d2ba4166a6")}
    assert len(emulator.requests) == 16 * 25


# -- shutdown ---------------------------------------------------------------------------


def test_stop_closes_everything():
    before = set(threading.enumerate())
    emulator = Emulator(throttle=False).start()
    port = emulator.port
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    idle.request("GET", VM_ID, headers=HEADERS)
    idle.getresponse().read()
    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 1
    assert idle.sock.recv(1) == b""  # the idle keep-alive connection was closed
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    emulator.stop()  # twice is harmless


def test_stop_interrupts_a_delayed_answer():
    emulator = Emulator(throttle=False, faults=["delay=30"]).start()
    errors = []

    def client():
        try:
            raw(emulator, f"GET {VM_ID} HTTP/1.1\r\nMetadata: true\r\n\r\n".encode(), timeout=10)
        except OSError as exc:
            errors.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    while not emulator.requests:
        time.sleep(0.01)
    started = time.monotonic()
    emulator.stop()
    thread.join(5)
    assert time.monotonic() - started < 2 and not thread.is_alive()


def test_emulator_api():
    emulator = Emulator("windows-sql-2017", throttle=False)
    assert repr(emulator) == "<Emulator windows-sql-2017 stopped>"
    with pytest.raises(RuntimeError, match="not running"):
        emulator.url  # noqa: B018
    with emulator:
        assert emulator.url == f"http://127.0.0.1:{emulator.port}"
        assert emulator.environment == {"IMDSCTL_ENDPOINT": emulator.url,
                                        "AZURE_POD_IDENTITY_AUTHORITY_HOST": emulator.url}
        with pytest.raises(RuntimeError, match="already running"):
            emulator.start()
    with emulator.start():  # restartable
        connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
        connection.request("GET", f"{INSTANCE_PATH}/compute/name?api-version={V}&format=text",
                           headers=HEADERS)
        assert connection.getresponse().read() == b"SQLTest"
        emulator.clear_requests()
        assert emulator.requests == []


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        emulator = Emulator(host="::1", throttle=False).start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    with emulator:
        assert emulator.url.startswith("http://[::1]:")
        connection = http.client.HTTPConnection("::1", emulator.port, timeout=5)
        connection.request("GET", VERSIONS_PATH, headers=HEADERS)
        assert connection.getresponse().status == 200


def test_verbose_logs_requests_to_stderr(capfd):
    with Emulator(throttle=False, verbose=True) as emulator:
        raw(emulator, f"GET {VM_ID} HTTP/1.1\r\nMetadata: true\r\nConnection: close\r\n\r\n".encode())
    assert f'"GET {VM_ID} HTTP/1.1" 200 36' in capfd.readouterr().err


def test_quiet_by_default(capfd, emulator):
    raw(emulator, b"garbage\r\n\r\n")
    emulator.add_fault("reset")
    with pytest.raises(ConnectionResetError):
        raw(emulator, f"GET {VM_ID} HTTP/1.1\r\n\r\n".encode())
    assert capfd.readouterr() == ("", "")


# -- malformed requests: JSON 4xx from the transport, never a 5xx ------------------------------


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"garbage\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nContent-Length: lots\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 1_0\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
])
def test_malformed_requests(emulator, request_bytes, status):
    reply = raw(emulator, request_bytes)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Content-Type: application/json; charset=utf-8" in head
    assert "error" in json.loads(body)


# -- fuzz -------------------------------------------------------------------------------------

WORDS = ["metadata", "instance", "compute", "network", "interface", "ipv4", "ipAddress", "0", "1", "01",
         "vmId", "tagsList", "versions", "loadbalancer", "scheduledevents", "identity", "_emulator",
         "faults", "", "..", "%2F", "%00", "%ff", "é"]
TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=8)
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"),
                      max_size=12)
SAFE = "%/:@!$&'()*+,;=-._~"


@pytest.fixture(scope="module")
def fuzz_target():
    with Emulator(throttle=False) as emulator:
        yield emulator


@settings(max_examples=200, deadline=2000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "GET", "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "BREW"]),
    segments=st.lists(st.sampled_from(WORDS) | TEXT, max_size=7),
    slash=st.booleans(),
    params=st.lists(st.tuples(st.sampled_from(["api-version", "format", "nonce", "x"]) | TEXT,
                              st.sampled_from([V, "2017-03-01", "2019-06-04", "json", "text", ""]) | TEXT),
                    max_size=4),
    metadata=st.none() | st.sampled_from(["true", "True", "false"]) | HEADER_TEXT,
    forwarded=st.booleans(),
    body=st.none() | st.binary(max_size=64),
)
def test_fuzz_never_a_5xx_nor_a_dropped_connection(fuzz_target, method, segments, slash, params, metadata,
                                                     forwarded, body):
    path = "/" + "/".join(quote(s, safe=SAFE) for s in segments) + ("/" if slash else "")
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    headers = {} if metadata is None else {"Metadata": metadata}
    if forwarded:
        headers["X-Forwarded-For"] = "10.0.0.1"
    connection = http.client.HTTPConnection("127.0.0.1", fuzz_target.port, timeout=5)
    try:
        connection.request(method, path + ("?" + query if query else ""), body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    assert 200 <= response.status < 500
    if method != "HEAD":
        assert len(content) == int(response.getheader("Content-Length"))
        if response.getheader("Content-Type").startswith("application/json"):
            json.loads(content)


def test_fuzz_target_still_serves(fuzz_target):
    connection = http.client.HTTPConnection("127.0.0.1", fuzz_target.port, timeout=5)
    connection.request("GET", VM_ID, headers=HEADERS)
    assert connection.getresponse().status == 200
