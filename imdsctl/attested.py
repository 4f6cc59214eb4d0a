"""imdsctl attested: the VM's signed attested document, shown or verified.

``GET /metadata/attested/document?api-version=...&nonce=...`` answers
``{"encoding": "pkcs7", "signature": "<base64>"}``: a DER PKCS#7 SignedData
with the JSON document attached and only the signer (leaf) certificate
embedded (reference section 8).

Showing the document needs only the standard library: imdsctl.pkcs7 takes
the SignedData apart and reads the few certificate fields people are shown.
Verifying needs the optional ``cryptography`` package (the ``attested``
extra) and lives in imdsctl.attested_verify.

The nonce: the docs say "a 10-digit string", the API spec "up to 32 random
alphanumeric characters".  imdsctl accepts 1 to 32 ASCII letters and digits
(which includes every 10-digit string) and refuses anything else before
asking (exit 2); ``verify`` sends a fresh random 10-digit nonce unless told one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import secrets
import sys
from typing import Any, Dict, NamedTuple, Optional

import click
from click.core import ParameterSource

from . import catalog
from .attested_verify import CLOUDS
from .cli import Session, Verdict, imds_command
from .errors import ExitCode, NotImdsError
from .output import default_format
from .pkcs7 import DATA, Envelope, Malformed, describe, parse_envelope

NONCE = re.compile(r"[A-Za-z0-9]{1,32}")

# -- decoding IMDS's answer ---------------------------------------------------------------


class Attested(NamedTuple):
    """An attested answer taken apart."""

    signature: str                  #: the base64 IMDS sent
    envelope: Envelope
    document: Dict[str, Any]        #: the signed JSON document
    signer: Dict[str, Any]          #: describe() of the signer certificate


def decode(body: Any, where: str) -> Attested:
    """Take IMDS's answer apart; NotImdsError when it is not an attested document."""
    hint = "something other than IMDS may be answering"
    if not isinstance(body, dict) or not isinstance(body.get("signature"), str):
        raise NotImdsError(f"{where} returned no signature: not an attested document", hint)
    if body.get("encoding") != "pkcs7":
        raise NotImdsError(f"{where} returned encoding {body.get('encoding')!r}, not 'pkcs7'", hint)
    try:
        envelope = parse_envelope(base64.b64decode("".join(body["signature"].split()), validate=True))
        signer = describe(envelope.signer)
        document = json.loads(envelope.content)
    except (binascii.Error, ValueError, IndexError) as exc:  # Malformed is a ValueError
        why = str(exc) if isinstance(exc, (Malformed, binascii.Error)) else "unexpected structure"
        raise NotImdsError(f"{where} returned a signature that is not a PKCS#7 SignedData "
                           f"with a JSON document ({why})", hint) from None
    if envelope.content_type != DATA or not isinstance(document, dict):
        raise NotImdsError(f"{where} returned a signed content that is not a JSON object", hint)
    return Attested(body["signature"], envelope, document, signer)


# -- the commands ----------------------------------------------------------------------------

_ASKED = "  3-6  IMDS could not be asked, as for every command (see 'imdsctl --help')\n"
SHOW_EXITS = ("\b\nExit codes:\n  0    success\n"
              "  2    usage: a --nonce that is not 1 to 32 letters and digits\n" + _ASKED
              + "  7    the answer is not an attested document")
VERIFY_EXITS = ("\b\nExit codes:\n  0    verified: every check passed or was skipped\n"
                "  2    usage: a bad --nonce, an unusable --ca-file or --file, or the\n"
                "       'attested' extra (cryptography) not installed\n" + _ASKED
                + "  7    not a genuine IMDS document: it cannot be decoded, or a check failed")


