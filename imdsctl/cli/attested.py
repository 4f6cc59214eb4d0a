"""attested, attested verify: the signed attested document (imdsctl.attested.document)."""

from __future__ import annotations

from typing import Any, Optional

import click
from click.core import ParameterSource

from imdsctl.attested import document as domain
from imdsctl.attested.verify import CLOUDS
from imdsctl.cli.options import Group, apply_globals, checked, imds_command
from imdsctl.result import Result
from imdsctl.session import Session

_ASKED = "  3-6  IMDS could not be asked, as for every command (see 'imdsctl --help')\n"
SHOW_EXITS = ("\b\nExit codes:\n  0    success\n"
              "  2    usage: a --nonce that is not 1 to 32 letters and digits\n" + _ASKED
              + "  7    the answer is not an attested document")
VERIFY_EXITS = ("\b\nExit codes:\n  0    verified: every check passed or was skipped\n"
                "  2    usage: a bad --nonce, an unusable --ca-file or --file, or\n"
                "       cryptography (a dependency) missing or older than 42\n" + _ASKED
                + "  7    not a genuine IMDS document: it cannot be decoded, or a check failed")


def nonce_option(help: str) -> Any:
    return click.option("--nonce", metavar="NONCE", callback=checked(domain.check_nonce), help=help)


@nonce_option("Up to 32 letters and digits for IMDS to sign into the document "
              "(default: IMDS puts the time, YYYYMMDD-HHMMSS).")
@imds_command
def _show(imds: Session, nonce: Optional[str]) -> Result:
    return domain.show(imds, nonce)


def _options_of(command: Any) -> Any:
    """Give a function the click options of another command (for the group below)."""
    def apply(fn: Any) -> Any:
        fn.__click_params__ = list(command.__click_params__)
        return fn
    return apply


@click.group(cls=Group, invoke_without_command=True, subcommand_metavar="[verify [OPTIONS]]",
             epilog=SHOW_EXITS, examples=(
                 ("The VM id IMDS signed:", "imdsctl attested -q document.vmId"),
                 ("The signed answer, saved for a relying party:",
                  "imdsctl attested -o json --nonce 4829175630 > attested.json")))
@_options_of(_show)
@click.pass_context
def attested(ctx: click.Context, **params: Any) -> Optional[int]:
    """The signed attested document of this VM, or 'verify' to check it.

    Shows the document IMDS signed (nonce, plan, timeStamp, vmId and, by
    api-version, subscriptionId, sku, licenseType) and the signer
    certificate's subject, DNS names, issuer and validity. The table (for
    people) leaves the signature out; -o json keeps it, base64 as IMDS sent
    it, for a relying party to verify. Needs no extra package.
    """
    if ctx.invoked_subcommand is None:
        apply_globals(ctx)
        return _show(**ctx.params)
    given = [p.opts[-1] for p in ctx.command.params
             if ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE]
    if given:
        raise click.UsageError(f"{', '.join(given)} given before 'verify': "
                               f"options go after it (imdsctl attested verify {given[0]} ...)", ctx)
    return None


@attested.command(epilog=VERIFY_EXITS, examples=(
    ("Verify it here, with the system's roots:", "imdsctl attested verify"),
    ("Verify a saved answer anywhere, against given roots:",
     "imdsctl attested verify --file attested.json --nonce 4829175630 --ca-file roots.pem")))
@nonce_option("The nonce to ask with and expect back (default: a fresh random 10-digit one; "
              "with --file, the one the document was asked with).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), metavar="PEM",
              help="Trust this PEM bundle instead of the system trust store: its self-signed "
                   "certificates are the roots, the others intermediates (a bundle without a root "
                   "adds intermediates to the system's roots).")
@click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default="public", show_default=True,
              help="The cloud whose metadata domain must name the signer: "
                   + ", ".join(f"{k} {v}" for k, v in CLOUDS.items()) + ".")
@click.option("--no-fetch", is_flag=True,
              help="Never download a missing intermediate from the signer's caIssuers URL "
                   "(the download honours HTTP(S)_PROXY, unlike requests to IMDS).")
@click.option("--file", "saved", type=click.File("r"), metavar="FILE",
              help="Verify a saved answer (IMDS's JSON, or 'imdsctl attested -o json') instead of "
                   "asking IMDS; '-' reads stdin. The vm check is then skipped.")
@imds_command
def verify(imds: Session, nonce: Optional[str], ca_file: Optional[str], cloud: str, no_fetch: bool,
           saved: Any) -> Result:
    """Check that the attested document is genuine, and say why or why not.

    \b
    signature    the PKCS#7 signature over the document, by the embedded signer
    signer-name  the signer's DNS name is the cloud's metadata domain or below it
    chain        the signer chains to a trusted root (RFC 5280 path validation)
    nonce        the document echoes the nonce sent
    timestamp    expiresOn is in the future, createdOn not > 5 minutes ahead
    vm           vmId and subscriptionId are this VM's (from compute)

    The table (for people) has one row per check; -o json adds the verdict
    ("verified"), the document and the signer.
    """
    result = domain.verify(imds, nonce, ca_file, cloud, no_fetch, saved)
    if not ca_file and any(c["check"] == "chain" and c["result"] == "fail" for c in result.data["checks"]):
        from imdsctl.ui import terminal

        terminal.note("the signer is not trusted here; against the emulator, pass --ca-file with the CA "
                      "that 'imdsctl emulator serve --attested-ca-out FILE' wrote")
    return result
