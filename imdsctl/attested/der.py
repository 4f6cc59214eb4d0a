"""Just enough DER to take IMDS's attested answer apart, with the standard library.

IMDS signs the attested document as a PKCS#7 SignedData with the JSON document
attached and only the signer (leaf) certificate embedded
(https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#attested-data).
Showing it should not need a cryptography stack on every VM, so this reads the
envelope and the few certificate fields people are shown; checking signatures
and chains is imdsctl.attested.verify's, with the ``cryptography`` package.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

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


class BadDer(ValueError):
    """The signature is not the PKCS#7 SignedData IMDS sends."""


# -- a DER reader, just enough for SignedData and certificates ---------------------


class Tlv(NamedTuple):
    tag: int
    content: bytes
    raw: bytes


def _read(data: bytes, pos: int) -> Tuple[Tlv, int]:
    if pos + 2 > len(data):
        raise BadDer("truncated DER")
    tag, length, start = data[pos], data[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise BadDer("unexpected multi-byte DER tag")
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4 or start + size > len(data):
            raise BadDer("indefinite or oversized DER length")
        length, start = int.from_bytes(data[start:start + size], "big"), start + size
    end = start + length
    if end > len(data):
        raise BadDer("truncated DER")
    return Tlv(tag, data[start:end], data[pos:end]), end


def _one(data: bytes) -> Tlv:
    tlv, end = _read(data, 0)
    if end != len(data):
        raise BadDer("trailing bytes after the DER element")
    return tlv


def _items(tlv: Tlv, tag: Optional[int] = None) -> List[Tlv]:
    if (tag is not None and tlv.tag != tag) or not tlv.tag & 0x20:
        raise BadDer(f"unexpected DER element (tag 0x{tlv.tag:02x})")
    items, pos = [], 0
    while pos < len(tlv.content):
        item, pos = _read(tlv.content, pos)
        items.append(item)
    return items


def _oid(tlv: Tlv) -> str:
    if tlv.tag != 0x06 or not tlv.content:
        raise BadDer("expected an object identifier")
    arcs, value = [], 0
    for byte in tlv.content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _octets(tlv: Tlv, depth: int = 0) -> bytes:
    """An OCTET STRING, primitive or (BER) constructed, a few levels deep at most."""
    if tlv.tag == 0x04:
        return tlv.content
    if tlv.tag == 0x24 and depth < 8:
        return b"".join(_octets(part, depth + 1) for part in _items(tlv))
    raise BadDer("expected an OCTET STRING")


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
    """Take a DER PKCS#7 SignedData apart; BadDer when it is something else."""
    info = _items(_one(der), 0x30)
    if len(info) != 2 or _oid(info[0]) != SIGNED_DATA:
        raise BadDer("not a PKCS#7 SignedData")
    fields = _items(_items(info[1], 0xA0)[0], 0x30)
    encap, rest = _items(fields[2], 0x30), fields[3:]
    certificates: Tuple[bytes, ...] = ()
    if rest and rest[0].tag == 0xA0:
        certificates, rest = tuple(c.raw for c in _items(rest[0])), rest[1:]
    if rest and rest[0].tag == 0xA1:  # CRLs
        rest = rest[1:]
    signers = _items(rest[0], 0x31) if len(rest) == 1 else []
    if len(signers) != 1 or len(encap) != 2:
        raise BadDer("expected attached content and exactly one signer")
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
    raise BadDer("the signature names a signer certificate it does not carry")


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


