"""doctor's rows on what stands between this process and IMDS.

``platform`` (DMI: Azure or not), ``container`` (none, Docker, a Kubernetes pod
on its own or the host's network), ``interceptor`` (who answered: IMDS, the
Guest Proxy Agent, aad-pod-identity's NMI), ``identity-source`` (where a token
request from here really goes), ``systemd-imds`` (its locked route, its
Varlink socket) and ``wireserver`` (168.63.129.16:80 and the HostGAPlugin's
:32526). Each is ``(check, verdict, detail, remedy, code)``; the facts come
from imds.mediation, read under IMDSCTL_SYSROOT.
"""

from __future__ import annotations

import os
import platform as _platform
import socket
from typing import Callable, Mapping, Optional, Tuple

from imdsctl.errors import ImdsctlError
from imdsctl.imds import mediation
from imdsctl.support import privileged

Check = Tuple[str, str, str, str, int]
WIRESERVER = "168.63.129.16"
WIRESERVER_PORTS = (80, 32526)


def platform_row(root: str) -> Check:
    if _platform.system() == "Windows" and root == "/":
        return ("platform", "skip", "DMI is read through WMI on Windows, which this release does not ask",
                "", 0)
    facts = mediation.dmi(root)
    if facts.azure is None:
        return ("platform", "skip", "no DMI to read (/sys/class/dmi/id)", "", 0)
    said = f"sys_vendor {facts.vendor or '?'}, product {facts.product or '?'}, " \
           f"chassis asset tag {facts.asset_tag or 'none'}"
    if facts.azure:
        return ("platform", "ok", f"an Azure VM (generation {facts.generation}): {said}", "", 0)
    return ("platform", "warn", f"this machine does not look like an Azure VM: {said}",
            "IMDS exists only on Azure VMs: run this on one, or point imdsctl at an emulator", 0)


def container_row(root: str, environ: Mapping[str, str]) -> Check:
    found = mediation.container(root, environ)
    evidence = ", ".join(found.evidence)
    if found.kind == "none":
        return ("container", "ok", "not in a container", "", 0)
    if found.kind != "kubernetes":
        return ("container", "ok", f"in a {found.kind} container ({evidence}): IMDS is reached through "
                                   "the host's network", "", 0)
    if found.host_network:
        return ("container", "ok", f"in a Kubernetes pod on the host's network ({evidence})", "", 0)
    return ("container", "warn", f"in a Kubernetes pod with its own network ({evidence}): IMDS may be "
                                 "restricted for pods (AKS --enable-imds-restriction, podLinkLocalAccess "
                                 "None) or by a network policy",
            "run with hostNetwork: true, or allow 169.254.169.254/32 in the network policy", 0)


def systemd_row(root: str) -> Check:
    locked, path = mediation.locked_route(root), mediation.varlink_socket(root)
    if locked and path:
        return ("systemd-imds", "warn", f"a prohibit route locks 169.254.169.254 and {path} serves leaves",
                "read leaves with --via systemd-imds (automatic for plain reads)", 0)
    if locked:
        return ("systemd-imds", "fail", "a prohibit route locks 169.254.169.254 and no Varlink socket at "
                f"{mediation.VARLINK_SOCKET}: {mediation.CAUSES['systemd-locked']}",
                "start systemd-imds.socket, or boot with systemd.imds.network=unlocked", 6)
    if path:
        return ("systemd-imds", "ok", f"its Varlink socket {path} exists; the route is not locked", "", 0)
    return ("systemd-imds", "ok", "no locked route, no systemd-imds socket", "", 0)


_SOURCES = (
    (("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID"), "Workload Identity (AZURE_FEDERATED_TOKEN_FILE): "
     "the Azure SDKs exchange the pod's token; asking IMDS gets the node's identity or 'Identity not found'"),
    (("IDENTITY_ENDPOINT", "IDENTITY_HEADER"), "App Service / Functions / Container Apps (IDENTITY_ENDPOINT "
     "with IDENTITY_HEADER), not IMDS"),
    (("IDENTITY_ENDPOINT", "IMDS_ENDPOINT"), "Azure Arc (IDENTITY_ENDPOINT with IMDS_ENDPOINT), not IMDS"),
    (("MSI_ENDPOINT",), "Cloud Shell / Azure ML (MSI_ENDPOINT), not IMDS"),
)


def identity_row(environ: Mapping[str, str], interceptor: str) -> Check:
    for names, said in _SOURCES:
        if all(environ.get(name) for name in names):
            return ("identity-source", "warn", f"the Azure SDKs would use {said}",
                    "'imdsctl identity token' asks IMDS, which is not what the SDKs here use", 0)
    if interceptor == "nmi":
        return ("identity-source", "warn", "IMDS, intercepted by aad-pod-identity's NMI",
                "tokens come from the pod's AzureIdentityBinding", 0)
    return ("identity-source", "ok", "IMDS (no Workload Identity, App Service, Arc or Cloud Shell variables)",
            "", 0)


