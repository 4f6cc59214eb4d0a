"""get, compute, network, loadbalancer, versions: the instance commands.
Their meaning is imdsctl.instance."""

from __future__ import annotations

from typing import Any, Dict, Optional

import click

from imdsctl import catalog, instance
from imdsctl.cli.options import (
    Output,
    check_api_version,
    command,
    complete_words,
    imds_command,
    shared_option,
)
from imdsctl.errors import UsageError
from imdsctl.result import Result
from imdsctl.session import Session


def _complete_fields(fields: tuple) -> Any:
    return complete_words(lambda: {name: f.help for f in fields for name in (f.name, *f.aliases)})


def routes() -> Dict[str, str]:
    """Every route the catalog knows below /metadata/instance (list entries as
    index 0), with the friendly field's help where there is one: what
    ``imdsctl get`` completes."""
    known: Dict[str, str] = {}
    for path, _ in catalog.SCHEMA_SINCE:
        parts = path.replace("*", "0").split("/")
        for n in range(1, len(parts) + 1):
            known.setdefault("/".join(parts[:n]), "")
    for _, f in catalog.all_fields():
        parts = f.route().split("/")
        for n in range(1, len(parts) + 1):
            known.setdefault("/".join(parts[:n]), "")
        known[f.route()] = f.help
    return dict(sorted(known.items()))


max_age_option = shared_option("max_age")
allow_missing_option = click.option(
    "--allow-missing", is_flag=True,
    help="A field or path IMDS does not have (this VM, this api-version) is null (an empty value in "
         "text, tsv and env) instead of exit 3: for optional ones such as zone or evictionPolicy.")


@command(examples=(
    ("Two fields from one request, as shell variables; the script stops if IMDS fails:",
     'vars=$(imdsctl get -o env compute/vmId compute/location) && eval "$vars"'),
    ("A path as Microsoft's documentation writes it:", "imdsctl get /metadata/instance/compute/vmId"),
    ("The names of the data disks, one per line:",
     "imdsctl get compute/storageProfile/dataDisks -q '[].name' -o tsv")))
@click.argument("paths", nargs=-1, metavar="[PATH]...", shell_complete=complete_words(routes))
@allow_missing_option
@max_age_option
@imds_command
def get(imds: Session, paths: tuple, allow_missing: bool, max_age: float) -> Result:
    """Read raw paths under /metadata/instance, e.g. compute/vmId.

    PATH walks the instance document with IMDS's own route syntax: keys are
    case-sensitive, list entries are 0-based indices
    (network/interface/0/ipv4/ipAddress/0/publicIpAddress). Any key imdsctl
    prints is a PATH too (compute.storageProfile.dataDisks[0].name, or vmId
    as compute --all shows it), and so is the form of Microsoft's
    documentation, /metadata/instance/compute/vmId?api-version=..., or a whole
    URL: its host is not used, its api-version is unless --api-version is
    given.
    A key in the wrong case is not found, with the right spelling suggested.
    Without a PATH, the whole document. Several PATHs are answered from ONE
    request, as an object keyed by path.
    """
    _settle_pasted(imds, paths)
    imds.use_cache(max_age)
    return instance.get(imds, paths, allow_missing)


def _settle_pasted(imds: Session, paths: tuple) -> None:
    """What a pasted URL or docs path says besides its route: its host is not
    used (said once when it is not the endpoint in use), and its api-version
    is, unless --api-version was given (--debug says which)."""
    from imdsctl.session import COMMANDLINE
    from imdsctl.ui import terminal
    from imdsctl.ui.shapes import pasted, query_value

    settings = imds.settings
    origins = {origin for origin in (pasted(p)[2] for p in paths) if origin}
    for origin in sorted(origins - {settings.endpoint.rstrip("/")}):
        terminal.note(f"the host of {origin} is not used: asking {settings.endpoint}, the endpoint in use")
    versions = [v for v in (query_value(pasted(p)[1], "api-version") for p in paths) if v]
    if not versions:
        return
    if settings.api_version_from == COMMANDLINE:
        imds.explain(f"api-version {settings.api_version} from --api-version; "
                     f"the pasted path's api-version={versions[0]} is not used")
        return
    check_api_version(versions[0], "the pasted path's api-version")
    imds.settings = settings._replace(api_version=versions[0], api_version_from=COMMANDLINE)
    imds.explain(f"api-version {versions[0]} from the pasted path (no --api-version given)")


