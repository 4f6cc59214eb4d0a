"""identity token, info: managed identity (imdsctl.identity)."""

from __future__ import annotations

from typing import Optional

import click

from imdsctl import catalog
from imdsctl import identity as domain
from imdsctl.cli.options import Group, checked, imds_command
from imdsctl.result import Result
from imdsctl.session import Session

API_VERSION_HELP = (f"Managed identity api-version (default {catalog.IDENTITY_API_VERSION}; "
                    "IMDSCTL_API_VERSION, an instance version, is ignored).")


@click.group(cls=Group)
def identity() -> None:
    """Managed identity: access tokens and the tenant, from IMDS.

    The VM's managed identities get Microsoft Entra ID tokens from IMDS,
    without any secret on the VM. IMDS allows 20 token requests per second
    (5 at a time) per VM and caches tokens itself: reuse a token until its
    expires_on instead of asking for each call.
    """


@identity.command(examples=(
    ("A token for Azure Resource Manager, in a variable (a pipe gets the token, a terminal a mask):",
     domain.SCRIPT_IDIOM.replace("URI", "https://management.azure.com/")),
    ("For one of several user-assigned identities:",
     "imdsctl identity token --resource https://vault.azure.net "
     "--client-id be5947ed-3560-4afe-9504-59967a63f810")))
@click.option("--resource", required=True, metavar="URI",
              help="Application ID URI of the target, e.g. https://management.azure.com/ "
                   "(a scope ending in /.default is accepted and trimmed, as the Azure SDKs do).")
@click.option("--client-id", metavar="GUID", callback=checked(domain.check_guid),
              help="Use the user-assigned identity with this client id.")
@click.option("--object-id", metavar="GUID", callback=checked(domain.check_guid),
              help="Use the user-assigned identity with this object (principal) id.")
@click.option("--msi-res-id", metavar="ARM_ID", callback=checked(domain.check_arm_id),
              help="Use the user-assigned identity with this Azure resource id.")
@click.option("--show-token", is_flag=True,
              help="Print the access token on a terminal too (it is masked there otherwise).")
@imds_command(api_version_help=API_VERSION_HELP)
def token(imds: Session, resource: str, client_id: Optional[str], object_id: Optional[str],
          msi_res_id: Optional[str], show_token: bool) -> Result:
    """An access token of the VM's managed identity, for --resource.

    Prints IMDS's answer as it sends it, every value a string: access_token,
    client_id, expires_in, expires_on and not_before (epoch seconds),
    ext_expires_in, resource, token_type. Without a selector IMDS picks the
    system-assigned identity, or the only user-assigned one; with several
    user-assigned identities name one with --client-id, --object-id or
    --msi-res-id (at most one of them).

    When stdout is a terminal the access token is masked unless
    --show-token; a pipe or a file always gets it. It is never logged, not
    even with --debug.

    The request uses api-version 2018-02-01, like every Azure SDK;
    IMDSCTL_API_VERSION (an instance setting) does not apply, an explicit
    --api-version does. 404 and 410 (IMDS updating), 429 and 5xx are retried
    within --timeout.
    """
    return domain.token(imds, resource, client_id, object_id, msi_res_id, show_token)


@identity.command(examples=(("The tenant, bare:", "imdsctl identity info -q tenantId"),))
@imds_command(api_version_help=API_VERSION_HELP)
def info(imds: Session) -> Result:
    """The Entra ID tenant of the VM's managed identities.

    Prints IMDS's answer, {"tenantId": "<guid>"}. Asked with api-version
    2018-02-01 unless --api-version is given on the command line; 410, 429
    and 5xx are retried within --timeout.
    """
    return domain.info(imds)