def interceptor_row(headers: Optional[Mapping[str, str]], err: Optional[ImdsctlError]) -> Tuple[Check, str]:
    """The row, and who answered ("imds", "gpa", "nmi", "other" or "" when nothing did)."""
    cause = err.cause if err is not None else ""
    if cause in ("gpa-refused", "gpa-no-claims"):
        return ("interceptor", "fail",
                f"the Guest Proxy Agent (Enforce mode) answered: {mediation.CAUSES[cause]}",
                mediation.CAUSES[cause] if cause == "gpa-refused" else "check /var/log/azure-proxy-agent",
                4), "gpa"
    if cause == "nmi":
        return ("interceptor", "fail", mediation.CAUSES["nmi"], "bind an AzureIdentity to the pod", 4), "nmi"
    if headers is None:
        return ("interceptor", "skip", "no answer to tell from", "", 0), ""
    if mediation.interceptor(headers) == "gpa":
        return ("interceptor", "ok", "through the Guest Proxy Agent (x-ms-azure-host-authorization on "
                                     "answers; Audit or Enforce cannot be told from an allowed answer)",
                "", 0), "gpa"
    if headers.get("server", "").startswith("IMDS/"):
        return ("interceptor", "ok", "IMDS answered directly", "", 0), "imds"
    server = headers.get("server") or "none"
    return ("interceptor", "warn", f"something other than IMDS answered (Server: {server})",
            "check what listens there", 0), "other"


def _ask_wireserver(port: int, timeout: float) -> str:
    """The status line WireServer answers on ``port`` (the seam the tests replace)."""
    with socket.create_connection((WIRESERVER, port), timeout=timeout) as conn:
        if port == 80:
            conn.sendall(b"GET /?comp=versions HTTP/1.1\r\nHost: 168.63.129.16\r\nConnection: close\r\n\r\n")
            return conn.recv(256).split(b"\r\n", 1)[0].decode("latin-1")
        return "accepted"


def wireserver_row(is_default: bool, timeout: float, ask: Optional[Callable[[int, float], str]] = None,
                   second: bool = False) -> Check:
    """168.63.129.16 as this uid; with ``second``, also as root (as another uid when
    this is root: imdsctl.support.privileged), which tells waagent's firewall apart."""
    ask = ask or _ask_wireserver
    if not is_default:
        return ("wireserver", "skip", "the endpoint is not IMDS's: WireServer not asked", "", 0)
    seen = privileged.probe(ask, WIRESERVER_PORTS, timeout)
    geteuid = getattr(os, "geteuid", None)
    who = f"as uid {geteuid()}" if geteuid is not None else "as this user"
    detail = f"{WIRESERVER} {who}: {_said(seen)}"
    reached = all(ok for _, ok, _ in seen)
    if second:
        return _compared(detail, seen, geteuid is not None and geteuid() == 0,
                         privileged.second_probe(ask, WIRESERVER_PORTS, timeout))
    if reached:
        return ("wireserver", "ok", detail, "", 0)
    remedy = "waagent's firewall lets only root reach WireServer: compare with 'imdsctl doctor " \
             "--wireserver-as-root'" if geteuid is not None and geteuid() != 0 else _AGENT
    return ("wireserver", "warn", detail, remedy, 0)


_AGENT = f"the VM agent needs WireServer ('VM agent not ready'): check the route and firewall to {WIRESERVER}"
_FIREWALL = "waagent's firewall (only root may reach WireServer)"


def _said(seen: privileged.Probe) -> str:
    return ", ".join(f":{port} {text}" for port, ok, text in sorted(seen, key=lambda s: not s[1]))


def _compared(detail: str, mine: privileged.Probe, root: bool,
              second: Tuple[str, Optional[privileged.Probe], str]) -> Check:
    """The row from both probes: this uid's and the second uid's (root, or 65534 when this is root)."""
    other, seen, why = second
    reached = all(ok for _, ok, _ in mine)
    if seen is None:
        remedy = "" if reached else _AGENT if root else \
            f"compare as root: 'sudo imdsctl doctor --wireserver-as-root'; {_AGENT}"
        return ("wireserver", "ok" if reached else "warn", f"{detail}; {why}", remedy, 0)
    detail = f"{detail}; as {other}: {_said(seen)}"
    as_root, as_user = (mine, seen) if root else (seen, mine)
    root_reached = all(ok for _, ok, _ in as_root)
    user_reached, user_none = all(ok for _, ok, _ in as_user), not any(ok for _, ok, _ in as_user)
    if not root_reached:
        return ("wireserver", "warn", f"{detail}: root does not reach WireServer either", _AGENT, 0)
    if user_reached:
        return ("wireserver", "ok", f"{detail}: every uid reaches WireServer (no firewall in front of it)",
                "", 0)
    if not user_none:
        return ("wireserver", "warn", f"{detail}: only some ports reach WireServer for non-root", _AGENT, 0)
    if root:
        return ("wireserver", "ok", f"{detail}: {_FIREWALL} is in place", "", 0)
    return ("wireserver", "warn", f"{detail}: {_FIREWALL} keeps this uid out",
            "nothing to fix for the VM agent, which runs as root; a process of this uid cannot reach "
            "WireServer, by design", 0)
