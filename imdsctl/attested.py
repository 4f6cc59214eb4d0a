"""imdsctl attested: the VM's signed attested document, shown or verified.

``GET /metadata/attested/document?api-version=...&nonce=...`` answers
``{"encoding": "pkcs7", "signature": "<base64>"}``: a DER PKCS#7 SignedData
with the JSON document attached and only the signer (leaf) certificate
embedded (reference section 8).

Showing the document needs only the standard library: a small DER reader
takes the SignedData apart and reads the few certificate fields people are
shown.  Verifying needs the optional ``cryptography`` package (the
``attested`` extra) and lives in imdsctl.attested_verify.

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
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import click
from click.core import ParameterSource

from . import catalog
from .attested_verify import CLOUDS
from .cli import Session, Verdict, imds_command
from .errors import ExitCode, NotImdsError
from .output import default_format

NONCE = re.compile(r"[A-Za-z0-9]{1,32}")

# Object identifiers
DATA, SIGNED_DATA = "1.2.840.113549.1.7.1", "1.2.840.113549.1.7.2"
CONTENT_TYPE, MESSAGE_DIGEST = "1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4"
SAN, SKI = "2.5.29.17", "2.5.29.14"
NAME_KEYS = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "STREET",
    "2.5.4.10": "O", "2.5.4.11": "OU", "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}
_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be",
            0x1C: "utf-32-be"}


class Malformed(ValueError):
    """The signature is not the PKCS#7 SignedData IMDS sends."""


# -- a DER reader, just enough for SignedData and certificates ---------------------


class Tlv(NamedTuple):
    tag: int
    content: bytes
    raw: bytes