@command(fields=catalog.COMPUTE_FIELDS, examples=(
    ("The VM's unique id, bare, for a script:", "imdsctl compute vm-id"),
    ("Several fields from one request, tab-separated:", "imdsctl compute vm-id location zone -o tsv"),
    ("The tags as an object, in YAML:", "imdsctl compute tags -o yaml")))
@click.argument("fields", nargs=-1, metavar="[FIELD]...",
                shell_complete=_complete_fields(catalog.COMPUTE_FIELDS))
@click.option("--decode", is_flag=True,
              help="Base64-decode user-data or custom-data and write the bytes as they are.")
@allow_missing_option
@click.option("--all", "everything", is_flag=True,
              help="On a terminal, show every value in the table, not the summary.")
@max_age_option
@imds_command(with_output=True)
def compute(imds: Session, out: Output, fields: tuple, decode: bool, allow_missing: bool, everything: bool,
            max_age: float) -> Result:
    """The compute facts of this VM, or FIELDs of them.

    FIELD is an IMDS key in any case (vmId, vmid) or kebab-case (vm-id,
    resource-group-name), or a short alias (fault-domain, update-domain,
    resource-group). 'tags' gives the tags as an object. Several FIELDs are
    answered from ONE request, as an object keyed by IMDS path. On a
    terminal, without FIELD, a summary of what people look for first.
    """
    if decode and out.query is not None:
        raise UsageError("--decode writes raw bytes: it does not combine with --query")
    imds.use_cache(max_age)
    return instance.compute(imds, fields, decode, allow_missing, everything)


def _mac(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    """Validate --mac before any request: 12 hex digits in any notation."""
    if value is None:
        return None
    if len(instance.normalize_mac(value)) != 12 or any(c not in "0123456789abcdefABCDEF:-. " for c in value):
        raise click.BadParameter(f"{value!r} is not a MAC address (e.g. 00:0d:3a:1b:2c:3d)")
    return value


@command(fields=catalog.NETWORK_FIELDS, examples=(
    ("The private IP of the first NIC:", "imdsctl network private-ip"),
    ("The NIC with a given MAC address, in any notation:",
     "imdsctl network private-ip --mac 00:0d:3a:1b:2c:3d"),
    ("Every NIC, one row each:", "imdsctl network interfaces -o table")))
@click.argument("fields", nargs=-1, metavar="[FIELD]...",
                shell_complete=_complete_fields(catalog.NETWORK_FIELDS))
@click.option("--nic", type=click.IntRange(min=0), metavar="N",
              help="NIC index [default: 0] (IMDS does not guarantee NIC order: prefer --mac).")
@click.option("--ip", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="IP configuration index on the NIC.")
@click.option("--mac", metavar="MAC", callback=_mac,
              help="Select the NIC by MAC address, in any notation.")
@allow_missing_option
@max_age_option
@imds_command
def network(imds: Session, fields: tuple, nic: Optional[int], ip: int, mac: Optional[str],
            allow_missing: bool, max_age: float) -> Result:
    """The network facts of this VM, one NIC, or FIELDs of one NIC.

    Defaults to the first NIC and its first IP configuration; --nic or --mac
    alone gives that NIC's summary. Several FIELDs are answered from ONE
    request. A NIC or IP configuration this VM does not have is exit 3.
    public-ip falls back to the Standard load balancer's frontend address
    when the VM has no instance-level one (--debug, or -o json, says which).
    """
    imds.use_cache(max_age)
    return instance.network(imds, fields, nic, ip, mac, allow_missing)


@command(examples=(
    ("The frontend addresses of this VM:",
     "imdsctl loadbalancer -q 'publicIpAddresses[].frontendIpAddress' -o tsv"),))
@imds_command
def loadbalancer(imds: Session) -> Result:
    """The Standard load balancer's view of this VM: public IPs, inbound and
    outbound rules (api-version 2020-10-01; none for a Basic SKU)."""
    return instance.loadbalancer(imds)


@command(examples=(("The newest api-version IMDS offers:", "imdsctl versions -q '[-1]'"),))
@imds_command
def versions(imds: Session) -> Result:
    """The api-versions IMDS offers, oldest first."""
    return Result(imds.versions())
