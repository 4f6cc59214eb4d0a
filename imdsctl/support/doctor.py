"""Why IMDS is, or is not, reachable from here.

Each check is a row ``{check, verdict, detail, remedy}`` with a verdict of
ok, warn, fail or skip, in the order a person would investigate: where the
requests go, what could divert them (proxy variables, the route), whether a
TCP connection opens, whether what answers is IMDS, whether it serves the
instance document and the api-version, how fast, whether it throttles or is
updating, and who is asking. The exit code is 0 when no check fails, else the
code of the most serious failure (support.SEVERITY: 6, 7, 5, 4, 3).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from imdsctl import catalog
from imdsctl.errors import ImdsctlError, ImdsHttpError, NotImdsError, UsageError
from imdsctl.imds import mediation
from imdsctl.imds.budget import Budget
from imdsctl.result import Result
from imdsctl.session import COMMANDLINE, ENVIRONMENT
from imdsctl.support import facts as support
from imdsctl.support import platform as mediated

if TYPE_CHECKING:
    from imdsctl.protocols import Client, Imds

#: The default time budget of doctor, for every check together: off Azure, fail fast.
BUDGET = 10
CONNECT_TIMEOUT = catalog.CONNECT_TIMEOUT
SLOW = 1.0  # seconds: real IMDS answers in milliseconds

HTTP_CHECKS = ("imds-answer", "instance", "api-version", "latency", "throttling")

_REMEDIES = {
    410: "IMDS is being updated and answers again within 70 s: wait and rerun",
    429: "IMDS allows 5 requests per second per VM: find the process polling it and make it cache",
    500: "IMDS itself is failing: wait and rerun; if it persists, open a support case with "
         "'imdsctl collect'",
}


class Row(NamedTuple):
    check: str
    verdict: str       #: ok, warn, fail or skip
    detail: str
    remedy: str = ""
    code: int = 0      #: for a failure, the exit code it stands for

    def data(self) -> Dict[str, str]:
        return {"check": self.check, "verdict": self.verdict, "detail": self.detail, "remedy": self.remedy}


def doctor(imds: Imds, wireserver_as_root: bool = False) -> Result:
    """Every check, one row each; the exit code of the most serious failure.
    ``wireserver_as_root``: WireServer is asked as root too (imdsctl.support.privileged)."""
    imds.settings = settings = imds.settings._replace(via="imds")  # doctor asks IMDS itself
    budget = Budget(settings.timeout)
    client = imds.client  # a malformed --endpoint is a usage error before any check
    host, port = support.host_port(settings.endpoint)
    root = mediation.sysroot()
    rows = [_endpoint(settings.endpoint, settings.endpoint_from), Row(*mediated.platform_row(root)),
            Row(*mediated.container_row(root, os.environ)), _proxies(),
            _route(host, min(support.COMMAND_TIMEOUT, budget.left())), Row(*mediated.systemd_row(root))]
    connected = _connect(host, port, min(CONNECT_TIMEOUT, budget.left()))
    rows.append(connected)
    seen: List[Any] = [None, None]  # the versions answer's headers, or the error it met
    if connected.verdict == "ok":
        rows += _http_checks(client, settings.api_version, budget, seen)
    else:
        rows += [Row(name, "skip", "no TCP connection") for name in HTTP_CHECKS]
    interceptor, who = mediated.interceptor_row(*seen)
    is_default = settings.endpoint.rstrip("/") == catalog.DEFAULT_ENDPOINT
    rows += [Row(*interceptor), Row(*mediated.identity_row(os.environ, who)),
             Row(*mediated.wireserver_row(is_default, min(CONNECT_TIMEOUT, budget.left()),
                                          second=wireserver_as_root))]
    reached = any(r.check == "imds-answer" and r.verdict in ("ok", "warn") for r in rows)
    rows.append(_user(reached))
    failed = [r.code for r in rows if r.verdict == "fail"]
    from imdsctl.ui.checklist import Checks

    return Result([r.data() for r in rows], exit_code=min(failed, key=support.severity) if failed else 0,
                  table=Checks)


# -- the checks that need no request -------------------------------------------------


def environment_rows() -> List[Dict[str, str]]:
    """The rows that send no request, for collect's doctor.json (its environment.json has the route)."""
    root = mediation.sysroot()
    rows = [Row(*mediated.platform_row(root)), Row(*mediated.container_row(root, os.environ)), _proxies(),
            Row(*mediated.systemd_row(root)), Row(*mediated.identity_row(os.environ, ""))]
    return [r.data() for r in rows]


