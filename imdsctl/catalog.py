"""The one table of IMDS knowledge: endpoints, api-versions and fields.

Everything else reads this module: the CLI resolves friendly names here, the
client takes its default api-version and endpoint paths from here, the emulator
gates fields by the api-version they appeared in, and the README/man page table
and the tests are generated or parametrized from it.  The commands take the
paths they ask IMDS for from here.

The facts are Microsoft's documentation:
https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service (endpoints,
api-versions, the schema and the version each field appeared in),
https://learn.microsoft.com/azure/virtual-machines/linux/scheduled-events,
https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token,
https://learn.microsoft.com/azure/load-balancer/howto-load-balancer-imds and the API
specification, https://github.com/Azure/azure-rest-api-specs/tree/main/specification/imds.
"""

from __future__ import annotations

import re
from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Iterable, Iterator, Optional, Sequence, Tuple, Union


# --------------------------------------------------------------------------
# Endpoints and api-versions
# --------------------------------------------------------------------------

#: Instance-category api-versions, oldest first (the documentation's "Supported API versions").
#: 2017-07-01 was withdrawn and is deliberately absent.
INSTANCE_VERSIONS: Tuple[str, ...] = (
    "2017-03-01", "2017-04-02", "2017-08-01", "2017-10-01", "2017-12-01",
    "2018-02-01", "2018-04-02", "2018-10-01",
    "2019-02-01", "2019-03-11", "2019-04-30", "2019-06-01", "2019-06-04",
    "2019-08-01", "2019-08-15", "2019-11-01",
    "2020-06-01", "2020-07-15", "2020-09-01", "2020-10-01", "2020-12-01",
    "2021-01-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-08-01",
    "2021-10-01", "2021-11-01", "2021-11-15", "2021-12-13",
    "2023-07-01", "2023-11-15",
    "2024-03-15", "2024-07-17",
    "2025-04-07",
)

#: The newest instance api-version this release knows; the client's default.
DEFAULT_API_VERSION = INSTANCE_VERSIONS[-1]

#: Scheduled Events has its own version list (the Scheduled Events documentation).
SCHEDULED_EVENTS_VERSIONS: Tuple[str, ...] = (
    "2017-03-01", "2017-08-01", "2017-11-01", "2019-01-01",
    "2019-04-01", "2019-08-01", "2020-07-01",
)
SCHEDULED_EVENTS_API_VERSION = SCHEDULED_EVENTS_VERSIONS[-1]

#: Managed identity: the documentation and every Azure SDK send 2018-02-01.
IDENTITY_API_VERSION = "2018-02-01"

#: Load balancer metadata: the documented version.
LOADBALANCER_API_VERSION = "2020-10-01"

#: IMDS's link-local address, the same on every Azure VM, and its base URL.
IMDS_ADDRESS = "169.254.169.254"
DEFAULT_ENDPOINT = f"http://{IMDS_ADDRESS}"

#: The URL path of each endpoint family.
INSTANCE_PATH = "/metadata/instance"
VERSIONS_PATH = "/metadata/versions"
ATTESTED_PATH = "/metadata/attested/document"
IDENTITY_TOKEN_PATH = "/metadata/identity/oauth2/token"
IDENTITY_INFO_PATH = "/metadata/identity/info"
SCHEDULED_EVENTS_PATH = "/metadata/scheduledevents"
LOADBALANCER_PATH = "/metadata/loadbalancer"


def version_key(version: str) -> Tuple[int, ...]:
    """Sort key for YYYY-MM-DD api-versions; malformed ones sort first."""
    try:
        return tuple(int(p) for p in version.split("-"))
    except ValueError:
        return (0,)


def _instance_versions_from(first: str) -> Tuple[str, ...]:
    return tuple(v for v in INSTANCE_VERSIONS if version_key(v) >= version_key(first))


