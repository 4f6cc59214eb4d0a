"""The VM's signed attested document, shown or verified
(https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#attested-data).

``GET /metadata/attested/document?api-version=...&nonce=...`` answers
``{"encoding": "pkcs7", "signature": "<base64>"}``: a DER PKCS#7 SignedData
with the JSON document attached and only the signer (leaf) certificate
embedded.

Showing the document needs only the standard library: imdsctl.attested.der takes
the SignedData apart and reads the few certificate fields people are shown.
Verifying needs the ``cryptography`` package (a dependency of imdsctl,
imported only to verify); its checks live in imdsctl.attested.verify.

The nonce: the docs say "a 10-digit string", the API spec "up to 32 random
alphanumeric characters".  imdsctl accepts 1 to 32 ASCII letters and digits
(which includes every 10-digit string) and refuses anything else before
asking (exit 2); ``verify`` sends a fresh random 10-digit nonce unless told one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Optional, TextIO

from imdsctl import catalog
from imdsctl.attested.der import DATA, BadDer, Envelope, describe, parse_envelope
from imdsctl.errors import ExitCode, NotImdsError, UsageError
from imdsctl.files import TooBig, read_capped
from imdsctl.imds import answers
from imdsctl.result import Result

if TYPE_CHECKING:
    from imdsctl.protocols import Imds

NONCE = re.compile(r"[A-Za-z0-9]{1,32}")


def check_nonce(value: str) -> str:
    """``value`` when it is 1 to 32 ASCII letters and digits; ValueError otherwise."""
    if not NONCE.fullmatch(value):
        raise ValueError(f"{value!r} is not 1 to 32 letters and digits (e.g. 4829175630)")
    return value

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
        document = answers.loads(envelope.content)
    except (binascii.Error, ValueError, IndexError) as exc:  # BadDer is a ValueError
        known = (BadDer, answers.Malformed, binascii.Error)
        why = str(exc) if isinstance(exc, known) else "unexpected structure"
        raise NotImdsError(f"{where} returned a signature that is not a PKCS#7 SignedData "
                           f"with a JSON document ({why})", hint) from None
    if envelope.content_type != DATA or not isinstance(document, dict):
        raise NotImdsError(f"{where} returned a signed content that is not a JSON object", hint)
    return Attested(body["signature"], envelope, document, signer)


# -- what the commands do -------------------------------------------------------------------


def request(imds: Imds, nonce: Optional[str]) -> Attested:
    """Ask IMDS for the attested document (instance api-version) and take it apart."""
    answer = imds.client.request("GET", catalog.ATTESTED_PATH,
                                 params={"nonce": nonce} if nonce else None)
    return decode(answer.body, f"GET {catalog.ATTESTED_PATH}")


def _without_signature(data: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in data.items() if key != "signature"}


def show(imds: Imds, nonce: Optional[str] = None) -> Result:
    """The document, the signer and the signature (which the table leaves out)."""
    attested = request(imds, nonce)
    return Result({"encoding": "pkcs7", "document": attested.document, "signer": attested.signer,
                   "signature": attested.signature}, table=_without_signature)


def verify(imds: Imds, nonce: Optional[str] = None, ca_file: Optional[str] = None, cloud: str = "public",
           no_fetch: bool = False, saved: Optional[TextIO] = None) -> Result:
    """The verdict on the attested document (asked now, or ``saved``): one row
    per check for people, and the report; exit 7 when a check failed."""
    from imdsctl.attested import verify as attested_verify

    attested_verify.require_cryptography()
    trust = attested_verify.trust_from_file(ca_file) if ca_file else attested_verify.system_trust()
    compute = None
    if saved is not None:
        try:
            body = answers.loads(read_capped(saved, answers.MAX_BODY))
        except TooBig:
            raise UsageError(f"--file {saved.name} is over {answers.MAX_BODY >> 20} MiB: "
                             "not an attested answer") from None
        except ValueError as exc:
            raise NotImdsError(f"--file {saved.name} is not JSON: {exc}") from None
        answer = decode(body, f"--file {saved.name}")
    else:
        nonce = nonce or f"{secrets.randbelow(10 ** 10):010d}"
        answer = request(imds, nonce)
        compute = imds.instance("compute")
        if not isinstance(compute, dict):
            raise NotImdsError("GET /metadata/instance/compute returned JSON that is not an object",
                               "something other than IMDS may be answering")
    # The download gets what is left of the command's budget (--timeout), all of it for --file.
    left = imds.settings.timeout if saved is not None else max(0.0, imds.client.remaining())
    fetch = None if no_fetch else functools.partial(attested_verify.fetch_url, timeout=left)
    checks = attested_verify.verify(answer, trust, attested_verify.CLOUDS[cloud], nonce=nonce,
                                    compute=compute, fetch=fetch)
    verified = all(c["result"] != "fail" for c in checks)
    report = {"verified": verified, "checks": checks, "document": answer.document,
              "signer": answer.signer}
    # The report is the answer even when it says no: a failed check exits 7 after it.
    return Result(report, exit_code=ExitCode.OK if verified else ExitCode.NOT_IMDS,
                  table=lambda data: data["checks"])