def _endpoint(url: str, source: str) -> Row:
    origin = {ENVIRONMENT: "from IMDSCTL_ENDPOINT", COMMANDLINE: "from --endpoint"}.get(source, "the default")
    if url.rstrip("/") == catalog.DEFAULT_ENDPOINT:
        return Row("endpoint", "ok", f"{url} ({origin}), the IMDS address")
    remedy = "unset IMDSCTL_ENDPOINT to check the real IMDS" if "IMDSCTL" in origin \
        else "drop --endpoint to check the real IMDS"
    return Row("endpoint", "warn", f"{url} ({origin}) is not IMDS's {catalog.DEFAULT_ENDPOINT}: "
                                   "the checks below test that endpoint", remedy)


def _proxies() -> Row:
    capturing = support.proxies_capturing(catalog.IMDS_ADDRESS)
    present = [name for name, on in support.variables_set(support.PROXY_VARIABLES).items() if on]
    if capturing:
        return Row("proxy", "warn",
                   f"{', '.join(capturing)} set and NO_PROXY does not cover {catalog.IMDS_ADDRESS}: "
                   "curl, the Azure SDKs and agents that honour them send IMDS requests to the proxy "
                   "(imdsctl ignores them)",
                   f"add {catalog.IMDS_ADDRESS} to NO_PROXY and no_proxy "
                   f"(export NO_PROXY=\"$NO_PROXY,{catalog.IMDS_ADDRESS}\")")
    if present:
        return Row("proxy", "ok", f"{', '.join(present)} set, but they do not capture "
                                  f"http://{catalog.IMDS_ADDRESS} (covered by NO_PROXY, or HTTPS only)")
    return Row("proxy", "ok", "no proxy variables set")


def _route(host: str, timeout: float) -> Row:
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return Row("route", "skip", f"{host or 'the endpoint'} is not an IPv4 address")
    if address.is_loopback:
        return Row("route", "skip", f"{host} is loopback (an emulator?): no route to check")
    found = support.route_to(host, timeout=timeout)
    route = found["route"]
    if route:
        via = f"via {route['gateway']}" if route["gateway"] else "on-link"
        return Row("route", "ok", f"{host} goes {via} on {route['interface']} "
                                  f"(route {route['destination']}, metric {route['metric']})")
    said = "; ".join(c.get("error") or c.get("output", "") for c in found["commands"])
    if any(str(c.get("output", "")).startswith("local ") for c in found["commands"]):
        return Row("route", "ok", f"{host} is an address of this machine: whatever listens here answers "
                                  f"for it (imdsctl emulate --link-local, a local proxy); {said}")
    if found["source"] is None or found.get("error"):
        return Row("route", "skip", found.get("error", "") + (f" ({said})" if said else ""))
    return Row("route", "warn", f"no route for {host} in {found['source']}" + (f"; {said}" if said else ""),
               f"add one via the primary NIC's gateway: 'ip route add {host}/32 via GATEWAY dev NIC' "
               f"(Windows: 'route add {host} mask 255.255.255.255 GATEWAY')")


def _open(host: str, port: int, timeout: float) -> None:
    """Open and close one TCP connection (the seam the unit tests replace)."""
    with socket.create_connection((host, port), timeout=timeout):
        pass


def _connect(host: str, port: int, timeout: float) -> Row:
    where = f"{host}:{port}"
    started = time.monotonic()
    try:
        _open(host, port, timeout)
    except socket.timeout:
        return _mediated(host, None, True) or Row(
            "tcp-connect", "fail", f"no answer to a TCP connect to {where} within {timeout:.1f} s",
            "not on an Azure VM, or a firewall drops the traffic, or the route is wrong (see "
            "above); on Azure, IMDS answers only the primary NIC", 6)
    except ConnectionRefusedError:
        return Row("tcp-connect", "fail", f"{where} refused the connection",
                   "nothing listens there: not on an Azure VM, or a local firewall rejects the "
                   "connection (some images let only root reach IMDS)", 6)
    except OSError as exc:
        return _mediated(host, exc.errno, False) or Row(
            "tcp-connect", "fail", f"cannot connect to {where}: {exc.strerror or exc}",
            "check the route and the firewall; off Azure, IMDS does not exist", 6)
    elapsed = (time.monotonic() - started) * 1000
    return Row("tcp-connect", "ok", f"{where} accepted a TCP connection in {elapsed:.1f} ms")