def _nonce(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    if value is not None and not NONCE.fullmatch(value):
        raise click.BadParameter(f"{value!r} is not 1 to 32 letters and digits (e.g. 4829175630)")
    return value


def nonce_option(help: str) -> Any:
    return click.option("--nonce", metavar="NONCE", callback=_nonce, help=help)


def request(imds: Session, nonce: Optional[str]) -> Attested:
    """Ask IMDS for the attested document (instance api-version) and take it apart."""
    answer = imds.client.request("GET", catalog.ATTESTED_PATH,
                                 params={"nonce": nonce} if nonce else None)
    return decode(answer.body, f"GET {catalog.ATTESTED_PATH}")


def _for_people(imds: Session, data: Any) -> bool:
    """Whether the table for people is wanted (as az's table transformers: not after -q)."""
    settings = imds.settings
    return settings.query is None and (settings.output or default_format(data, sys.stdout)) == "table"


@nonce_option("Up to 32 letters and digits for IMDS to sign into the document "
              "(default: IMDS puts the time, YYYYMMDD-HHMMSS).")
@imds_command
def _show(imds: Session, nonce: Optional[str]) -> Any:
    attested = request(imds, nonce)
    data = {"encoding": "pkcs7", "document": attested.document, "signer": attested.signer,
            "signature": attested.signature}
    if _for_people(imds, data):
        del data["signature"]
    return data


def _options_of(command: Any) -> Any:
    """Give a function the click options of another command (for the group below)."""
    def apply(fn: Any) -> Any:
        fn.__click_params__ = list(command.__click_params__)
        return fn
    return apply


@click.group(invoke_without_command=True, subcommand_metavar="[verify [OPTIONS]]",
             epilog=SHOW_EXITS)
@_options_of(_show)
@click.pass_context
def attested(ctx: click.Context, **params: Any) -> None:
    """The signed attested document of this VM, or 'verify' to check it.

    Shows the document IMDS signed (nonce, plan, timeStamp, vmId and, by
    api-version, subscriptionId, sku, licenseType) and the signer
    certificate's subject, DNS names, issuer and validity. The table (for
    people) leaves the signature out; -o json keeps it, base64 as IMDS sent
    it, for a relying party to verify. Needs no extra package.
    """
    if ctx.invoked_subcommand is None:
        _show(**params)
        return
    given = [p.opts[-1] for p in ctx.command.params
             if ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE]
    if given:
        raise click.UsageError(f"{', '.join(given)} given before 'verify': "
                               f"options go after it (imdsctl attested verify {given[0]} ...)", ctx)


@attested.command(epilog=VERIFY_EXITS)
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
           saved: Any) -> Any:
    """Check that the attested document is genuine, and say why or why not.

    \b
    signature    the PKCS#7 signature over the document, by the embedded signer
    signer-name  the signer's DNS name is the cloud's metadata domain or below it
    chain        the signer chains to a trusted root (RFC 5280 path validation)
    nonce        the document echoes the nonce sent
    timestamp    expiresOn is in the future, createdOn not > 5 minutes ahead
    vm           vmId and subscriptionId are this VM's (from compute)

    The table (for people) has one row per check; -o json adds the verdict
    ("verified"), the document and the signer. Needs the 'attested' extra:
    pip install 'imdsctl[attested]'.
    """
    from . import attested_verify

    attested_verify.require_cryptography()
    trust = attested_verify.trust_from_file(ca_file) if ca_file else attested_verify.system_trust()
    compute = None
    if saved is not None:
        try:
            body = json.load(saved)
        except ValueError as exc:
            raise NotImdsError(f"--file {saved.name} is not JSON: {exc}") from None
        answer = decode(body, f"--file {saved.name}")
    else:
        nonce = nonce or f"{secrets.randbelow(10 ** 10):010d}"
        answer = request(imds, nonce)
        compute = imds.instance("compute")
    fetch = None if no_fetch else functools.partial(attested_verify.fetch_url,
                                                    timeout=min(10.0, imds.settings.timeout))
    checks = attested_verify.verify(answer, trust, attested_verify.CLOUDS[cloud], nonce=nonce,
                                    compute=compute, fetch=fetch)
    verified = all(c["result"] != "fail" for c in checks)
    report = {"verified": verified, "checks": checks, "document": answer.document,
              "signer": answer.signer}
    # The report is the answer even when it says no: a failed check exits 7 after it.
    return Verdict(checks if _for_people(imds, report) else report,
                   ExitCode.OK if verified else ExitCode.NOT_IMDS)
