"""What the instance commands mean: `get`, `compute`, `network`, `loadbalancer`.

Each function takes ``imds``, a Session (imdsctl.session: IMDS, or a
snapshot of it), and returns a Result (imdsctl.output): the data and how to
show it. No click, no printing: the CLI and the cached fast path share this
module, so both give the same answers.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from . import catalog
from .errors import ImdsctlError, ImdsNotFoundError, NotFoundError, NotImdsError, UsageError
from .output import Result


def _close(name: str, choices: List[str]) -> str:
    import difflib

    matches = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.5)
    return f"did you mean {', '.join(matches)}?" if matches else f"choose from: {', '.join(choices)}"


def field(fields: tuple, group: str, name: str) -> catalog.Field:
    """The catalog field a user named, or a usage error with close matches."""
    found = catalog.lookup(fields, name)
    if found is None:
        raise UsageError(f"unknown {group} field {name!r}; {_close(name, catalog.names(fields))}",
                         f"'imdsctl {group} --help' lists them; 'imdsctl get {group}/<key>' reads any key")
    return found


def absent(imds: Any, route: str, err: ImdsctlError) -> NotFoundError:
    """A 404 or missing key, explained by the api-version when that is why."""
    appeared = catalog.since(route)
    used = imds.api_version
    if appeared and catalog.version_key(appeared) > catalog.version_key(used):
        return NotFoundError(f"{route} is not in api-version {used}: it appeared in {appeared}",
                             f"pass --api-version {appeared} or newer")
    parent = route.rsplit("/", 1)[0] if "/" in route else ""
    hint = err.hint or ("keys are case-sensitive, indices 0-based; "
                        f"'imdsctl get {parent + ' ' if parent else ''}-o json' shows what is there")
    return NotFoundError(f"IMDS has no {route} on this VM ({err.message})" if err.message
                         else f"IMDS has no {route} on this VM", hint)


def fetch(imds: Any, route: str, leaf: bool) -> Any:
    try:
        return imds.leaf(route) if leaf else imds.instance(route)
    except ImdsNotFoundError as err:
        raise absent(imds, route, err) from None


def walk(imds: Any, document: Any, route: str) -> Any:
    try:
        return catalog.walk(document, route)
    except LookupError:
        raise absent(imds, route, NotFoundError("")) from None


_KINDS = {dict: "an object", list: "a list", str: "a string"}


def shaped(value: Any, kind: type, where: str) -> Any:
    """``value`` when it has the shape IMDS documents (``kind``: dict, list or
    str), else NotImdsError naming ``where``: a view takes answers apart only
    through this check."""
    if not isinstance(value, kind):
        raise NotImdsError(f"{where} is {_kind_of(value)}, not {_KINDS[kind]}: not the shape IMDS gives it",
                           "something other than IMDS may be answering")
    return value


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return next((name for kind, name in _KINDS.items() if isinstance(value, kind)), "a value")


def objects(value: Any, where: str) -> List[Dict[str, Any]]:
    """A list of objects (absent or null: none), checked entry by entry."""
    if value is None:
        return []
    return [shaped(item, dict, f"{where}/{index}") for index, item in enumerate(shaped(value, list, where))]


# -- get ------------------------------------------------------------------------


def get(imds: Any, paths: Tuple[str, ...]) -> Any:
    """The instance document, one value, or several values from ONE request."""
    document = imds.instance()
    if not paths:
        return Result(document)
    values = {path.strip("/"): walk(imds, document, path.strip("/")) for path in paths}
    if len(paths) == 1:
        route = next(iter(values))
        return Result(values[route], path=route)
    return Result(values)


# -- compute --------------------------------------------------------------------


DECODABLE = ("userData", "customData")


def compute(imds: Any, name: Optional[str], decode: bool = False) -> Any:
    """The compute object, or one field; ``decode`` base64-decodes user data to bytes."""
    if name is None:
        if decode:
            raise UsageError("--decode needs a field: user-data or custom-data")
        return Result(fetch(imds, catalog.COMPUTE, leaf=False), path=catalog.COMPUTE)
    f = field(catalog.COMPUTE_FIELDS, "compute", name)
    if decode and f.key not in DECODABLE:
        raise UsageError(f"--decode applies to user-data and custom-data, not {f.name}")
    if f.key == "tags":
        return Result(tags(imds), path=f.path)
    value = fetch(imds, f.route(), f.leaf)
    if decode:
        return Result(_base64(value, f.path))
    return Result(value, path=f.path)


def _base64(value: str, path: str) -> bytes:
    import base64
    import binascii

    shaped(value, str, path)
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise NotImdsError(f"{path} is not valid base64, so it cannot be decoded",
                           "print it as IMDS sent it: drop --decode") from None


def tags(imds: Any) -> Dict[str, str]:
    """Tags as an object: from tagsList, or the legacy 'k:v;k:v' string on
    api-versions that have no tagsList (that string breaks on ':' and ';')."""
    tags_list = catalog.compute_field("tagsList")
    if catalog.version_key(imds.api_version) >= catalog.version_key(tags_list.since or ""):
        where = tags_list.path
        entries = objects(fetch(imds, where, False), where)
        return {shaped(t.get("name", ""), str, f"{where}/{i}/name"): shaped(t.get("value", ""), str,
                                                                             f"{where}/{i}/value")
                for i, t in enumerate(entries)}
    legacy = shaped(fetch(imds, catalog.compute_field("tags").path, leaf=True), str, "compute/tags")
    pairs = (item.partition(":") for item in legacy.split(";") if item)
    return {key: value for key, _, value in pairs}


# -- network --------------------------------------------------------------------


def normalize_mac(mac: str) -> str:
    return "".join(c for c in mac.upper() if c in "0123456789ABCDEF")


def network(imds: Any, name: Optional[str] = None, nic: int = 0, ip: int = 0,
            mac: Optional[str] = None) -> Any:
    """The network object, or one field of one NIC (by index or by MAC). A
    --nic or --ip that selects nothing is NotFoundError, whatever is shown."""
    if name is None and mac is None:
        whole = shaped(fetch(imds, catalog.NETWORK, leaf=False), dict, catalog.NETWORK)
        if nic or ip:  # the object shows every NIC, but the selectors must name one that exists
            _select(imds, {"network": whole}, nic, ip)
        return Result(whole, path=catalog.NETWORK)
    f = field(catalog.NETWORK_FIELDS, "network", name or "interfaces")
    document = None
    # The NIC list: to find a MAC, for subnets, and to check a selector the field's path does not use.
    unchecked = (nic and "{nic}" not in f.path) or (ip and "{ip}" not in f.path)
    if mac is not None or unchecked or f.name in ("subnet", "prefix", "interfaces"):
        nics = objects(fetch(imds, catalog.INTERFACES, leaf=False), catalog.INTERFACES)
        nic = _nic_by_mac(nics, mac) if mac is not None else nic
        document = {"network": {"interface": nics}}
        _select(imds, document, nic, ip)
        if f.name == "interfaces":
            return Result(interfaces(nics)[nic] if mac is not None else interfaces(nics))
        if name is None:
            return Result(interfaces(nics)[nic])
    if f.name == "public-ip":
        return public_ip(imds, document, nic, ip)
    if f.name in ("subnet", "prefix"):
        return Result(_subnet(imds, document, f.name, nic, ip), path=f.route(nic, ip))
    if document is not None:
        return Result(walk(imds, document, f.route(nic, ip)), path=f.route(nic, ip))
    return Result(fetch(imds, f.route(nic, ip), f.leaf), path=f.route(nic, ip))


def _select(imds: Any, document: Any, nic: int, ip: int) -> None:
    """NotFoundError unless NIC ``nic`` (and, when not the first, IP configuration ``ip``) exists."""
    walk(imds, document, f"{catalog.INTERFACES}/{nic}")
    if ip:
        walk(imds, document, catalog.NIC_ADDRESS.format(nic=nic, ip=ip))


def _nic_by_mac(nics: List[Dict[str, Any]], mac: str) -> int:
    wanted = normalize_mac(mac)
    for index, interface in enumerate(nics):
        if normalize_mac(str(interface.get("macAddress", ""))) == wanted:
            return index
    macs = ", ".join(str(i.get("macAddress", "?")) for i in nics)
    raise NotFoundError(f"no NIC has MAC {mac}; this VM's NICs: {macs}")


def _subnet(imds: Any, document: Any, name: str, nic: int, ip: int) -> str:
    """The subnet of IP configuration ``ip`` (checked to exist by network()): the
    subnet list's entry of that index, else the NIC's first subnet."""
    route = catalog.NIC_SUBNETS.format(nic=nic)
    subnets = objects(walk(imds, document, route), route)
    if not subnets:
        raise NotFoundError(f"NIC {nic} has no IPv4 subnet")
    subnet = subnets[ip] if ip < len(subnets) else subnets[0]
    if name == "prefix":
        return subnet.get("prefix", "")
    return f"{subnet.get('address', '')}/{subnet.get('prefix', '')}"


def public_ip(imds: Any, document: Any, nic: int, ip: int) -> Any:
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


def _from_loadbalancer(imds: Any, private: str) -> Tuple[str, str]:
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


def loadbalancer(imds: Any) -> Any:
    """The Standard load balancer's view of this VM, or why there is none."""
    try:
        return Result(imds.loadbalancer(), path="loadbalancer")
    except ImdsNotFoundError as err:
        said = err.body.get("error") if isinstance(err.body, dict) else ""
        raise NotFoundError(
            "no load balancer metadata for this VM" + (f": IMDS says {said!r}" if said else ""),
            "IMDS has it only for a Standard SKU load balancer (not Basic, not none), and not while "
            "it is being enabled; instance-level public IPs: 'imdsctl network public-ip'") from None