_MEDIATED_REMEDIES = {
    "pod-restricted": "run the pod with hostNetwork: true, or allow 169.254.169.254/32 "
                      "(podLinkLocalAccess IMDS)",
    "dropped-not-root": "rerun as root to compare: sudo imdsctl doctor",
    "systemd-locked": "read leaves with --via systemd-imds, or boot with systemd.imds.network=unlocked",
}


def _mediated(host: str, code: Optional[int], timed_out: bool) -> Optional[Row]:
    """The tcp-connect failure, when something on this machine stands in between (at IMDS's address)."""
    if host != catalog.IMDS_ADDRESS:
        return None
    cause, detail = mediation.unreachable(code, timed_out)
    how = "no answer to a TCP connect (a silent drop)" if timed_out else "the connect failed with EACCES"
    if cause in mediation.CAUSES:
        return Row("tcp-connect", "fail", f"{how}: {mediation.CAUSES[cause]}", _MEDIATED_REMEDIES[cause], 6)
    if "dmi_vendor" in detail:
        return Row("tcp-connect", "fail", f"{how}: this machine does not look like an Azure VM: DMI "
                                          f"sys_vendor is {detail['dmi_vendor']}",
                   "IMDS exists only on Azure VMs", 6)
    return None


def _user(reached: bool) -> Row:
    uid = support.effective_uid()
    if uid is None:
        return Row("user", "skip", "not applicable on this platform")
    if uid == 0:
        return Row("user", "ok", "running as root")
    if reached:
        return Row("user", "ok", f"running as uid {uid}; IMDS answers this user")
    return Row("user", "warn", f"running as uid {uid}, not root, and IMDS did not answer: some images "
                               "let only root reach IMDS (a firewall rule on the uid, systemd-imds); "
                               "whether root would fare better cannot be told from here",
               "rerun as root to compare: sudo imdsctl doctor")


# -- the checks that ask IMDS ----------------------------------------------------------


def _http_checks(client: Client, api_version: Optional[str], budget: Budget,
                 seen: List[Any]) -> List[Row]:
    first = len(client.log)  # doctor's own requests: a collect before it has asked on this client too
    client.reset_budget(max(budget.share(2), 0.001))
    answer_row, versions = _versions(client, seen)
    rows = [answer_row]
    if answer_row.verdict == "fail" and answer_row.code in (6, 7):
        rows.append(Row("instance", "skip", "no IMDS answer"))
    else:
        client.reset_budget(max(budget.share(1), 0.001))
        rows.append(_instance(client))
    rows.append(_api_version_row(api_version, versions))
    rows += [_latency(client.log[first:]), _throttling(client.log[first:])]
    return rows


def _versions(client: Client, seen: List[Any]) -> Tuple[Row, Optional[List[str]]]:
    try:
        answer = client.request("GET", catalog.VERSIONS_PATH, versioned=False)
    except UsageError:  # what was asked cannot be sent: not a finding about IMDS
        raise
    except ImdsctlError as err:
        seen[1] = err
        return _failure("imds-answer", err), None
    seen[0] = answer.headers
    offered = answer.body.get("apiVersions") if isinstance(answer.body, dict) else None
    if not isinstance(offered, list) or not all(isinstance(v, str) for v in offered):
        return _failure("imds-answer", NotImdsError(
            f"GET {catalog.VERSIONS_PATH} returned JSON without an apiVersions list",
            "something other than IMDS may be answering")), None
    server = answer.headers.get("server", "")
    versions = sorted(offered, key=catalog.version_key)
    if server.startswith("IMDS/"):
        return Row("imds-answer", "ok", f"HTTP {answer.status}, JSON, Server: {server}"), versions
    return Row("imds-answer", "warn", f"HTTP {answer.status} with IMDS's JSON, but the Server header is "
                                      f"{server or 'missing'!r}, not IMDS/...: a proxy or a stand-in "
                                      "may be answering",
               "check what answers on the endpoint"), versions


