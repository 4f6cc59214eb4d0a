"""What the support-case commands (collect, doctor, diff) share.

* Environment diagnostics: which proxy variables are set (names only, never
  their values: they may hold credentials), whether NO_PROXY covers an
  address, the route the OS would use for an address, platform facts.

Nothing here sends a packet: routes are read from /proc/net/route or asked of
the kernel (``ip route get``, ``route print``, ``route -n get``), which are
table lookups.
"""

from __future__ import annotations

import ipaddress
import os
import platform
import re
import shutil
import socket
import struct
import subprocess
from typing import Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from imdsctl import __version__

#: Variables that send plain-http traffic (IMDS is http) to a proxy in curl,
#: Python (urllib, requests), Go and the Azure SDKs.
HTTP_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")
PROXY_VARIABLES = HTTP_PROXY_VARIABLES + ("HTTPS_PROXY", "https_proxy") + NO_PROXY_VARIABLES

#: Variables that change where the Azure SDKs and agents send IMDS requests.
SDK_ENDPOINT_VARIABLES = ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IMDS_ENDPOINT",
                      "MSI_ENDPOINT")

COMMAND_TIMEOUT = 2.0  # seconds for `ip`/`route`: a table lookup, never a network wait


def host_port(url: str) -> Tuple[str, int]:
    """The host and port an endpoint URL names (ImdsClient has already refused
    a malformed one, so this only reads it)."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


# -- proxy variables -------------------------------------------------------------


def variables_set(names: Iterable[str], environ: Mapping[str, str] = os.environ) -> Dict[str, bool]:
    """{name: whether it is set to something non-empty}; values are never read out."""
    return {name: bool(environ.get(name, "").strip()) for name in names}


def proxies_capturing(host: str, environ: Mapping[str, str] = os.environ) -> List[str]:
    """The proxy variables that would send http://HOST through a proxy in tools
    that honour them (imdsctl does not): set, and NO_PROXY/no_proxy not covering HOST."""
    if any(no_proxy_covers(environ.get(name, ""), host) for name in NO_PROXY_VARIABLES):
        return []
    return [name for name, is_set in variables_set(HTTP_PROXY_VARIABLES, environ).items() if is_set]


def no_proxy_covers(value: str, host: str) -> bool:
    """Whether a NO_PROXY list covers ``host``: ``*``, the host itself, a
    domain suffix (``.example.com``), or a CIDR block (``169.254.0.0/16``),
    as curl >= 7.86, Python and Go read it. A ``:port`` on an entry is ignored."""
    host = host.strip("[]").lower()
    try:
        ip: Optional[Any] = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for entry in re.split(r"[\s,]+", value.lower()):
        if entry.count(":") == 1:  # host:port (an IPv6 entry has more colons)
            entry = entry.split(":")[0]
        entry = entry.strip("[]")
        if not entry:
            continue
        if entry == "*":
            return True
        if ip is not None:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if network.version == ip.version and ip in network:
                return True
        else:
            suffix = entry.lstrip("*").lstrip(".")
            if host == suffix or host.endswith("." + suffix):
                return True
    return False


# -- routes --------------------------------------------------------------------------


class Route(NamedTuple):
    """One IPv4 route: ``gateway`` is "" for an on-link route."""

    destination: str   # CIDR, e.g. 169.254.169.254/32 or 0.0.0.0/0
    gateway: str
    interface: str
    metric: int


def _hex_ip(value: str) -> str:
    return socket.inet_ntoa(struct.pack("<L", int(value, 16)))


def parse_proc_net_route(text: str) -> List[Route]:
    """The routes in Linux's /proc/net/route (addresses in little-endian hex)."""
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            iface, gateway, flags, metric = fields[0], _hex_ip(fields[2]), int(fields[3], 16), int(fields[6])
            network = ipaddress.IPv4Network(f"{_hex_ip(fields[1])}/{_hex_ip(fields[7])}")
        except (ValueError, struct.error):
            continue
        if flags & 0x1:  # RTF_UP
            routes.append(Route(str(network), "" if gateway == "0.0.0.0" else gateway, iface, metric))
    return routes


_ROUTE_PRINT_ROW = re.compile(r"^\s*(\d+\.\d+\.\d+\.\d+)\s+(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s+"
                              r"(\d+\.\d+\.\d+\.\d+)\s+(\d+)\s*$")


