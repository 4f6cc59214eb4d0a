"""get, compute, network, loadbalancer, versions: the instance commands.
Their meaning is imdsctl.views."""

from __future__ import annotations

from typing import Any, Optional

import click

from .. import catalog, views
from ..errors import UsageError
from ..output import Result
from ..session import Session
from .options import Output, complete_words, imds_command


def _fields_help(fields: tuple) -> str:
    lines = [f"  {f.name:<28}{f.help}" for f in fields]
    return "\b\nFields:\n" + "\n".join(lines)


def _complete_fields(fields: tuple) -> Any:
    return complete_words(lambda: catalog.names(fields))


max_age_option = click.option(
    "--max-age", envvar="IMDSCTL_MAX_AGE", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
    help="Answer from a snapshot of the instance document younger than this, kept per boot in a "
         "private runtime directory (default 0: always ask IMDS).")


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@max_age_option
@imds_command
def get(imds: Session, paths: tuple, max_age: float) -> Result:
    """Read raw paths under /metadata/instance, e.g. compute/vmId.

    PATH walks the instance document with IMDS's own route syntax: keys are
    case-sensitive, list entries are 0-based indices
    (network/interface/0/ipv4/ipAddress/0/publicIpAddress). Without a PATH,
    the whole document. Several PATHs are answered from ONE request, as an
    object keyed by path.
    """
    imds.use_cache(max_age)
    return views.get(imds, paths)


@click.command(epilog=_fields_help(catalog.COMPUTE_FIELDS))
@click.argument("field", required=False, shell_complete=_complete_fields(catalog.COMPUTE_FIELDS))
@click.option("--decode", is_flag=True,
              help="Base64-decode user-data or custom-data and write the bytes as they are.")
@max_age_option
@imds_command(with_output=True)
def compute(imds: Session, out: Output, field: Optional[str], decode: bool, max_age: float) -> Result:
    """The compute facts of this VM, or one FIELD of them.

    FIELD is an IMDS key in any case (vmId, vmid) or kebab-case (vm-id,
    resource-group-name), or a short alias (fault-domain, update-domain,
    resource-group). 'tags' gives the tags as an object.
    """
    if decode and out.query is not None:
        raise UsageError("--decode writes raw bytes: it does not combine with --query")
    imds.use_cache(max_age)
    return views.compute(imds, field, decode)


def _mac(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    """Validate --mac before any request: 12 hex digits in any notation."""
    if value is None:
        return None
    if len(views.normalize_mac(value)) != 12 or any(c not in "0123456789abcdefABCDEF:-. " for c in value):
        raise click.BadParameter(f"{value!r} is not a MAC address (e.g. 00:0d:3a:1b:2c:3d)")
    return value


@click.command(epilog=_fields_help(catalog.NETWORK_FIELDS))
@click.argument("field", required=False, shell_complete=_complete_fields(catalog.NETWORK_FIELDS))
@click.option("--nic", type=click.IntRange(min=0), default=0, show_default=True,
              help="NIC index (IMDS does not guarantee NIC order: prefer --mac).")
@click.option("--ip", type=click.IntRange(min=0), default=0, show_default=True,
              help="IP configuration index on the NIC.")
@click.option("--mac", metavar="MAC", callback=_mac,
              help="Select the NIC by MAC address, in any notation.")
@max_age_option
@imds_command
def network(imds: Session, field: Optional[str], nic: int, ip: int, mac: Optional[str],
            max_age: float) -> Result:
    """The network facts of this VM, or one FIELD of one NIC.

    Defaults to the first NIC and its first IP configuration. public-ip falls
    back to the Standard load balancer's frontend address when the VM has no
    instance-level one (--debug, or -o json, says which). A --nic, --ip or
    --mac that selects nothing exits 3, whatever is shown (without a FIELD,
    every NIC).
    """
    imds.use_cache(max_age)
    return views.network(imds, field, nic, ip, mac)


@click.command()
@imds_command
def loadbalancer(imds: Session) -> Result:
    """The Standard load balancer's view of this VM: public IPs, inbound and
    outbound rules (api-version 2020-10-01; none for a Basic SKU)."""
    return views.loadbalancer(imds)


@click.command()
@imds_command
def versions(imds: Session) -> Result:
    """The api-versions IMDS offers, oldest first."""
    return Result(imds.versions())
