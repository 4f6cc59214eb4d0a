"""Attested data: ``/metadata/attested/document``, signed by the emulator's own CA.

The answer has the real service's shape
(https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#attested-data)::

    {"encoding": "pkcs7", "signature": "<base64 of a DER PKCS#7 SignedData>"}

The SignedData is laid out like a real answer (a 2021 capture, decoded): the
JSON document as attached ``data`` content, no signed attributes (the RSA
PKCS#1 v1.5 signature covers the content itself), ``sha256WithRSAEncryption``
where a digest algorithm is expected and ``rsaEncryption`` as the signature
algorithm, and only the leaf certificate embedded: ``CN=metadata.azure.com``
with SANs ``<location>.metadata.azure.com`` and ``metadata.azure.com``.

The leaf is issued by "imdsctl emulator intermediate", itself issued by the
self-signed "imdsctl emulator root", so a verifier has to build a chain;
``ca_bundle_pem(service)`` gives the two CA certificates to verify against.
As Microsoft's leaves point at Microsoft's PKI, the leaf's Authority
Information Access names a CA Issuers URL on the emulator itself,
``http://<Host>/pkiops/certs/imdsctl-emulator-issuer.crt`` (the Host the
client asked, so the URL works at whatever address the client reached the
emulator), where the emulator serves its issuer's certificate in DER
(``ca_issuers``).  This CA is generated once per process (RSA key generation
is slow-ish); ``configure(service, ca_cert=..., ca_key=..., validity=...)``
supplies another CA (its leaves are issued directly by it) or another validity.

The document's fields follow the api-version asked for (``FIELDS_SINCE``) and
come from the profile's ``compute`` section; ``timeStamp`` holds ``createdOn``
and ``expiresOn`` as ``MM/DD/YY HH:MM:SS -0000`` (validity 6 h by default).
Without ``nonce`` the service uses the UTC time as ``YYYYMMDD-HHMMSS``.

Choices where the documentation is silent or disagrees (emulator wording):

* the family answers from api-version 2018-10-01 (the doc table; the swagger
  has an example under 2018-04-02);
* a nonce must be 1 to 32 ASCII letters and digits (the swagger's rule; the
  docs say "a 10-digit string", which fits it); anything else is a 400, an
  empty ``nonce=`` is treated as absent;
* ``licenseType`` is present only when the VM has one (Azure Hybrid Benefit);
* ``cryptography`` is a dependency of imdsctl, imported only to sign; where it
  is missing all the same (a broken install) the family answers 404 naming
  the package (never 5xx, which a client would retry).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import threading
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import quote

from imdsctl.catalog import ATTESTED, ATTESTED_FIELDS_SINCE, version_key
from imdsctl.emulator import messages
from imdsctl.emulator.messages import Request, Response, error, json_response
from imdsctl.errors import UsageError
from imdsctl.files import MAX_PEM, TooBig, read_capped

PATH = ATTESTED.path
VERSIONS = ATTESTED.versions
FIELDS_SINCE = ATTESTED_FIELDS_SINCE

DEFAULT_VALIDITY = dt.timedelta(hours=6)
DOMAIN = "metadata.azure.com"
TIME_FORMAT = "%m/%d/%y %H:%M:%S -0000"
NONCE = re.compile(r"[A-Za-z0-9]{1,32}")
BAD_NONCE = "Bad request. The nonce must be 1 to 32 letters and digits"
NO_CRYPTOGRAPHY = ("Not found. The emulator signs attested documents with the 'cryptography' "
                   "package, which this Python does not have: install python3-cryptography, or "
                   "pip install cryptography")
#: Where the emulator serves the certificate that issued its leaves (the leaves' caIssuers URL).
CA_ISSUERS_PATH = "/pkiops/certs/imdsctl-emulator-issuer.crt"
CA_ISSUERS_PARTS = tuple(CA_ISSUERS_PATH.strip("/").split("/"))
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")
MAX_LEAVES = 64  #: leaves kept per Signer, one per (location, caIssuers URL)


def default_nonce(now: dt.datetime) -> str:
    """The nonce IMDS uses when none is sent: the UTC time as YYYYMMDD-HHMMSS."""
    return now.astimezone(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")


def build_document(compute: Dict[str, Any], api_version: str, nonce: str, now: dt.datetime,
                   validity: dt.timedelta = DEFAULT_VALIDITY) -> Dict[str, Any]:
    """The attested document for a VM's ``compute`` section at ``api_version``."""
    plan = compute.get("plan") or {}
    utc = now.astimezone(dt.timezone.utc)
    values = {
        "nonce": nonce,
        "plan": {key: str(plan.get(key, "")) for key in ("name", "product", "publisher")},
        "timeStamp": {"createdOn": utc.strftime(TIME_FORMAT),
                      "expiresOn": (utc + validity).strftime(TIME_FORMAT)},
        "vmId": compute.get("vmId", ""),
        "subscriptionId": compute.get("subscriptionId", ""),
        "sku": compute.get("sku", ""),
        "licenseType": compute.get("licenseType", ""),
    }
    document = {key: values[key] for key, since in FIELDS_SINCE
                if version_key(api_version) >= version_key(since)}
    if document.get("licenseType") == "":  # only for Azure Hybrid Benefit VMs
        del document["licenseType"]
    return document


