"""What stands between this process and IMDS, told without a packet, and what a failure means.

Facts are read from files under the system root (``IMDSCTL_SYSROOT``, a
directory standing for ``/``; for tests only, default ``/``):

* DMI (``/sys/class/dmi/id``): Azure's chassis asset tag
  7783-7084-3265-9085-8269-3286-77 or sys_vendor "Microsoft Corporation"
  (what cloud-init's ds-identify and systemd's hwdb read); UEFI firmware
  (``/sys/firmware/efi``) on Azure is a generation 2 VM.
* the container: ``/.dockerenv``, ``/proc/1/cgroup``, the Kubernetes
  service-account mount and ``KUBERNETES_SERVICE_HOST``; a pod on the host's
  network sees the node's interfaces (veth, cni, azure, ...) in
  ``/proc/net/dev``.
* systemd-imds: a prohibit route to 169.254.169.254 in ``/proc/net/route``
  (flag RTF_REJECT) and its Varlink socket.

``unreachable`` and ``refusal`` name the cause of a failed read; the client
(httpx) and doctor use them alike, so one cause has one exit code and one hint.
"""

from __future__ import annotations

import errno as errnos
import os
import socket
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: this module is on the start-up path
    from typing import Dict, List, Mapping, Optional, Tuple

SYSROOT_VARIABLE = "IMDSCTL_SYSROOT"
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"
AZURE_VENDOR = "Microsoft Corporation"
VARLINK_SOCKET = "/run/systemd/io.systemd.InstanceMetadata"
IMDS_ADDRESS = "169.254.169.254"
#: Interfaces a node has and a pod's own network namespace does not.
_NODE_INTERFACES = ("veth", "cni", "azure", "azv", "cali", "flannel", "cbr0", "docker", "cilium", "kube-")

#: cause -> what it means, for doctor's detail (the command line's hints name the options).
CAUSES = {
    "pod-restricted": "IMDS restricted for pods (AKS --enable-imds-restriction) or a network policy",
    "dropped-not-root": "a firewall drops IMDS traffic from this uid: some images let only root reach IMDS",
    "systemd-locked": "locked by systemd-imds (systemd.imds.network=locked): only processes with its "
                      "firewall mark may connect",
    "gpa-refused": "refused by the Guest Proxy Agent's rules: allow this process (path, user) in the "
                   "inVMAccessControlProfile",
    "gpa-no-claims": "the Guest Proxy Agent had no claims for this process",
    "nmi": "aad-pod-identity's NMI answered, not IMDS: the pod has no AzureAssignedIdentity "
           "(or the request lacked the Metadata header)",
}


def sysroot(environ: Optional[Mapping[str, str]] = None) -> str:
    return (environ if environ is not None else os.environ).get(SYSROOT_VARIABLE) or "/"