class Endpoint(namedtuple("Endpoint", "path versions methods rate default env_version latest strict label",
                          defaults=(("GET",), None, None, True, None, False, "instance"))):
    """An endpoint family: where it is, which api-versions and methods it takes,
    and its api-version rule (applied by session.api_version_for).

    ``versions``: None for an unversioned endpoint (/metadata/versions);
    ``rate``: its own requests/second limit, if not the general 5;
    ``default``: the version sent when none is asked (None: the instance one);
    ``env_version``: whether IMDSCTL_API_VERSION (an instance version) applies;
    ``latest``: what 'latest' means: None asks IMDS, "" is refused, else that version;
    ``strict``: an asked version must be one of ``versions``;
    ``label``: the family's name in messages.
    """

    __slots__ = ()


#: The endpoint families (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service).
#: Load balancer, identity and attested take the instance api-versions from the one they appeared in.
VERSIONS_ENDPOINT = Endpoint(VERSIONS_PATH, None)
INSTANCE = Endpoint(INSTANCE_PATH, INSTANCE_VERSIONS)
LOADBALANCER = Endpoint(LOADBALANCER_PATH, _instance_versions_from(LOADBALANCER_API_VERSION),
                        default=LOADBALANCER_API_VERSION, label="load balancer")
SCHEDULED_EVENTS = Endpoint(SCHEDULED_EVENTS_PATH, SCHEDULED_EVENTS_VERSIONS, ("GET", "POST"),
                            default=SCHEDULED_EVENTS_API_VERSION, env_version=False,
                            latest=SCHEDULED_EVENTS_API_VERSION, strict=True, label="Scheduled Events")
IDENTITY_TOKEN = Endpoint(IDENTITY_TOKEN_PATH, _instance_versions_from(IDENTITY_API_VERSION), rate=20,
                          default=IDENTITY_API_VERSION, env_version=False, latest="", label="identity")
IDENTITY_INFO = IDENTITY_TOKEN._replace(path=IDENTITY_INFO_PATH)
ATTESTED = Endpoint(ATTESTED_PATH, _instance_versions_from("2018-10-01"), label="attested")


#: Scheduled event types and document fields, with the Scheduled Events
#: api-version each appeared in (the Scheduled Events documentation).
SCHEDULED_EVENT_TYPES_SINCE = {"Freeze": "2017-03-01", "Reboot": "2017-03-01", "Redeploy": "2017-03-01",
                               "Preempt": "2017-11-01", "Terminate": "2019-01-01"}
SCHEDULED_EVENT_FIELDS_SINCE = (("Description", "2019-04-01"), ("EventSource", "2019-08-01"),
                                ("DurationInSeconds", "2020-07-01"))

#: Fields of the attested document, with the api-version that added each (the IMDS documentation).
ATTESTED_FIELDS_SINCE = (("nonce", "2018-10-01"), ("plan", "2018-10-01"), ("timeStamp", "2018-10-01"),
                         ("vmId", "2018-10-01"), ("subscriptionId", "2019-04-30"), ("sku", "2019-11-01"),
                         ("licenseType", "2020-09-01"))


# --------------------------------------------------------------------------
# The schema of /metadata/instance, with the api-version each key appeared in
# --------------------------------------------------------------------------
#
# Paths are IMDS route paths relative to /metadata/instance; ``*`` stands for
# any array index.  A key not listed here inherits its parent's version.