def _read(data: bytes, pos: int) -> Tuple[Tlv, int]:
    if pos + 2 > len(data):
        raise Malformed("truncated DER")
    tag, length, start = data[pos], data[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise Malformed("unexpected multi-byte DER tag")
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4 or start + size > len(data):
            raise Malformed("indefinite or oversized DER length")
        length, start = int.from_bytes(data[start:start + size], "big"), start + size
    end = start + length
    if end > len(data):
        raise Malformed("truncated DER")
    return Tlv(tag, data[start:end], data[pos:end]), end


def _one(data: bytes) -> Tlv:
    tlv, end = _read(data, 0)
    if end != len(data):
        raise Malformed("trailing bytes after the DER element")
    return tlv


def _items(tlv: Tlv, tag: Optional[int] = None) -> List[Tlv]:
    if (tag is not None and tlv.tag != tag) or not tlv.tag & 0x20:
        raise Malformed(f"unexpected DER element (tag 0x{tlv.tag:02x})")
    items, pos = [], 0
    while pos < len(tlv.content):
        item, pos = _read(tlv.content, pos)
        items.append(item)
    return items


def _oid(tlv: Tlv) -> str:
    if tlv.tag != 0x06 or not tlv.content:
        raise Malformed("expected an object identifier")
    arcs, value = [], 0
    for byte in tlv.content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _octets(tlv: Tlv) -> bytes:
    """An OCTET STRING, primitive or (BER) constructed."""
    if tlv.tag == 0x04:
        return tlv.content
    if tlv.tag == 0x24:
        return b"".join(_octets(part) for part in _items(tlv))
    raise Malformed("expected an OCTET STRING")


# -- the envelope ---------------------------------------------------------------------


class Envelope(NamedTuple):
    """The parts of a PKCS#7 SignedData a verifier needs."""

    content_type: str
    content: bytes
    certificates: Tuple[bytes, ...]          #: DER, as embedded
    signer: bytes                            #: DER of the certificate the SignerInfo names
    digest_algorithm: str
    signature_algorithm: str
    signed_attributes: Optional[bytes]       #: DER re-tagged as SET OF: what was signed
    signed_content_type: Optional[str]       #: the content-type attribute
    signed_digest: Optional[bytes]           #: the message-digest attribute
    signature: bytes


def parse_envelope(der: bytes) -> Envelope:
    """Take a DER PKCS#7 SignedData apart; Malformed when it is something else."""
    info = _items(_one(der), 0x30)
    if len(info) != 2 or _oid(info[0]) != SIGNED_DATA:
        raise Malformed("not a PKCS#7 SignedData")
    fields = _items(_items(info[1], 0xA0)[0], 0x30)
    encap, rest = _items(fields[2], 0x30), fields[3:]
    certificates: Tuple[bytes, ...] = ()
    if rest and rest[0].tag == 0xA0:
        certificates, rest = tuple(c.raw for c in _items(rest[0])), rest[1:]
    if rest and rest[0].tag == 0xA1:  # CRLs
        rest = rest[1:]
    signers = _items(rest[0], 0x31) if len(rest) == 1 else []
    if len(signers) != 1 or len(encap) != 2:
        raise Malformed("expected attached content and exactly one signer")
    info_fields = _items(signers[0], 0x30)
    attrs: Optional[Tlv] = info_fields[3] if info_fields[3].tag == 0xA0 else None
    algorithm, signature = info_fields[4:6] if attrs else info_fields[3:5]
    attributes: Dict[str, Tlv] = {}
    for attribute in _items(attrs) if attrs else []:
        oid, values = _items(attribute, 0x30)
        attributes[_oid(oid)] = _items(values, 0x31)[0]
    return Envelope(
        content_type=_oid(encap[0]),
        content=_octets(_items(encap[1], 0xA0)[0]),
        certificates=certificates,
        signer=_signer(info_fields[1], certificates),
        digest_algorithm=_oid(_items(info_fields[2], 0x30)[0]),
        signature_algorithm=_oid(_items(algorithm, 0x30)[0]),
        signed_attributes=b"\x31" + attrs.raw[1:] if attrs else None,
        signed_content_type=_oid(attributes[CONTENT_TYPE]) if CONTENT_TYPE in attributes else None,
        signed_digest=_octets(attributes[MESSAGE_DIGEST]) if MESSAGE_DIGEST in attributes else None,
        signature=_octets(signature),
    )


def _tbs(certificate: bytes) -> List[Tlv]:
    """The fields of a certificate's TBSCertificate, from the serial number on."""
    fields = _items(_items(_one(certificate), 0x30)[0], 0x30)
    return fields[1:] if fields[0].tag == 0xA0 else fields


def _extensions(certificate: bytes) -> Dict[str, bytes]:
    found = {}
    for block in _tbs(certificate)[6:]:
        if block.tag == 0xA3:
            for extension in _items(_items(block)[0], 0x30):
                parts = _items(extension, 0x30)
                found[_oid(parts[0])] = _octets(parts[-1])
    return found


def _signer(sid: Tlv, certificates: Sequence[bytes]) -> bytes:
    """The embedded certificate a SignerInfo's sid names."""
    for certificate in certificates:
        tbs = _tbs(certificate)
        if sid.tag == 0x30 and sid.content == tbs[2].raw + tbs[0].raw:  # issuer and serial
            return certificate
        key_id = _extensions(certificate).get(SKI)
        if sid.tag == 0x80 and key_id is not None and _octets(_one(key_id)) == sid.content:
            return certificate
    raise Malformed("the signature names a signer certificate it does not carry")


# -- what a person is shown about a certificate -----------------------------------------


def _string(tlv: Tlv) -> str:
    encoding = _STRINGS.get(tlv.tag)
    return tlv.content.decode(encoding, "replace") if encoding else "#" + tlv.raw.hex()


def _escape(value: str) -> str:
    value = re.sub(r'([\\,+"<>;])', r"\\\1", value)
    if value.startswith(("#", " ")):
        value = "\\" + value
    return value[:-1] + "\\ " if value.endswith(" ") else value


def name_text(name: Tlv) -> str:
    """An X.509 Name as an RFC 4514 string (``CN=...,O=...,C=US``)."""
    parts = []
    for rdn in reversed(_items(name, 0x30)):
        values = []
        for attribute in _items(rdn, 0x31):
            oid, value = _items(attribute, 0x30)
            values.append(f"{NAME_KEYS.get(_oid(oid), _oid(oid))}={_escape(_string(value))}")
        parts.append("+".join(values))
    return ",".join(parts)


def _time(tlv: Tlv) -> str:
    text = tlv.content.decode("ascii", "replace")
    if tlv.tag == 0x17:  # UTCTime, YYMMDDHHMMSSZ
        text = ("19" if int(text[:2]) >= 50 else "20") + text
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}Z"


def dns_names(certificate: bytes) -> List[str]:
    """The dNSName entries of the subjectAltName extension."""
    san = _extensions(certificate).get(SAN)
    if san is None:
        return []
    return [n.content.decode("ascii", "replace") for n in _items(_one(san), 0x30) if n.tag == 0x82]


def describe(certificate: bytes) -> Dict[str, Any]:
    """Subject, DNS names, issuer, validity and serial number, for people."""
    tbs = _tbs(certificate)
    not_before, not_after = _items(tbs[3], 0x30)
    return {
        "subject": name_text(tbs[4]),
        "dnsNames": dns_names(certificate),
        "issuer": name_text(tbs[2]),
        "notBefore": _time(not_before),
        "notAfter": _time(not_after),
        "serialNumber": tbs[0].content.hex(),
    }


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
