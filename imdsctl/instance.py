"""What the instance commands mean: `get`, `compute`, `network`, `loadbalancer`.

Each function takes ``imds``, a Session (imdsctl.session: IMDS, or a
snapshot of it), and returns a Result (imdsctl.ui.render): the data and how to
show it. No click, no printing: the CLI and the cached fast path share this
module, so both give the same answers.
"""

from __future__ import annotations

from imdsctl import catalog
from imdsctl.errors import ImdsctlError, ImdsNotFoundError, NotFoundError, NotImdsError, UsageError
from imdsctl.imds.answers import objects, shaped
from imdsctl.result import Result
from imdsctl.ui.shapes import in_section, route

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

    from imdsctl.protocols import Imds
    Names = Union[None, str, Sequence[str]]  # a field's name, several, or none (all)


def _close(name: str, choices: List[str]) -> str:
    import difflib

    matches = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.5)
    return f"did you mean {', '.join(matches)}?" if matches else f"choose from: {', '.join(choices)}"


def field(fields: tuple, group: str, name: str) -> catalog.Field:
    """The catalog field a user named, or a usage error with close matches."""
    found = catalog.lookup(fields, name)
    if found is None:
        raise UsageError(f"unknown {group} field {name!r}; {_close(name, catalog.names(fields))}",
                         f"catalog.names lists them; instance.get reads any key under {group}/",
                         cause="unknown-field", detail={"group": group})
    return found


def absent(imds: Imds, route: str, err: ImdsctlError, document: Any = None) -> NotFoundError:
    """A 404 or missing key, explained by the api-version when that is why, or by the key it
    resembles in ``document`` (IMDS keys are case-sensitive: suggest, never guess)."""
    appeared = catalog.since(route)
    used = imds.api_version
    if appeared and catalog.version_key(appeared) > catalog.version_key(used):
        return NotFoundError(f"{route} is not in api-version {used}: it appeared in {appeared}",
                             f"ask with api-version {appeared} or newer",
                             cause="api-version-too-old", detail={"appeared": appeared})
    parent = route.rsplit("/", 1)[0] if "/" in route else ""
    near = _resembling(document, route) if document is not None else None
    said = f"IMDS has no {route} on this VM" + (f" ({err.message})" if err.message else "")
    if near:
        cause, hint = "", f"did you mean {near}? IMDS keys are case-sensitive"
    elif any(f.route() == route for _, f in catalog.all_fields()):  # spelled right: optional, not absent
        cause, hint = "optional-field", "IMDS leaves optional fields out on some VMs"
    else:  # IMDS's own words, or the advice for a key it does not have
        hint = err.hint or "keys are case-sensitive, indices 0-based"
        cause = "" if err.hint else "no-such-key"
    return NotFoundError(said, hint, cause=cause, detail={"parent": parent})


def fetch(imds: Imds, route: str, leaf: bool) -> Any:
    try:
        return imds.leaf(route) if leaf else imds.instance(route)
    except ImdsNotFoundError as err:
        raise absent(imds, route, err) from None


def walk(imds: Imds, document: Any, route: str) -> Any:
    try:
        return catalog.walk(document, route)
    except LookupError:
        raise absent(imds, route, NotFoundError(""), document) from None


def _resembling(document: Any, route: str) -> Optional[str]:
    """The route ``document`` has that ``route`` most resembles, if one does."""
    import difflib

    node, found = document, []
    for part in [p for p in route.split("/") if p]:
        if isinstance(node, dict):
            keys = [k for k in node if k == part] or [k for k in node if k.lower() == part.lower()] \
                or difflib.get_close_matches(part, [str(k) for k in node], n=1, cutoff=0.75)
            if not keys:
                return None
            found.append(keys[0])
            node = node[keys[0]]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            found.append(str(int(part)))
            node = node[int(part)]
        else:
            return None
    near = "/".join(found)
    return near if near != route.strip("/") else None


def route_of(path: str) -> str:
    """A PATH in any form imdsctl prints or people paste (ui.shapes.route), below /metadata/instance."""
    return route(path, catalog.INSTANCE_PATH.strip("/"))


# -- get ------------------------------------------------------------------------


def get(imds: Imds, paths: Sequence[str] = (), allow_missing: bool = False) -> Result:
    """The instance document, one value, or several values from ONE request;
    with ``allow_missing``, a path IMDS does not have is null instead of an error."""
    document = imds.instance()
    routes = [in_section(document, route_of(path)) for path in paths]
    if not routes or routes == [""]:
        return Result(document)
    values = {route: _value(imds, document, route, allow_missing) for route in routes}
    if len(values) == 1:
        route = next(iter(values))
        return Result(values[route], path=route)
    return Result(values)