def _path(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _read(root: str, path: str) -> Optional[str]:
    try:
        with open(_path(root, path), encoding="utf-8", errors="replace") as file:
            return file.read(65536).strip()
    except OSError:
        return None


class Dmi:
    """The DMI facts: ``azure`` is None when DMI cannot be read."""

    __slots__ = ("vendor", "product", "asset_tag", "azure", "generation")

    def __init__(self, vendor: str, product: str, asset_tag: str, azure: Optional[bool],
                 generation: Optional[int]):
        self.vendor, self.product, self.asset_tag = vendor, product, asset_tag
        self.azure, self.generation = azure, generation


def dmi(root: str) -> Dmi:
    vendor = _read(root, "/sys/class/dmi/id/sys_vendor")
    tag = _read(root, "/sys/class/dmi/id/chassis_asset_tag") or ""
    product = _read(root, "/sys/class/dmi/id/product_name") or ""
    if vendor is None and not tag:
        return Dmi("", product, tag, None, None)
    azure = tag == AZURE_ASSET_TAG or vendor == AZURE_VENDOR
    generation = (2 if os.path.isdir(_path(root, "/sys/firmware/efi")) else 1) if azure else None
    return Dmi(vendor or "", product, tag, azure, generation)


class Container:
    """``kind``: none, docker, kubernetes or container; ``host_network`` None outside a pod."""

    __slots__ = ("kind", "host_network", "evidence")

    def __init__(self, kind: str, host_network: Optional[bool], evidence: List[str]):
        self.kind, self.host_network, self.evidence = kind, host_network, evidence


def container(root: str, environ: Optional[Mapping[str, str]] = None) -> Container:
    environ = environ if environ is not None else os.environ
    evidence: List[str] = []
    cgroup = _read(root, "/proc/1/cgroup") or ""
    if environ.get("KUBERNETES_SERVICE_HOST"):
        evidence.append("KUBERNETES_SERVICE_HOST set")
    if os.path.isdir(_path(root, "/var/run/secrets/kubernetes.io/serviceaccount")):
        evidence.append("a service-account mount")
    if "kubepods" in cgroup:
        evidence.append("kubepods in /proc/1/cgroup")
    if evidence:
        dev = _read(root, "/proc/net/dev") or ""
        names = [line.split(":")[0].strip() for line in dev.splitlines()[2:] if ":" in line]
        host = any(name.startswith(_NODE_INTERFACES) for name in names)
        return Container("kubernetes", host, evidence)
    if os.path.exists(_path(root, "/.dockerenv")) or "docker" in cgroup:
        return Container("docker", None, ["/.dockerenv" if os.path.exists(_path(root, "/.dockerenv"))
                                          else "docker in /proc/1/cgroup"])
    if os.path.exists(_path(root, "/run/.containerenv")):
        return Container("container", None, ["/run/.containerenv"])
    return Container("none", None, [])


def locked_route(root: str) -> bool:
    """Whether the main table holds a prohibit (reject) route covering 169.254.169.254."""
    table = _read(root, "/proc/net/route") or ""
    address = struct.unpack("<L", socket.inet_aton(IMDS_ADDRESS))[0]
    for line in table.splitlines()[1:]:
        fields = line.split()
        try:
            destination, flags, mask = int(fields[1], 16), int(fields[3], 16), int(fields[7], 16)
        except (IndexError, ValueError):
            continue
        if flags & 0x0200 and flags & 0x1 and address & mask == destination and mask:
            return True
    return False


def varlink_socket(root: str) -> Optional[str]:
    """The systemd-imds Varlink socket's path when it exists."""
    path = _path(root, VARLINK_SOCKET)
    return path if os.path.exists(path) else None


def varlink_path(endpoint: str, via: str, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The Varlink socket to read through: always with ``via`` systemd-imds; with auto, when the
    endpoint is IMDS's own, a prohibit route locks it and the socket exists; else None."""
    if via == "imds":
        return None
    root = sysroot(environ)
    if via == "systemd-imds":
        return varlink_socket(root) or _path(root, VARLINK_SOCKET)
    if endpoint.rstrip("/") != "http://" + IMDS_ADDRESS or not locked_route(root):
        return None
    return varlink_socket(root)


def _not_azure(root: str) -> Dict[str, str]:
    facts = dmi(root)
    return {"dmi_vendor": facts.vendor or "unknown"} if facts.azure is False else {}


def unreachable(code: Optional[int], timed_out: bool, environ: Optional[Mapping[str, str]] = None
                ) -> Tuple[str, Dict[str, str]]:
    """(cause, detail) of IMDS unreachable: ``code`` the connect errno, ``timed_out`` a silent drop."""
    root = sysroot(environ)
    detail = _not_azure(root)
    if code in (errnos.EACCES, errnos.EPERM):
        if varlink_socket(root):
            detail["socket"] = VARLINK_SOCKET
        return "systemd-locked", detail
    if timed_out:
        pod = container(root, environ)
        if pod.kind == "kubernetes" and not pod.host_network:
            return "pod-restricted", detail
        geteuid = getattr(os, "geteuid", None)
        if geteuid is not None and geteuid() != 0:
            detail["uid"] = str(geteuid())
            return "dropped-not-root", detail
    return ("not-azure" if detail else ""), detail


def refusal(status: int, headers: Mapping[str, str], raw: bytes) -> str:
    """The cause of a refusal that IMDS itself did not answer ("" when it may be IMDS's)."""
    text = raw.decode("utf-8", "replace")
    if "AzureAssignedIdentity" in text or "metadata header is not specified" in text.lower():
        return "nmi"
    if raw.strip() or headers.get("connection", "").lower() != "close":
        return ""
    return {403: "gpa-refused", 421: "gpa-no-claims"}.get(status, "")


def interceptor(headers: Mapping[str, str]) -> str:
    """Who answered, from an answer's headers: "gpa" (the Guest Proxy Agent forwarded it) or ""."""
    return "gpa" if "x-ms-azure-host-authorization" in headers else ""


def errno_of(exc: Optional[BaseException]) -> Optional[int]:
    """The errno somewhere in an exception's chain (httpx wraps the OSError)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno:
            return exc.errno
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