SCHEMA_SINCE: Tuple[Tuple[str, str], ...] = (
    ("compute", "2017-04-02"),
    ("network", "2017-04-02"),
    # compute: the documentation's tables give the version each field appeared in
    ("compute/additionalCapabilities", "2021-11-01"),
    ("compute/azEnvironment", "2018-10-01"),
    ("compute/customData", "2019-02-01"),
    ("compute/evictionPolicy", "2020-12-01"),
    ("compute/extendedLocation", "2021-03-01"),
    ("compute/host", "2021-11-15"),
    ("compute/hostGroup", "2021-11-15"),
    ("compute/isHostCompatibilityLayerVm", "2020-06-01"),
    ("compute/licenseType", "2020-09-01"),
    ("compute/location", "2017-04-02"),
    ("compute/name", "2017-04-02"),
    ("compute/offer", "2017-04-02"),
    ("compute/osProfile", "2020-07-15"),
    ("compute/osProfile/disablePasswordAuthentication", "2020-10-01"),
    ("compute/osType", "2017-04-02"),
    ("compute/physicalZone", "2023-11-15"),
    ("compute/placementGroupId", "2017-08-01"),
    ("compute/plan", "2018-04-02"),
    ("compute/platformFaultDomain", "2017-04-02"),
    ("compute/platformSubFaultDomain", "2021-10-01"),
    ("compute/platformUpdateDomain", "2017-04-02"),
    ("compute/priority", "2020-12-01"),
    ("compute/provider", "2018-10-01"),
    ("compute/publicKeys", "2018-04-02"),
    ("compute/publisher", "2017-04-02"),
    ("compute/resourceGroupName", "2017-08-01"),
    ("compute/resourceId", "2019-03-11"),
    ("compute/securityProfile", "2020-06-01"),
    ("compute/securityProfile/encryptionAtHost", "2021-11-01"),
    ("compute/securityProfile/securityType", "2021-12-13"),
    ("compute/sku", "2017-04-02"),
    ("compute/storageProfile", "2019-06-01"),
    ("compute/storageProfile/imageReference/communityGalleryImageId", "2023-07-01"),
    ("compute/storageProfile/imageReference/sharedGalleryImageId", "2023-07-01"),
    ("compute/storageProfile/imageReference/exactVersion", "2023-07-01"),
    ("compute/storageProfile/osDisk/encryptionSettings/diskEncryptionKey", "2021-11-01"),
    ("compute/storageProfile/osDisk/encryptionSettings/keyEncryptionKey", "2021-11-01"),
    ("compute/storageProfile/dataDisks/*/bytesPerSecondThrottle", "2021-05-01"),
    ("compute/storageProfile/dataDisks/*/diskCapacityBytes", "2021-05-01"),
    ("compute/storageProfile/dataDisks/*/isSharedDisk", "2021-05-01"),
    ("compute/storageProfile/dataDisks/*/isUltraDisk", "2021-05-01"),
    ("compute/storageProfile/dataDisks/*/opsPerSecondThrottle", "2021-05-01"),
    ("compute/storageProfile/resourceDisk", "2021-02-01"),
    ("compute/subscriptionId", "2017-08-01"),
    ("compute/tags", "2017-08-01"),
    ("compute/tagsList", "2019-06-04"),
    ("compute/userData", "2021-01-01"),
    ("compute/version", "2017-04-02"),
    ("compute/virtualMachineScaleSet", "2021-03-01"),
    ("compute/vmId", "2017-04-02"),
    ("compute/vmScaleSetName", "2017-12-01"),
    ("compute/vmSize", "2017-04-02"),
    ("compute/zone", "2017-12-01"),
)

_SINCE = {tuple(p.split("/")): v for p, v in SCHEMA_SINCE}


def _pattern(parts: Sequence[str]) -> Tuple[str, ...]:
    return tuple("*" if p.isdigit() else p for p in parts)


def since(path: str) -> Optional[str]:
    """The api-version in which ``path`` (or its nearest listed ancestor)
    appeared, or None when the catalog does not know the path."""
    parts = _pattern([p for p in path.strip("/").split("/") if p])
    for n in range(len(parts), 0, -1):
        version = _SINCE.get(parts[:n])
        if version is not None:
            return version
    return None


def own_since(parts: Sequence[str]) -> Optional[str]:
    """The version listed for exactly this path (indices as ``*``), if any."""
    return _SINCE.get(_pattern(parts))


_INDEX = re.compile(r"0|[1-9][0-9]*")


def walk(document: object, route: Union[str, Sequence[str]]) -> object:
    """Follow an IMDS route through a document the way IMDS does: keys match
    exactly (case-sensitive), list entries take 0-based decimal indices without
    leading zeros. ``route`` is a string (``network/interface/0/macAddress``;
    empty segments and slashes at either end are ignored) or its segments (taken
    as they are: an empty one finds nothing). Raises LookupError."""
    parts = [p for p in route.split("/") if p] if isinstance(route, str) else route
    node = document
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and _INDEX.fullmatch(part) and int(part) < len(node):
            node = node[int(part)]
        else:
            raise LookupError(part)
    return node