def _instance(client: Client) -> Row:
    try:
        body = client.request("GET", catalog.INSTANCE_PATH).body
    except UsageError:
        raise
    except ImdsctlError as err:
        return _failure("instance", err)
    compute = body.get("compute") if isinstance(body, dict) else None
    compute = compute if isinstance(compute, dict) else {}
    facts = ", ".join(f"{k} {compute[k]}" for k in ("vmId", "vmSize", "location") if compute.get(k))
    return Row("instance", "ok", f"{facts or 'an instance document'} (api-version {client.api_version})")


def _failure(check: str, err: ImdsctlError) -> Row:
    """A failed request as a row, with the remedy for what went wrong."""
    code = int(err.exit_code)
    if err.cause in mediation.CAUSES:
        return Row(check, "fail", f"{err.message}: {mediation.CAUSES[err.cause]}", err.hint or "", code)
    status = err.status if isinstance(err, ImdsHttpError) else 0
    text = _text(err.body) if isinstance(err, ImdsHttpError) else ""
    if status == 403 and "unreachable" in text.lower():
        return Row(check, "fail", f"a proxy answered 403 ({text[:160]}): Docker Desktop's answer when "
                                  "the host cannot reach IMDS",
                   "IMDS answers only on an Azure VM: run this on the VM itself (a container there "
                   "needs a route to 169.254.169.254)", 6)
    remedy = _REMEDIES.get(500 if status >= 500 else status) if code == 5 else None
    if code == 5 and status == 0:
        remedy = "answers are cut off: a proxy or a firewall in the path may be interfering"
    return Row(check, "fail", err.message, remedy or err.hint or "", code)


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else json.dumps(body)


def _api_version_row(wanted: Optional[str], versions: Optional[List[str]]) -> Row:
    if not versions:
        return Row("api-version", "skip", "IMDS listed no api-versions")
    newest = versions[-1]
    if wanted == "latest":
        return Row("api-version", "ok", f"latest is {newest}")
    version = wanted or catalog.DEFAULT_API_VERSION
    if version in versions:
        newer = catalog.version_key(newest) > catalog.version_key(catalog.DEFAULT_API_VERSION)
        return Row("api-version", "ok", f"{version} is offered; the newest offered is {newest}"
                   + ("; newer than this release knows ('--api-version latest' uses it)" if newer else ""))
    if wanted:
        return Row("api-version", "fail", f"IMDS does not offer {version}; the newest it offers is {newest}",
                   f"pass --api-version {newest}", 4)
    return Row("api-version", "warn", f"IMDS does not offer {version}, this release's default; imdsctl "
                                      f"falls back to {newest}, the newest it offers",
               f"tools with a fixed api-version need {newest} or older")


def _latency(log: List[Tuple[str, str, str, float]]) -> Row:
    answered = [(url, seconds) for _, url, outcome, seconds in log if outcome.isdigit()]
    if not answered:
        return Row("latency", "skip", "no answer to time")
    url, slowest = max(answered, key=lambda a: a[1])
    detail = f"{len(answered)} answer(s), the slowest in {slowest * 1000:.1f} ms ({urlsplit(url).path})"
    if slowest > SLOW:
        return Row("latency", "warn", detail, "IMDS answers in milliseconds: a proxy, a loaded host or a "
                                              "firewall inspecting traffic may be in the way")
    return Row("latency", "ok", detail)


def _throttling(log: List[Tuple[str, str, str, float]]) -> Row:
    outcomes = [outcome for _, _, outcome, _ in log]
    if not any(o.isdigit() for o in outcomes):
        return Row("throttling", "skip", "no answer from IMDS")
    seen = {status: outcomes.count(str(status)) for status in (429, 410) if str(status) in outcomes}
    if not seen:
        return Row("throttling", "ok", "no 429 (throttled) or 410 (updating) answers")
    names = {429: "throttled", 410: "updating"}
    detail = ", ".join(f"{count} x {status} ({names[status]})" for status, count in seen.items())
    return Row("throttling", "warn", f"IMDS answered {detail}",
               "; ".join(_REMEDIES[status] for status in seen))
