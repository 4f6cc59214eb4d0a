"""WireServer at 168.63.129.16, for ``imdsctl emulate --link-local`` (Linux).

Inside the private network namespace (netns.py), lo also takes
168.63.129.16/32 and two small HTTP servers answer there as Azure's do:

* port 80, WireServer: ``GET /?comp=versions`` gives the versions XML that
  WALinuxAgent and cloud-init read first (Preferred 2015-04-05); any other
  path is a 400, as WireServer answers requests it does not understand;
* port 32526, the HostGAPlugin: ``GET /health`` (200, empty) and
  ``GET /versions`` (a JSON list, ``["2015-09-01"]``), what waagent's
  hostplugin.py asks before it relays status and artifacts.

``firewall()`` adds waagent's own rules (its osutil's ``enable_firewall``) to
the namespace's OUTPUT chain, when asked: root's packets to 168.63.129.16 pass
(``-m owner --uid-owner 0 -j ACCEPT``), every other uid's new connection is
dropped (``-m conntrack --ctstate INVALID,NEW -j DROP``): a connect timeout,
as on a VM.  These are real rules: it needs ``iptables`` and root in the
namespace; without them it says why (no pretended drop).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

#: WireServer's address (a virtual public IP reachable only from inside Azure VMs).
ADDRESS = "168.63.129.16"
WIRESERVER_PORT = 80
HOSTGAPLUGIN_PORT = 32526

VERSIONS_XML = """<?xml version="1.0" encoding="utf-8"?>
<Versions>
  <Preferred>
    <Version>2015-04-05</Version>
  </Preferred>
  <Supported>
    <Version>2015-04-05</Version>
    <Version>2012-11-30</Version>
    <Version>2012-09-15</Version>
    <Version>2012-05-15</Version>
    <Version>2011-12-31</Version>
    <Version>2011-10-15</Version>
    <Version>2011-08-31</Version>
    <Version>2011-04-07</Version>
    <Version>2010-12-15</Version>
    <Version>2010-28-10</Version>
  </Supported>
</Versions>
"""
#: What the HostGAPlugin's /versions lists (waagent's hostplugin.API_VERSION).
HOSTGAPLUGIN_VERSIONS = '["2015-09-01"]'

#: waagent's rules, after the ``iptables -w -t <table>`` prefix.
FIREWALL_RULES: Tuple[Tuple[str, ...], ...] = (
    ("-A", "OUTPUT", "-d", f"{ADDRESS}/32", "-p", "tcp", "-m", "owner", "--uid-owner", "0", "-j", "ACCEPT"),
    ("-A", "OUTPUT", "-d", f"{ADDRESS}/32", "-p", "tcp", "-m", "conntrack", "--ctstate", "INVALID,NEW",
     "-j", "DROP"),
)


class FirewallError(Exception):
    """waagent's rule could not be added in the namespace: why."""


def answer(port: int, path: str) -> Tuple[int, str, str]:
    """(status, content type, body) for ``GET path`` on ``port``."""
    if port == WIRESERVER_PORT:
        parts = urlsplit(path)
        if parts.path == "/" and parse_qs(parts.query).get("comp") == ["versions"]:
            return 200, "text/xml; charset=utf-8", VERSIONS_XML
        return 400, "text/xml; charset=utf-8", '<?xml version="1.0" encoding="utf-8"?>\n<Error>' \
            "<Code>InvalidRequest</Code><Message>The request is not understood.</Message></Error>\n"
    if path == "/health":
        return 200, "text/plain", ""
    if path == "/versions":
        return 200, "application/json; charset=utf-8", HOSTGAPLUGIN_VERSIONS
    return 404, "text/plain", "Not Found"


class _Handler(BaseHTTPRequestHandler):
    server_version = "Microsoft-IIS/10.0"  # what WireServer's answers say
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        status, kind, body = answer(int(self.server.server_address[1]), self.path)  # type: ignore[index]
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


class WireServer:
    """WireServer (:80) and the HostGAPlugin (:32526) on ``host``, in threads."""

    def __init__(self, host: str = ADDRESS,
                 ports: Tuple[int, ...] = (WIRESERVER_PORT, HOSTGAPLUGIN_PORT)) -> None:
        self.host, self.ports = host, ports
        self._servers: List[ThreadingHTTPServer] = []

    def start(self) -> WireServer:
        try:
            for port in self.ports:
                server = ThreadingHTTPServer((self.host, port), _Handler)
                server.daemon_threads = True
                self._servers.append(server)
                threading.Thread(target=server.serve_forever, name=f"wireserver:{port}", daemon=True).start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def bound(self) -> List[int]:
        return [int(s.server_address[1]) for s in self._servers]

    def stop(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.shutdown()
            server.server_close()


def firewall(iptables: Optional[str] = None) -> None:
    """Add waagent's root-only rules to this namespace's OUTPUT chain (FirewallError if not);
    never outside a namespace whose only interface is lo (netns.verify, checked again here)."""
    from imdsctl.emulator.linklocal import netns

    netns.verify()
    binary = iptables or shutil.which("iptables") or shutil.which("iptables", path="/usr/sbin:/sbin")
    if binary is None:
        raise FirewallError("no iptables here to add waagent's rule (-m owner --uid-owner 0)")
    for rule in FIREWALL_RULES:
        try:
            done = subprocess.run([binary, "-w", "-t", "filter", *rule], capture_output=True, text=True,
                                  timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FirewallError(f"cannot run {binary}: {exc}") from None
        if done.returncode != 0:
            said = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            raise FirewallError(f"iptables refused waagent's rule in the namespace: {said}")