# --------------------------------------------------------------------------
# Friendly fields of `imdsctl compute` and `imdsctl network`
# --------------------------------------------------------------------------


class Field(namedtuple("Field", "name path help leaf aliases", defaults=(True, ()))):
    """One friendly field: how the CLI names it (``name``, kebab-case, e.g.
    ``vm-id``, and ``aliases``) and where IMDS keeps it (``path``, the route
    under /metadata/instance, which may hold {nic} and {ip}); ``leaf``: a
    string leaf, fetched with format=text."""

    __slots__ = ()

    @property
    def key(self) -> str:
        """The IMDS key (last path segment)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def since(self) -> Optional[str]:
        return since(self.path.replace("{nic}", "0").replace("{ip}", "0"))

    def route(self, nic: int = 0, ip: int = 0) -> str:
        return self.path.format(nic=nic, ip=ip)


def kebab(name: str) -> str:
    """``resourceGroupName`` -> ``resource-group-name``; ``vmId`` -> ``vm-id``."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", name)
    return name.lower()


def _c(key: str, help: str, leaf: bool = True, aliases: Tuple[str, ...] = ()) -> Field:
    return Field(kebab(key), "compute/" + key, help, leaf, aliases)


#: Every top-level key of ``compute`` in the newest schema.
COMPUTE_FIELDS: Tuple[Field, ...] = (
    _c("additionalCapabilities", "Additional capabilities (hibernationEnabled).", leaf=False),
    _c("azEnvironment", "Azure cloud the VM runs in, e.g. AzurePublicCloud."),
    _c("customData", "Deprecated; always empty in IMDS (use user-data)."),
    _c("evictionPolicy", "Spot eviction policy (Deallocate/Delete); empty otherwise."),
    _c("extendedLocation", "Extended location (type, name), e.g. an edge zone.", leaf=False),
    _c("host", "Dedicated host (id).", leaf=False),
    _c("hostGroup", "Dedicated host group (id).", leaf=False),
    _c("isHostCompatibilityLayerVm", "Whether the VM runs on the host compatibility layer."),
    _c("licenseType", "Azure Hybrid Benefit license type; empty if none."),
    _c("location", "Azure region, e.g. westeurope."),
    _c("name", "Name of the VM."),
    _c("offer", "Marketplace image offer."),
    _c("osProfile", "OS profile (adminUsername, computerName, ...).", leaf=False),
    _c("osType", "Linux or Windows."),
    _c("physicalZone", "Physical availability zone, e.g. westeurope-AZ02."),
    _c("placementGroupId", "Scale set placement group id."),
    _c("plan", "Marketplace plan (name, product, publisher).", leaf=False),
    _c("platformFaultDomain", "Fault domain the VM runs in.", aliases=("fault-domain",)),
    _c("platformSubFaultDomain", "Sub fault domain the VM runs in.", aliases=("sub-fault-domain",)),
    _c("platformUpdateDomain", "Update domain the VM runs in.", aliases=("update-domain",)),
    _c("priority", "Regular or Spot."),
    _c("provider", "Resource provider, Microsoft.Compute."),
    _c("publicKeys", "SSH public keys (keyData, path).", leaf=False),
    _c("publisher", "Marketplace image publisher."),
    _c("resourceGroupName", "Resource group of the VM.", aliases=("resource-group",)),
    _c("resourceId", "Full Azure resource id of the VM."),
    _c("securityProfile", "Security profile (secure boot, vTPM, ...).", leaf=False),
    _c("sku", "Marketplace image SKU."),
    _c("storageProfile", "OS disk, data disks, image reference, resource disk.", leaf=False),
    _c("subscriptionId", "Azure subscription of the VM."),
    _c("tags", "Tags as an object (from tagsList; the legacy string on old api-versions).",
       leaf=False),
    _c("tagsList", "Tags as IMDS lists them: [{name, value}].", leaf=False),
    _c("userData", "User data (base64) given at creation; see --decode."),
    _c("version", "Marketplace image version."),
    _c("virtualMachineScaleSet", "Flexible scale set (id).", leaf=False),
    _c("vmId", "Unique id of the VM."),
    _c("vmScaleSetName", "Name of the scale set; empty if none."),
    _c("vmSize", "VM size, e.g. Standard_D2s_v5."),
    _c("zone", "Availability zone; empty if not zonal."),
)