def parse_route_print(text: str) -> List[Route]:
    """The active IPv4 routes of Windows' ``route print``
    (Network Destination, Netmask, Gateway, Interface, Metric)."""
    routes = []
    for line in text.splitlines():
        match = _ROUTE_PRINT_ROW.match(line)
        if not match:
            continue
        dest, mask, gateway, iface, metric = match.groups()
        try:
            network = ipaddress.IPv4Network(f"{dest}/{mask}")
        except ValueError:
            continue
        routes.append(Route(str(network), "" if gateway.lower() == "on-link" else gateway, iface,
                            int(metric)))
    return routes


def parse_route_get(text: str) -> List[Route]:
    """The one route of BSD/macOS ``route -n get ADDRESS`` ("interface: en0" lines)."""
    fields = dict(line.strip().split(": ", 1) for line in text.splitlines() if ": " in line)
    if "interface" not in fields:
        return []
    destination = fields.get("destination", "default")
    cidr = "0.0.0.0/0" if destination == "default" else f"{destination}/{fields.get('mask', '32')}"
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError:
        return []
    return [Route(str(network), fields.get("gateway", ""), fields["interface"], 0)]


def best_route(routes: Iterable[Route], address: str) -> Optional[Route]:
    """The route the kernel would pick: longest prefix, then lowest metric."""
    ip = ipaddress.IPv4Address(address)
    matching = [r for r in routes if ip in ipaddress.IPv4Network(r.destination)]
    if not matching:
        return None
    return max(matching, key=lambda r: (ipaddress.IPv4Network(r.destination).prefixlen, -r.metric))


def _command(argv: List[str], run: Callable[..., Any], timeout: float) -> Dict[str, str]:
    """{"command", "output"} or {"command", "error"}: best effort, bounded, never raises."""
    shown = " ".join([os.path.basename(argv[0]), *argv[1:]])
    try:
        done = run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"command": shown, "error": f"{type(exc).__name__}: {exc}"}
    if done.returncode != 0:
        return {"command": shown, "error": (done.stderr or done.stdout).strip() or f"exit {done.returncode}"}
    return {"command": shown, "output": done.stdout.strip()}


def route_to(address: str, *, timeout: float = COMMAND_TIMEOUT, system: Optional[str] = None,
             proc: str = "/proc/net/route",
             which: Callable[[str], Optional[str]] = shutil.which,
             run: Callable[..., Any] = subprocess.run) -> Dict[str, Any]:
    """How the OS would route to ``address`` (an IPv4 literal): ``route`` is the
    best matching route or None, ``error`` says why nothing could be read, and
    ``commands`` holds the raw answers of the OS tools where they exist."""
    system = system or platform.system()
    found: Dict[str, Any] = {"address": address, "source": None, "route": None, "commands": []}
    routes: Optional[List[Route]] = None
    if system == "Linux":
        found["source"] = proc
        try:
            with open(proc, encoding="ascii", errors="replace") as table:
                routes = parse_proc_net_route(table.read())
        except OSError as exc:
            found["error"] = f"cannot read {proc}: {exc.strerror or exc}"
        ip = which("ip")
        if ip:
            found["commands"].append(_command([ip, "route", "get", address], run, timeout))
    elif system == "Windows":
        found["source"] = "route print"
        answer = _command(["route", "print", "-4"], run, timeout)
        found["commands"].append(answer)
        if "output" in answer:
            routes = parse_route_print(answer["output"])
        else:
            found["error"] = answer["error"]
    elif system in ("Darwin", "FreeBSD", "OpenBSD", "NetBSD"):
        found["source"] = "route -n get"
        answer = _command(["route", "-n", "get", address], run, timeout)
        found["commands"].append(answer)
        if "output" in answer:
            routes = parse_route_get(answer["output"])
        else:
            found["error"] = answer["error"]
    else:
        found["error"] = f"no way to read routes on {system or 'this platform'}"
    if routes is not None:
        match = best_route(routes, address)
        found["route"] = match._asdict() if match else None
    return found


# -- platform ------------------------------------------------------------------------


def platform_facts() -> Dict[str, Any]:
    """imdsctl's version, Python, the OS and who runs it."""
    facts: Dict[str, Any] = {
        "imdsctl": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
    }
    uid = effective_uid()
    if uid is not None:
        facts["uid"] = uid
    return facts


def effective_uid() -> Optional[int]:
    """The effective uid on POSIX; None where the notion does not apply (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid is not None else None


# -- time budget and exit status -------------------------------------------------------


#: Exit codes from the most to the least telling, for when several calls or checks fail:
#: unreachable, not IMDS, kept failing, refused, not found.
SEVERITY = (6, 7, 5, 4, 3)


def severity(code: int) -> int:
    """Sort key: the most telling exit code first."""
    return SEVERITY.index(code) if code in SEVERITY else len(SEVERITY)