def _value(imds: Imds, document: Any, route: str, allow_missing: bool) -> Any:
    try:
        return walk(imds, document, route)
    except NotFoundError:
        if allow_missing:
            return None
        raise


# -- compute --------------------------------------------------------------------


DECODABLE = ("userData", "customData")


def _names(names: Names) -> Tuple[str, ...]:
    return (names,) if isinstance(names, str) else tuple(names or ())


def compute(imds: Imds, names: Names = (), decode: bool = False, allow_missing: bool = False,
            everything: bool = False) -> Result:
    """The compute object (for people, a summary unless ``everything``), one
    field, or several fields from ONE request (keyed by IMDS path); ``decode``
    base64-decodes user data to bytes; with ``allow_missing`` a field this VM
    or api-version lacks is null instead of an error."""
    wanted = [field(catalog.COMPUTE_FIELDS, "compute", name) for name in _names(names)]
    if decode and len(wanted) != 1:
        raise UsageError("--decode needs a field: user-data or custom-data" if not wanted
                         else "--decode takes one field: user-data or custom-data")
    if decode and wanted[0].key not in DECODABLE:
        raise UsageError(f"--decode applies to user-data and custom-data, not {wanted[0].name}")
    if not wanted:
        document = fetch(imds, catalog.COMPUTE, leaf=False)
        return Result(document, path=catalog.COMPUTE, table=None if everything else _summary)
    if len(wanted) > 1:
        document = {catalog.COMPUTE: fetch(imds, catalog.COMPUTE, leaf=False)}
        return Result({f.path: _compute_value(imds, f, document, allow_missing) for f in wanted})
    f = wanted[0]
    value = _compute_value(imds, f, None, allow_missing)
    return Result(_base64(value, f.path) if decode else value, path=f.path)


def _compute_value(imds: Imds, f: catalog.Field, document: Any, allow_missing: bool) -> Any:
    """One field's value, from ``document`` when there is one, else asked of IMDS."""
    try:
        if f.key == "tags":
            return tags(imds, document)
        return walk(imds, document, f.route()) if document is not None else fetch(imds, f.route(), f.leaf)
    except NotFoundError:
        if allow_missing:
            return None
        raise


#: What people look for first in the compute facts: (label, IMDS key or a function of the document).
SUMMARY: Tuple[Tuple[str, Any], ...] = (
    ("name", "name"), ("vm-id", "vmId"), ("vm-size", "vmSize"), ("location", "location"),
    ("zone", "zone"), ("os-type", "osType"),
    ("image", lambda c: ":".join(str(c.get(k, "")) for k in ("publisher", "offer", "sku", "version"))
     if c.get("offer") else (c.get("storageProfile", {}).get("imageReference", {}) or {}).get("id", "")),
    ("resource-group", "resourceGroupName"), ("subscription-id", "subscriptionId"),
    ("priority", "priority"),
    ("tags", lambda c: "; ".join(f"{t.get('name', '')}={t.get('value', '')}" for t in c.get("tagsList") or [])
     if isinstance(c.get("tagsList"), list) else c.get("tags", "")),
)


def _summary(document: Any) -> Any:
    """The compute table for people: one screen, and how to see every value."""
    from imdsctl.ui.shapes import flatten
    from imdsctl.ui.tables import Captioned

    if not isinstance(document, dict):
        return document
    shaped(document.get("storageProfile") or {}, dict, "compute/storageProfile")
    objects(document.get("tagsList"), "compute/tagsList")
    rows = {label: (key(document) if callable(key) else document.get(key, "")) for label, key in SUMMARY}
    total = sum(1 for _ in flatten(document))
    return Captioned(rows, f"{len(rows)} of {total} values; every one: imdsctl compute --all, or -o json")


def _base64(value: str, path: str) -> bytes:
    import base64
    import binascii

    shaped(value, str, path)
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise NotImdsError(f"{path} is not valid base64, so it cannot be decoded",
                           "read it as IMDS sent it, undecoded", cause="not-base64") from None


def tags(imds: Imds, document: Any = None) -> Dict[str, str]:
    """Tags as an object: from tagsList, or the legacy 'k:v;k:v' string on
    api-versions that have no tagsList (that string breaks on ':' and ';');
    from ``document`` (the instance document) when there is one."""
    tags_list, legacy_field = catalog.compute_field("tagsList"), catalog.compute_field("tags")
    read = (lambda f: walk(imds, document, f.path)) if document is not None else \
        (lambda f: fetch(imds, f.path, f is legacy_field))
    if catalog.version_key(imds.api_version) >= catalog.version_key(tags_list.since or ""):
        where = tags_list.path
        return {shaped(t.get("name", ""), str, f"{where}/{i}/name"): shaped(t.get("value", ""), str,
                                                                             f"{where}/{i}/value")
                for i, t in enumerate(objects(read(tags_list), where))}
    legacy = shaped(read(legacy_field), str, legacy_field.path)
    pairs = (item.partition(":") for item in legacy.split(";") if item)
    return {key: value for key, _, value in pairs}


