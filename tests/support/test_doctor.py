"""`imdsctl doctor`: every check's verdicts and every exit code, against the
emulator and its faults, plus the environment readers it relies on (proxy
variables, NO_PROXY matching, routing tables).

IMDS's real address appears here in expected texts and in tests whose requests all go to
pytest-httpx's mock (the ``imds`` fixture, httpx_mock) with the TCP connect replaced; the
autouse guard of tests/conftest.py fails any test that tries to reach it for real."""

from __future__ import annotations

import json
import socket
import time

import pytest

from imdsctl import catalog
from imdsctl.support import doctor, facts
from tests.lib.helpers import BASE, ok

IMDS = catalog.IMDS_ADDRESS

CHECKS = ["endpoint", "platform", "container", "proxy", "route", "systemd-imds", "tcp-connect", "imds-answer",
          "instance", "api-version", "latency", "throttling", "interceptor", "identity-source", "wireserver",
          "user"]
#: The rows tests/support/test_doctor_mediated.py is about.
MEDIATED = {"platform", "container", "systemd-imds", "interceptor", "identity-source", "wireserver"}


@pytest.fixture(autouse=True)
def _no_mediation(tmp_path, monkeypatch):
    """An empty system root (no DMI, no container, no systemd-imds) and no WireServer to ask."""
    monkeypatch.setenv("IMDSCTL_SYSROOT", str(tmp_path / "sysroot"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    def no_wireserver(port, timeout):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("imdsctl.support.platform._ask_wireserver", no_wireserver)



def rows(result) -> dict:
    data = json.loads(result.stdout)
    assert [r["check"] for r in data] == CHECKS
    assert all(set(r) == {"check", "verdict", "detail", "remedy"} for r in data)
    assert all(r["verdict"] in ("ok", "warn", "fail", "skip") for r in data)
    return {r["check"]: r for r in data if r["check"] not in MEDIATED}


def verdicts(found: dict) -> dict:
    return {name: row["verdict"] for name, row in found.items()}


# -- against the emulator ---------------------------------------------------------------


def test_healthy(run, imds_emulator):
    found = rows(ok(run("doctor", "-o", "json")))
    assert verdicts(found) == {
        "endpoint": "warn", "proxy": "ok", "route": "skip", "tcp-connect": "ok", "imds-answer": "ok",
        "instance": "ok", "api-version": "ok", "latency": "ok", "throttling": "ok",
        "user": "ok"}
    assert "from IMDSCTL_ENDPOINT" in found["endpoint"]["detail"]
    assert found["imds-answer"]["detail"].startswith("HTTP 200, JSON, Server: IMDS/")
    assert "02aab8a4-74ef-476e-8182-f6d2ba4166a6" in found["instance"]["detail"]
    assert found["api-version"]["detail"] == (f"{catalog.DEFAULT_API_VERSION} is offered; the newest "
                                              f"offered is {catalog.DEFAULT_API_VERSION}")
    assert [r.path for r in imds_emulator.requests] == [catalog.VERSIONS_PATH, catalog.INSTANCE_PATH]


def test_a_table_for_people(run, imds_emulator):
    result = ok(run("doctor", "-o", "table"))
    firsts = [line.split()[:2] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert [check for _, check in firsts] == CHECKS  # one line starts each check, its verdict first


def test_endpoint_from_the_command_line(run, imds_emulator, monkeypatch):
    monkeypatch.delenv("IMDSCTL_ENDPOINT")
    found = rows(ok(run("doctor", "--endpoint", imds_emulator.url, "-o", "json")))
    assert "from --endpoint" in found["endpoint"]["detail"]
    assert found["endpoint"]["remedy"] == "drop --endpoint to check the real IMDS"


def test_proxy_variables_that_capture_imds_are_a_warning(run, imds_emulator, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://user:secret@proxy.example:3128")
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    found = rows(ok(run("doctor", "-o", "json")))
    proxy = found["proxy"]
    assert proxy["verdict"] == "warn"
    assert proxy["detail"].startswith(f"HTTP_PROXY set and NO_PROXY does not cover {IMDS}")
    assert "NO_PROXY" in proxy["remedy"]
    assert "secret" not in json.dumps(found)
    assert found["imds-answer"]["verdict"] == "ok"  # imdsctl itself ignores them


def test_proxy_variables_covered_by_no_proxy_are_fine(run, imds_emulator, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "localhost,169.254.0.0/16")
    proxy = rows(ok(run("doctor", "-o", "json")))["proxy"]
    assert proxy["verdict"] == "ok"
    assert proxy["detail"].startswith("http_proxy, no_proxy set, but they do not capture")


def test_closed_port_exits_6(run):
    started = time.monotonic()
    found = rows(ok(run("doctor", "-o", "json"), 6))
    assert time.monotonic() - started < 3
    assert found["tcp-connect"]["verdict"] == "fail"
    assert "refused the connection" in found["tcp-connect"]["detail"]
    assert {verdicts(found)[c] for c in doctor.HTTP_CHECKS} == {"skip"}


@pytest.mark.imds_emulator(faults=["html*inf"])
def test_captive_portal_exits_7(run, imds_emulator):
    found = rows(ok(run("doctor", "-o", "json"), 7))
    assert found["imds-answer"]["verdict"] == "fail"
    assert "HTML page" in found["imds-answer"]["detail"]
    assert found["instance"]["verdict"] == "skip"
    assert len(imds_emulator.requests) == 1


@pytest.mark.imds_emulator(faults=["503*inf"])
def test_kept_failing_exits_5(run, imds_emulator):
    started = time.monotonic()
    found = rows(ok(run("doctor", "--timeout", "1", "-o", "json"), 5))
    assert time.monotonic() - started < 2.5
    assert found["imds-answer"]["verdict"] == found["instance"]["verdict"] == "fail"
    assert found["imds-answer"]["detail"].startswith("IMDS kept failing for GET /metadata/versions (503")
    assert found["imds-answer"]["remedy"].startswith("IMDS itself is failing")


@pytest.mark.imds_emulator(faults=["410*inf@/metadata/instance"])
def test_an_update_in_progress_is_explained(run, imds_emulator):
    found = rows(ok(run("doctor", "--timeout", "1", "-o", "json"), 5))
    assert found["imds-answer"]["verdict"] == "ok"
    assert found["instance"]["verdict"] == "fail"
    assert found["instance"]["remedy"].startswith("IMDS is being updated")
    assert found["throttling"]["verdict"] == "warn"
    assert found["throttling"]["detail"].endswith("x 410 (updating)")


@pytest.mark.imds_emulator(faults=["429*2"])
def test_throttling_ridden_out_is_a_warning(run, imds_emulator):
    found = rows(ok(run("doctor", "-o", "json")))
    assert found["throttling"]["verdict"] == "warn"
    assert found["throttling"]["detail"] == "IMDS answered 2 x 429 (throttled)"
    assert found["throttling"]["remedy"].startswith("IMDS allows 5 requests per second")


@pytest.mark.imds_emulator(faults=["403*inf@/metadata/instance"])
def test_refused_exits_4(run, imds_emulator):
    found = rows(ok(run("doctor", "-o", "json"), 4))
    assert found["instance"]["detail"].startswith("IMDS refused GET /metadata/instance: 403")


@pytest.mark.imds_emulator(faults=["404*inf@/metadata/instance"])
def test_no_instance_document_exits_3(run, imds_emulator):
    found = rows(ok(run("doctor", "-o", "json"), 3))
    assert found["instance"]["detail"].startswith("IMDS has nothing at GET /metadata/instance (404")


def test_unknown_explicit_api_version_exits_4(run, imds_emulator):
    found = rows(ok(run("doctor", "--api-version", "2017-07-01", "-o", "json"), 4))
    assert found["api-version"]["verdict"] == "fail"
    assert found["api-version"]["remedy"] == f"pass --api-version {catalog.DEFAULT_API_VERSION}"


@pytest.mark.imds_emulator(faults=["delay=1.2@/metadata/instance"])
def test_a_slow_answer_is_a_warning(run, imds_emulator):
    found = rows(ok(run("doctor", "-o", "json")))
    assert found["latency"]["verdict"] == "warn"
    assert "(/metadata/instance)" in found["latency"]["detail"]


@pytest.mark.imds_emulator(faults=["delay=30*inf"])
def test_the_timeout_bounds_everything(run, imds_emulator):
    started = time.monotonic()
    found = rows(ok(run("doctor", "--timeout", "1", "-o", "json"), 6))
    assert time.monotonic() - started < 2.5
    assert "timed out waiting for the answer" in found["imds-answer"]["detail"]


@pytest.mark.parametrize(("endpoint", "message"), [("ftp://127.0.0.1", "is not an http:// URL"),
                                                   ("http://127.0.0.1:99999", "has no valid port")])
def test_a_bad_endpoint_is_a_usage_error(run, endpoint, message):
    assert message in ok(run("doctor", "--endpoint", endpoint), 2).stderr


@pytest.mark.parametrize(("uid", "verdict"), [(0, "ok"), (1000, "warn"), (None, "skip")])
def test_the_user_when_imds_does_not_answer(run, monkeypatch, uid, verdict):
    monkeypatch.setattr(facts, "effective_uid", lambda: uid)
    user = rows(ok(run("doctor", "-o", "json"), 6))["user"]
    assert user["verdict"] == verdict
    if uid == 1000:
        assert "running as uid 1000, not root" in user["detail"]
        assert user["remedy"] == "rerun as root to compare: sudo imdsctl doctor"


def test_a_non_root_user_that_imds_answers(run, imds_emulator, monkeypatch):
    monkeypatch.setattr(facts, "effective_uid", lambda: 1000)
    user = rows(ok(run("doctor", "-o", "json")))["user"]
    assert (user["verdict"], user["detail"]) == ("ok", "running as uid 1000; IMDS answers this user")


# -- the real IMDS address, mocked -------------------------------------------------------------


@pytest.fixture
def imds(imds, monkeypatch):
    """The endpoint is the real IMDS address: httpx is mocked, and so are the
    TCP connect and the routing table (nothing leaves the test)."""
    monkeypatch.delenv("IMDSCTL_TIMEOUT")
    monkeypatch.setattr(doctor, "_open", lambda host, port, timeout: None)
    monkeypatch.setattr(facts, "route_to", lambda address, **kw: {
        "address": address, "source": "/proc/net/route", "commands": [],
        "route": {"destination": "0.0.0.0/0", "gateway": "10.0.0.1", "interface": "eth0", "metric": 100}})
    return imds


def instance_url(version: str = catalog.DEFAULT_API_VERSION) -> str:
    return f"{BASE}{catalog.INSTANCE_PATH}?api-version={version}"


def test_docker_desktops_403_means_unreachable(run, imds):
    imds.add_response(url=f"{BASE}{catalog.VERSIONS_PATH}", status_code=403,
                      text=f"connecting to {IMDS}:80: dial tcp {IMDS}:80: connectex: "
                           "A socket operation was attempted to an unreachable network.")
    found = rows(ok(run("doctor", "-o", "json"), 6))
    assert verdicts(found)["endpoint"] == "ok"
    assert found["route"]["detail"] == (f"{IMDS} goes via 10.0.0.1 on eth0 (route 0.0.0.0/0, "
                                        "metric 100)")
    assert "Docker Desktop" in found["imds-answer"]["detail"]
    assert found["instance"]["verdict"] == "skip"


def test_an_answer_without_the_imds_server_header(run, imds):
    imds.add_response(url=f"{BASE}{catalog.VERSIONS_PATH}", json={"apiVersions": ["2025-04-07"]},
                      headers={"Server": "nginx"})
    imds.add_response(url=instance_url(), json={"compute": {"vmId": "x"}})
    found = rows(ok(run("doctor", "-o", "json")))
    assert found["imds-answer"]["verdict"] == "warn"
    assert "'nginx'" in found["imds-answer"]["detail"]


def test_an_older_imds_is_a_warning_with_a_fall_back(run, imds):
    offered = ["2019-06-01", "2024-07-17"]
    imds.add_response(url=f"{BASE}{catalog.VERSIONS_PATH}", json={"apiVersions": offered},
                      headers={"Server": "IMDS/150.870.65.1103"})
    imds.add_response(url=instance_url(), status_code=400,
                      json={"error": "Bad request. api-version is invalid", "newest-versions": offered[::-1]})
    imds.add_response(url=instance_url("2024-07-17"), json={"compute": {"vmId": "x"}})
    found = rows(ok(run("doctor", "-o", "json")))
    assert found["api-version"]["verdict"] == "warn"
    assert "falls back to 2024-07-17" in found["api-version"]["detail"]
    assert found["instance"]["detail"] == "vmId x (api-version 2024-07-17)"


def test_a_newer_imds_is_pointed_out(run, imds):
    offered = [catalog.DEFAULT_API_VERSION, "2099-01-01"]
    imds.add_response(url=f"{BASE}{catalog.VERSIONS_PATH}", json={"apiVersions": offered},
                      headers={"Server": "IMDS/150.870.65.1103"})
    imds.add_response(url=instance_url(), json={"compute": {}})
    found = rows(ok(run("doctor", "-o", "json")))
    assert found["api-version"]["detail"].endswith("newer than this release knows "
                                                   "('--api-version latest' uses it)")


def test_versions_without_a_list_is_not_imds(run, imds):
    imds.add_response(url=f"{BASE}{catalog.VERSIONS_PATH}", json={"hello": "world"})
    assert rows(ok(run("doctor", "-o", "json"), 7))["imds-answer"]["verdict"] == "fail"


@pytest.mark.parametrize(("error", "detail"), [
    (socket.timeout(), f"no answer to a TCP connect to {IMDS}:80 within"),
    (OSError(101, "Network is unreachable"), f"cannot connect to {IMDS}:80: Network is unreachable"),
])
def test_connect_failures_exit_6(run, imds, monkeypatch, error, detail):
    def fail(host, port, timeout):
        raise error

    monkeypatch.setattr(doctor, "_open", fail)
    found = rows(ok(run("doctor", "-o", "json"), 6))
    assert found["tcp-connect"]["detail"].startswith(detail)


@pytest.mark.parametrize(("found", "verdict", "detail"), [
    ({"source": "/proc/net/route", "route": None, "commands": [
        {"command": f"ip route get {IMDS}", "error": "RTNETLINK answers: Network is unreachable"}]},
     "warn", f"no route for {IMDS} in /proc/net/route; RTNETLINK answers: Network is unreachable"),
    ({"source": "/proc/net/route", "route": {"destination": f"{IMDS}/32", "gateway": "",
                                             "interface": "eth0", "metric": 0}, "commands": []},
     "ok", f"{IMDS} goes on-link on eth0 (route {IMDS}/32, metric 0)"),
    ({"source": None, "route": None, "commands": [], "error": "no way to read routes on Plan9"},
     "skip", "no way to read routes on Plan9"),
    # emulate --link-local: the address is on lo, so whatever listens here answers for it
    ({"source": "/proc/net/route", "route": None, "commands": [
        {"command": f"ip route get {catalog.IMDS_ADDRESS}",
         "output": f"local {catalog.IMDS_ADDRESS} dev lo src {catalog.IMDS_ADDRESS} uid 0"}]},
     "ok", f"{catalog.IMDS_ADDRESS} is an address of this machine: whatever listens here answers for it "
           "(imdsctl emulate --link-local, a local proxy); "
           f"local {catalog.IMDS_ADDRESS} dev lo src {catalog.IMDS_ADDRESS} uid 0"),
])
def test_route_verdicts(run, imds, monkeypatch, found, verdict, detail):
    imds.add_response(url=f"{BASE}{catalog.VERSIONS_PATH}", json={"apiVersions": ["2025-04-07"]},
                      headers={"Server": "IMDS/1"})
    imds.add_response(url=instance_url(), json={"compute": {}})
    monkeypatch.setattr(facts, "route_to", lambda address, **kw: {"address": address, **found})
    route = rows(ok(run("doctor", "-o", "json")))["route"]
    assert (route["verdict"], route["detail"]) == (verdict, detail)
    assert bool(route["remedy"]) == (verdict == "warn")


# -- the environment readers -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "covered"), [
    ("", False), ("*", True), (f"{IMDS}", True), (f"{IMDS}:80", True),
    ("localhost, 169.254.0.0/16", True), ("10.0.0.0/8,.internal", False), ("169.254.169.25", False),
    ("[::1],metadata", False), ("::/0", False), (f"example.com {IMDS}/32", True),
])
def test_no_proxy_covers_the_imds_address(value, covered):
    assert facts.no_proxy_covers(value, f"{IMDS}") is covered


@pytest.mark.parametrize(("value", "host", "covered"), [
    (".example.com", "imds.example.com", True), ("example.com", "example.com", True),
    ("*.example.com", "a.example.com", True), ("example.com", "badexample.com", False),
])
def test_no_proxy_covers_host_names(value, host, covered):
    assert facts.no_proxy_covers(value, host) is covered


def test_proxies_capturing():
    env = {"HTTP_PROXY": "http://p:1", "ALL_PROXY": " ", "HTTPS_PROXY": "http://p:1"}
    assert facts.proxies_capturing(f"{IMDS}", env) == ["HTTP_PROXY"]
    assert facts.proxies_capturing(f"{IMDS}", {**env, "no_proxy": f"{IMDS}"}) == []
    assert facts.proxies_capturing(f"{IMDS}", {"https_proxy": "http://p:1"}) == []


PROC_NET_ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
eth0\tFEA9FEA9\t0100000A\t0007\t0\t0\t100\tFFFFFFFF\t0\t0\t0
eth1\tFEA9FEA9\t0101000A\t0006\t0\t0\t50\tFFFFFFFF\t0\t0\t0
bogus line
"""


def test_proc_net_route():
    routes = facts.parse_proc_net_route(PROC_NET_ROUTE)
    assert routes == [facts.Route("0.0.0.0/0", "10.0.0.1", "eth0", 100),
                      facts.Route("10.0.0.0/24", "", "eth0", 100),
                      facts.Route(f"{IMDS}/32", "10.0.0.1", "eth0", 100)]  # eth1's is down
    assert facts.best_route(routes, f"{IMDS}") == routes[2]
    assert facts.best_route(routes, "10.0.0.9") == routes[1]
    assert facts.best_route(routes[1:], "8.8.8.8") is None


ROUTE_PRINT = f"""\
IPv4 Route Table
===========================================================================
Active Routes:
Network Destination        Netmask          Gateway       Interface  Metric
          0.0.0.0          0.0.0.0         10.0.0.1         10.0.0.4     10
  {IMDS}  255.255.255.255         10.0.0.1         10.0.0.4     11
        127.0.0.0        255.0.0.0         On-link         127.0.0.1    331
===========================================================================
Persistent Routes:
  Network Address          Netmask  Gateway Address  Metric
  {IMDS}  255.255.255.255         10.0.0.1       1
"""


def test_route_print():
    routes = facts.parse_route_print(ROUTE_PRINT)
    assert len(routes) == 3
    assert facts.best_route(routes, f"{IMDS}") == facts.Route(
        f"{IMDS}/32", "10.0.0.1", "10.0.0.4", 11)
    assert facts.best_route(routes, "127.0.0.5").gateway == ""


class Done:
    def __init__(self, stdout="", returncode=0, stderr=""):
        self.stdout, self.returncode, self.stderr = stdout, returncode, stderr


ROUTE_GET = f"""\
   route to: {IMDS}
destination: default
       mask: default
    gateway: 10.0.0.1
  interface: en0
      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING>
"""


def test_route_get_on_macos():
    found = facts.route_to(f"{IMDS}", system="Darwin", run=lambda a, **k: Done(ROUTE_GET))
    assert found["route"] == {"destination": "0.0.0.0/0", "gateway": "10.0.0.1", "interface": "en0",
                              "metric": 0}
    assert facts.parse_route_get("route: writing to routing socket: not in table") == []


def test_route_to_on_linux(tmp_path):
    table = tmp_path / "route"
    table.write_text(PROC_NET_ROUTE)
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs["timeout"]))
        return Done(f"{IMDS} via 10.0.0.1 dev eth0 src 10.0.0.4\n")

    found = facts.route_to(f"{IMDS}", system="Linux", proc=str(table), which=lambda n: "/sbin/ip",
                             run=run)
    assert found["route"] == {"destination": f"{IMDS}/32", "gateway": "10.0.0.1",
                              "interface": "eth0", "metric": 100}
    assert found["commands"] == [{"command": f"ip route get {IMDS}",
                                  "output": f"{IMDS} via 10.0.0.1 dev eth0 src 10.0.0.4"}]
    assert calls == [(["/sbin/ip", "route", "get", f"{IMDS}"], facts.COMMAND_TIMEOUT)]


def test_route_to_never_fails(tmp_path):
    def broken(argv, **kwargs):
        raise OSError(2, "No such file or directory")

    found = facts.route_to(f"{IMDS}", system="Linux", proc=str(tmp_path / "none"),
                             which=lambda n: None, run=broken)
    assert found["route"] is None and found["error"].startswith("cannot read")
    windows = facts.route_to(f"{IMDS}", system="Windows", run=broken)
    assert windows["error"] == "FileNotFoundError: [Errno 2] No such file or directory"
    assert windows["route"] is None
    windows = facts.route_to(f"{IMDS}", system="Windows", run=lambda a, **k: Done(ROUTE_PRINT))
    assert windows["route"]["interface"] == "10.0.0.4"
    mac = facts.route_to(f"{IMDS}", system="Darwin", run=lambda a, **k: Done("", 1, "bad"))
    assert mac["commands"] == [{"command": f"route -n get {IMDS}", "error": "bad"}]
    assert mac["error"] == "bad"
    assert facts.route_to(f"{IMDS}", system="Plan9")["error"] == "no way to read routes on Plan9"