# -- the signer -------------------------------------------------------------------


def _pem(certificates: Sequence[Any]) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(c.public_bytes(Encoding.PEM) for c in certificates)


class Signer:
    """A CA that issues leaf certificates and signs attested documents with them.

    ``Signer.generate()`` makes a root, an intermediate and a leaf key;
    ``Signer.from_pem()`` issues leaves from a CA certificate and key supplied
    by the caller.  Leaf certificates are made per location and caIssuers
    URL, on first use.
    """

    def __init__(self, issuer: Any, issuer_key: Any, ca_pem: bytes, *,
                 domain: str = DOMAIN, aia_url: Optional[str] = None):
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.issuer, self._issuer_key = issuer, issuer_key
        self.ca_pem = ca_pem            #: the CA certificates a verifier needs, PEM
        self.domain = domain
        self.aia_url = aia_url          #: caIssuers URL written into leaves (None: none)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._leaves: Dict[Tuple[str, Optional[str]], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def generate(cls, *, domain: str = DOMAIN, aia_url: Optional[str] = None,
                 name: str = "imdsctl emulator") -> Signer:
        """A fresh root ("<name> root") and intermediate ("<name> intermediate")."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root = _certificate(f"{name} root", root_key.public_key(), None, root_key, ca=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        intermediate = _certificate(f"{name} intermediate", key.public_key(), root, root_key,
                                    ca=True)
        return cls(intermediate, key, _pem([root, intermediate]), domain=domain, aia_url=aia_url)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> Signer:
        """Issue leaves from a supplied CA: ``cert_pem`` starts with the CA
        certificate (its chain may follow), ``key_pem`` is its unencrypted key.
        Raises ValueError when they do not fit together."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

        certificates = x509.load_pem_x509_certificates(cert_pem)
        try:
            key = load_pem_private_key(key_pem, password=None)
        except TypeError:  # encrypted
            raise ValueError("the CA key is encrypted; give it unencrypted") from None
        spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if key.public_key().public_bytes(*spki) != certificates[0].public_key().public_bytes(*spki):
            raise ValueError("the key does not belong to the first certificate of the CA file")
        return cls(certificates[0], key, _pem(certificates))

    def leaf(self, location: str, aia_url: Optional[str] = None) -> Any:
        """The leaf certificate for a VM in ``location`` whose caIssuers URL is
        ``aia_url`` (default the Signer's), made once for each."""
        aia_url = aia_url or self.aia_url
        with self._lock:
            if (location, aia_url) not in self._leaves:
                names = ([f"{location}.{self.domain}"] if location else []) + [self.domain]
                while len(self._leaves) >= MAX_LEAVES:
                    del self._leaves[next(iter(self._leaves))]
                self._leaves[location, aia_url] = _certificate(
                    self.domain, self._key.public_key(), self.issuer, self._issuer_key,
                    ca=False, dns_names=names, aia_url=aia_url)
            return self._leaves[location, aia_url]

    def sign(self, content: bytes, location: str = "", *, signed_attributes: bool = False,
             aia_url: Optional[str] = None) -> bytes:
        """DER PKCS#7 SignedData with ``content`` attached and the leaf only, laid
        out as the real service does; ``signed_attributes=True`` makes the
        standard CMS form instead (content-type, signing-time, message-digest
        signed), as OpenSSL would by default."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

        leaf = self.leaf(location, aia_url)
        if signed_attributes:
            return (pkcs7.PKCS7SignatureBuilder().set_data(content)
                    .add_signer(leaf, self._key, hashes.SHA256())
                    .sign(Encoding.DER, [pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities]))
        signature = self._key.sign(content, padding.PKCS1v15(), hashes.SHA256())
        return signed_data(content, leaf, signature, [leaf.public_bytes(Encoding.DER)])


# DER pieces of the SignedData: object identifiers and AlgorithmIdentifiers.
_INTEGER_1 = bytes.fromhex("020101")
_DATA = bytes.fromhex("06092a864886f70d010701")                # 1.2.840.113549.1.7.1
_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")         # 1.2.840.113549.1.7.2
_SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")  # sha256WithRSAEncryption
_RSA = bytes.fromhex("300d06092a864886f70d0101010500")         # rsaEncryption


def signed_data(content: bytes, signer: Any, signature: bytes, certificates: Sequence[bytes]) -> bytes:
    """DER ContentInfo of a SignedData in the real service's layout: ``content``
    attached, one SignerInfo naming ``signer`` by issuer and serial number,
    no signed attributes, ``certificates`` (DER) embedded."""
    serial = signer.serial_number
    signer_info = _der(0x30, _INTEGER_1 + _der(0x30, signer.issuer.public_bytes() + _der(
        0x02, serial.to_bytes(serial.bit_length() // 8 + 1, "big"))) + _SHA256_RSA + _RSA
        + _der(0x04, signature))
    signed = _der(0x30, _INTEGER_1 + _der(0x31, _SHA256_RSA)
                  + _der(0x30, _DATA + _der(0xA0, _der(0x04, content)))
                  + _der(0xA0, b"".join(certificates)) + _der(0x31, signer_info))
    return _der(0x30, _SIGNED_DATA + _der(0xA0, signed))


def _der(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _certificate(common_name: str, public_key: Any, issuer: Any, issuer_key: Any, *, ca: bool,
                 dns_names: Sequence[str] = (), aia_url: Optional[str] = None) -> Any:
    """A certificate with the extensions a Web PKI verifier expects."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.subject if issuer is not None else subject)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=3650 if ca else 365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=not ca,
                   data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                   encipher_only=False, decipher_only=False), critical=True)
               .add_extension(ski, critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
    if aia_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


# -- what a service signs with ------------------------------------------------------


class Signing:
    """What one Service signs with: a Signer (None: the process-wide one) and a validity."""

    def __init__(self, signer: Optional[Signer] = None, validity: dt.timedelta = DEFAULT_VALIDITY):
        self.signer = signer
        self.validity = validity


_DEFAULT: List[Signer] = []
_DEFAULT_LOCK = threading.Lock()


def default_signer() -> Signer:
    """The process-wide Signer, generated on first use (raises ImportError
    without the cryptography package)."""
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            _DEFAULT.append(Signer.generate())
        return _DEFAULT[0]


PemSource = Union[bytes, str, "os.PathLike[str]"]


def configure(service: Any, *, ca_cert: Optional[PemSource] = None,
              ca_key: Optional[PemSource] = None, signer: Optional[Signer] = None,
              validity: Union[dt.timedelta, float, None] = None) -> None:
    """Set what ``service`` signs with: a supplied CA (``ca_cert`` and ``ca_key``:
    PEM bytes or file paths), a ready Signer, and/or the documents' validity
    (a timedelta or seconds).  Raises ValueError (OSError for unreadable files)."""
    signing = service.signing
    if (ca_cert is None) != (ca_key is None):
        raise ValueError("a supplied CA needs both its certificate and its key")
    if ca_cert is not None and ca_key is not None:
        signer = Signer.from_pem(_read(ca_cert), _read(ca_key))
    if signer is not None:
        signing.signer = signer
    if validity is not None:
        signing.validity = validity if isinstance(validity, dt.timedelta) \
            else dt.timedelta(seconds=validity)


def _read(source: PemSource) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return read_capped(str(source), MAX_PEM)
    except TooBig:
        raise UsageError(f"{source} is over {MAX_PEM >> 20} MiB: not a PEM file") from None


def signer_for(service: Any) -> Signer:
    """What ``service`` signs with: its own Signer, else the process-wide one."""
    return service.signing.signer or default_signer()


def ca_bundle_pem(service: Any) -> bytes:
    """The CA certificates (PEM) that ``service``'s documents chain to: what
    ``imdsctl attested verify --ca-file`` needs."""
    return signer_for(service).ca_pem


# -- the handler ----------------------------------------------------------------------


def handle(service: Any, req: Request, route: Tuple[str, ...], version: str) -> Response:
    """GET /metadata/attested/document (its checks already passed in Service.check)."""
    nonce = req.param("nonce")
    if nonce and not NONCE.fullmatch(nonce):
        return error(400, BAD_NONCE)
    now = dt.datetime.now(dt.timezone.utc)
    nonce = nonce or default_nonce(now)
    compute = service.profile.instance.get("compute") or {}
    document = build_document(compute, version, nonce, now, service.signing.validity)
    try:
        signature = signer_for(service).sign(messages.dump_json(document),
                                             str(compute.get("location", "")), aia_url=ca_issuers_url(req))
    except ImportError:
        return error(404, NO_CRYPTOGRAPHY)
    return json_response(200, {"encoding": "pkcs7", "signature": base64.b64encode(signature).decode()})


def ca_issuers_url(req: Request) -> Optional[str]:
    """The caIssuers URL for a leaf signed for ``req``: the issuer's certificate
    on this emulator, at the Host the client asked (None without a usable Host)."""
    host = (req.headers.get("Host") or "").strip()
    if len(host) > 262 or not _HOST.fullmatch(host):
        return None
    return f"http://{host}{quote(CA_ISSUERS_PATH)}"


def ca_issuers(service: Any, req: Request) -> Response:
    """GET (or HEAD) CA_ISSUERS_PATH: the certificate that issues the leaves, DER,
    as a CA publishes it (no Metadata header needed: this is not IMDS)."""
    if req.method not in ("GET", "HEAD"):
        return replace(error(405, messages.METHOD.format(path=req.path, method=req.method)),
                       headers=(("Allow", "GET, HEAD"),))
    try:
        from cryptography.hazmat.primitives.serialization import Encoding

        issuer = signer_for(service).issuer.public_bytes(Encoding.DER)
    except ImportError:
        return error(404, NO_CRYPTOGRAPHY)
    return Response(200, issuer, "application/pkix-cert")