# -- network --------------------------------------------------------------------


def normalize_mac(mac: str) -> str:
    return "".join(c for c in mac.upper() if c in "0123456789ABCDEF")


def network(imds: Imds, names: Names = (), nic: Optional[int] = None, ip: int = 0,
            mac: Optional[str] = None, allow_missing: bool = False) -> Result:
    """The network object; one NIC (by index, or by MAC in any notation); or
    fields of one NIC and IP configuration (default the first), several from
    ONE request. A selector out of range is not found, for every field."""
    wanted = [field(catalog.NETWORK_FIELDS, "network", name) for name in _names(names)]
    if not wanted and mac is None and nic is None:
        whole = fetch(imds, catalog.NETWORK, leaf=False)
        _ip_exists(imds, {"network": whole}, 0, ip)  # every NIC is shown, but --ip must name something
        return Result(whole, path=catalog.NETWORK)
    whole_nic = not wanted or [f.name for f in wanted] == ["interfaces"]
    if whole_nic and mac is None and nic is None:
        nics = fetch(imds, catalog.INTERFACES, leaf=False)
        _ip_exists(imds, {"network": {"interface": nics}}, 0, ip)
        return Result(interfaces(nics), path=INTERFACES_VIEW)
    if len(wanted) == 1 and not whole_nic and mac is None and wanted[0].name not in ("subnet", "prefix") \
            and (not ip or "{ip}" in wanted[0].path):  # IMDS's 404 tells a selector out of range
        return _network_value(imds, wanted[0], None, nic or 0, ip)  # one request for one leaf
    nics = objects(fetch(imds, catalog.INTERFACES, leaf=False), catalog.INTERFACES)
    nic = _nic_by_mac(nics, mac) if mac is not None else _index(nics, nic or 0, "NIC", "network/interface")
    _ip_exists(imds, {"network": {"interface": nics}}, nic, ip)
    if whole_nic:
        return Result(interfaces(nics)[nic], path=f"{INTERFACES_VIEW}/{nic}")
    document = {"network": {"interface": nics}}
    values = {}
    for f in wanted:
        try:
            result = _network_value(imds, f, document, nic, ip)
        except NotFoundError:
            if not allow_missing:
                raise
            result = Result(None, path=f.route(nic, ip))
        if len(wanted) == 1:
            return result
        values[result.path] = result.data
    return Result(values)


#: The path that names the NIC summaries (-o env: IMDS_NETWORK_INTERFACES_0_MACADDRESS).
INTERFACES_VIEW = "network/interfaces"


def _network_value(imds: Imds, f: catalog.Field, document: Any, nic: int, ip: int) -> Result:
    if f.name == "interfaces":
        return Result(interfaces(document["network"]["interface"]), path=INTERFACES_VIEW)
    if f.name == "public-ip":
        return public_ip(imds, document, nic, ip)
    if f.name in ("subnet", "prefix"):
        return Result(_subnet(imds, document, f.name, nic, ip), path=f.route(nic, ip))
    if document is not None:
        return Result(walk(imds, document, f.route(nic, ip)), path=f.route(nic, ip))
    return Result(fetch(imds, f.route(nic, ip), f.leaf), path=f.route(nic, ip))


def _ip_exists(imds: Imds, document: Any, nic: int, ip: int) -> None:
    """Not found (exit 3) when IP configuration ``ip`` (not the first) of NIC ``nic`` does not exist."""
    if ip:
        walk(imds, document, catalog.NIC_ADDRESS.format(nic=nic, ip=ip))


def _index(items: List[Any], index: int, what: str, route: str) -> int:
    """``index`` when ``items`` has it; not found (exit 3) otherwise."""
    if not 0 <= index < len(items):
        raise NotFoundError(f"this VM has no {what} {index} ({route} lists {len(items)})",
                            f"{route} shows what is there", cause="no-such-index", detail={"route": route})
    return index


def _nic_by_mac(nics: List[Dict[str, Any]], mac: str) -> int:
    wanted = normalize_mac(mac)
    for index, interface in enumerate(nics):
        if normalize_mac(str(interface.get("macAddress", ""))) == wanted:
            return index
    macs = ", ".join(str(i.get("macAddress", "?")) for i in nics)
    raise NotFoundError(f"no NIC has MAC {mac}; this VM's NICs: {macs}")