#: Routes the commands read whole, or take apart.
COMPUTE, NETWORK, INTERFACES = "compute", "network", "network/interface"
_NIC = INTERFACES + "/{nic}"
NIC_ADDRESS = _NIC + "/ipv4/ipAddress/{ip}"   #: one IP configuration of one NIC
NIC_SUBNETS = _NIC + "/ipv4/subnet"

#: The friendly fields of ``imdsctl network`` (one NIC, one IP at a time).
NETWORK_FIELDS: Tuple[Field, ...] = (
    Field("public-ip", NIC_ADDRESS + "/publicIpAddress",
          "Instance-level (Basic SKU) public IPv4 address of the selected IP configuration."),
    Field("private-ip", NIC_ADDRESS + "/privateIpAddress",
          "Private IPv4 address of the selected IP configuration."),
    Field("mac", _NIC + "/macAddress", "MAC address of the NIC (upper-case hex, no separators)."),
    Field("subnet", NIC_SUBNETS + "/{ip}",
          "Subnet of the NIC as CIDR, e.g. 10.0.0.0/24.", leaf=False),
    Field("prefix", NIC_SUBNETS + "/{ip}/prefix", "Subnet prefix length, e.g. 24."),
    Field("ipv6", _NIC + "/ipv6/ipAddress/{ip}/privateIpAddress",
          "Private IPv6 address of the selected IP configuration."),
    Field("interfaces", INTERFACES, "All NICs: MAC, private and public IPs, subnets.",
          leaf=False),
)


def compute_field(key: str) -> Field:
    """The compute field whose IMDS key is ``key`` (KeyError if none)."""
    for f in COMPUTE_FIELDS:
        if f.key == key:
            return f
    raise KeyError(key)


def all_fields() -> Iterator[Tuple[str, Field]]:
    """(group, field) pairs, for docs and tests."""
    for f in COMPUTE_FIELDS:
        yield "compute", f
    for f in NETWORK_FIELDS:
        yield "network", f


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def lookup(fields: Iterable[Field], name: str) -> Optional[Field]:
    """Find a field by IMDS key (case-insensitive), kebab-case name or alias."""
    wanted = _norm(name)
    for f in fields:
        if wanted in {_norm(f.name), _norm(f.key)} | {_norm(a) for a in f.aliases}:
            return f
    return None


def names(fields: Iterable[Field]) -> list:
    """Every name a user may type for these fields (kebab names and aliases)."""
    out = []
    for f in fields:
        out.append(f.name)
        out.extend(f.aliases)
    return out


#: What support bundles redact (imdsctl.support.redact), and why: (endpoint path, route
#: inside its answer with ``*`` for any key or index, reason).
SENSITIVE: Tuple[Tuple[str, str, str], ...] = (
    (INSTANCE_PATH, "compute/userData",
     "user data is free-form (scripts, passwords, keys) and readable by any process on the VM"),
    (INSTANCE_PATH, "compute/customData", "custom data is free-form (scripts, passwords, keys)"),
    (INSTANCE_PATH, "compute/publicKeys",
     "SSH keys, their comments and their paths name the VM's administrators"),
    (INSTANCE_PATH, "compute/osProfile/adminUsername", "the administrator account name is half of a login"),
    (ATTESTED_PATH, "signature",
     "the signed attested document proves this VM's identity to whoever holds it, until it expires"),
)

#: The sensitive routes of the instance document.
SENSITIVE_PATHS: Tuple[str, ...] = tuple(route for path, route, _ in SENSITIVE if path == INSTANCE_PATH)