def _subnet(imds: Imds, document: Any, name: str, nic: int, ip: int) -> str:
    addresses = walk(imds, document, catalog.NIC_ADDRESS.format(nic=nic, ip=0).rsplit("/", 1)[0])
    _index(addresses if isinstance(addresses, list) else [], ip, "IP configuration",
           catalog.NIC_ADDRESS.format(nic=nic, ip=ip).rsplit("/", 1)[0])
    route = catalog.NIC_SUBNETS.format(nic=nic)
    subnets = objects(walk(imds, document, route), route)
    # Every IP configuration of a NIC is in its subnet: IMDS lists one per NIC, or one per configuration.
    subnet = subnets[ip] if ip < len(subnets) else (subnets[0] if subnets else None)
    if subnet is None:
        raise NotFoundError(f"NIC {nic} has no IPv4 subnet")
    if name == "prefix":
        return subnet.get("prefix", "")
    return f"{subnet.get('address', '')}/{subnet.get('prefix', '')}"


def public_ip(imds: Imds, document: Any, nic: int, ip: int) -> Any:
    """The public IP of one IP configuration, and where it came from: the
    instance-level (Basic SKU) address, else the Standard load balancer's
    frontend for this private IP
    (https://learn.microsoft.com/azure/load-balancer/howto-load-balancer-imds)."""
    route = catalog.NIC_ADDRESS.format(nic=nic, ip=ip)
    entry = walk(imds, document, route) if document is not None else fetch(imds, route, leaf=False)
    entry = shaped(entry, dict, route)
    private = shaped(entry.get("privateIpAddress", ""), str, f"{route}/privateIpAddress")
    public = shaped(entry.get("publicIpAddress", ""), str, f"{route}/publicIpAddress")
    source = "instance"
    if not public:
        public, source = _from_loadbalancer(imds, private)
    imds.explain(f"public IP {public} of {private} comes from the "
                 + ("instance-level (Basic SKU) address" if source == "instance"
                    else f"Standard load balancer ({source})"))
    return Result(public, path=f"{route}/publicIpAddress",
                  structured={"publicIpAddress": public, "privateIpAddress": private, "source": source})


def _from_loadbalancer(imds: Imds, private: str) -> Tuple[str, str]:
    try:
        balancer = imds.loadbalancer()
    except ImdsNotFoundError:
        raise NotFoundError(f"no public IP for {private}: no instance-level address, and no "
                            "Standard load balancer metadata for this VM",
                            "a VM behind a NAT gateway or firewall has no public IP of its own") from None
    balancer = shaped(balancer, dict, "loadbalancer")
    for section in ("publicIpAddresses", "outboundRules", "inboundRules"):
        for rule in objects(balancer.get(section), f"loadbalancer/{section}"):
            if rule.get("privateIpAddress") == private and rule.get("frontendIpAddress"):
                return rule["frontendIpAddress"], f"loadbalancer.{section}"
    raise NotFoundError(f"no public IP for {private}: no instance-level address, and the load "
                        "balancer lists no frontend for it")


def interfaces(nics: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One summary row per NIC, for people and for --query."""
    rows = []
    for index, nic in enumerate(objects(nics, catalog.INTERFACES)):
        where = f"{catalog.INTERFACES}/{index}"
        ipv4 = shaped(nic.get("ipv4") or {}, dict, f"{where}/ipv4")
        ipv6 = shaped(nic.get("ipv6") or {}, dict, f"{where}/ipv6")
        addresses = objects(ipv4.get("ipAddress"), f"{where}/ipv4/ipAddress")
        rows.append({
            "nic": str(index),
            "macAddress": nic.get("macAddress", ""),
            "privateIps": [a.get("privateIpAddress", "") for a in addresses],
            "publicIps": [a["publicIpAddress"] for a in addresses if a.get("publicIpAddress")],
            "subnets": [f"{s.get('address', '')}/{s.get('prefix', '')}"
                        for s in objects(ipv4.get("subnet"), f"{where}/ipv4/subnet")],
            "ipv6Ips": [a.get("privateIpAddress", "")
                        for a in objects(ipv6.get("ipAddress"), f"{where}/ipv6/ipAddress")],
        })
    return rows


# -- loadbalancer ---------------------------------------------------------------


def loadbalancer(imds: Imds) -> Any:
    """The Standard load balancer's view of this VM, or why there is none."""
    try:
        return Result(imds.loadbalancer(), path="loadbalancer")
    except ImdsNotFoundError as err:
        said = err.body.get("error") if isinstance(err.body, dict) else ""
        raise NotFoundError(
            "no load balancer metadata for this VM" + (f": IMDS says {said!r}" if said else ""),
            "IMDS has it only for a Standard SKU load balancer (not Basic, not none), and not while "
            "it is being enabled; instance-level public IPs: 'imdsctl network public-ip'") from None
