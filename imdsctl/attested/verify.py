"""Verifying attested documents: the checks Microsoft's samples leave to the reader.

Needs the ``cryptography`` package (a dependency of imdsctl), imported
only here and only when verifying; every decision about a
certificate or a signature is cryptography's.  ``verify()`` runs, on a
document taken apart by ``imdsctl.attested.document.decode()``:

* ``signature``: the CMS signature over the embedded document, by the
  embedded signer certificate.  IMDS signs the content itself (no signed
  attributes); standard CMS with signed attributes is checked too
  (content-type, message-digest == the hash of the content, the signature
  over the DER of the attributes);
* ``signer-name``: a DNS name of the signer (SAN, else CN) in the cloud's
  metadata domain or below it;
* ``chain``: RFC 5280 path validation (cryptography's Web PKI verifier) from
  the signer to a trusted root, with intermediates from the CA file or
  fetched from the signer's caIssuers URL when missing (IMDS embeds only the
  leaf);
* ``nonce``: the document echoes the nonce sent;
* ``timestamp``: ``expiresOn`` is in the future, ``createdOn`` at most five
  minutes ahead;
* ``vm``: ``vmId`` (and ``subscriptionId``) equal this VM's compute facts.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import ssl
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from imdsctl.errors import NotImdsError, UsageError
from imdsctl.files import MAX_PEM, TooBig, read_capped

if TYPE_CHECKING:
    from imdsctl.attested.der import Envelope

#: Metadata domain of each cloud; the signer must be named in it or below it.
CLOUDS: Dict[str, str] = {
    "public": "metadata.azure.com",
    "usgov": "metadata.azure.us",
    "china": "metadata.azure.cn",
    "germany": "metadata.microsoftazure.de",
}

#: PEM bundles of the usual system trust stores (Debian/Ubuntu, RHEL/Fedora, SUSE, Alpine/macOS).
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)

INSTALL_HINT = ("install your distribution's python3-cryptography (42 or newer: Debian 13, Ubuntu 24.10, "
                "Fedora 40), or pip install 'cryptography>=42' into the Python that runs imdsctl")
CLOCK_SKEW = dt.timedelta(minutes=5)
TIME_FORMAT = "%m/%d/%y %H:%M:%S %z"   # 01/04/21 13:55:34 -0000
MAX_FETCH = 64 * 1024                  # bytes a caIssuers URL may serve
MAX_FETCHES = 3                        # caIssuers URLs followed for one chain

#: Digest algorithm OIDs -> hash.  IMDS writes sha256WithRSAEncryption where
#: a digest algorithm belongs (OpenSSL accepts it); so do we.
DIGESTS = {
    "2.16.840.1.101.3.4.2.1": "SHA256", "2.16.840.1.101.3.4.2.2": "SHA384",
    "2.16.840.1.101.3.4.2.3": "SHA512", "1.2.840.113549.1.1.11": "SHA256",
    "1.2.840.113549.1.1.12": "SHA384", "1.2.840.113549.1.1.13": "SHA512",
}
RSA_SIGNATURES = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12",
                  "1.2.840.113549.1.1.13"}
ECDSA_SIGNATURES = {"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"}


def require_cryptography() -> None:
    """UsageError (exit 2) with the install hint when cryptography is missing."""
    try:
        import cryptography
    except ImportError:
        raise UsageError("verifying attested data needs the 'cryptography' package (42 or newer), which "
                         "this Python does not have", INSTALL_HINT) from None
    try:
        import cryptography.x509.verification  # noqa: F401
    except ImportError:
        raise UsageError(f"verifying attested data needs the 'cryptography' package 42 or newer; this "
                         f"Python has {getattr(cryptography, '__version__', 'an older one')}",
                         INSTALL_HINT) from None


class Trust(NamedTuple):
    roots: List[Any]            #: trusted roots (cryptography Certificates)
    intermediates: List[Any]    #: untrusted helpers for building the chain
    source: str                 #: where the roots came from, for reasons


def _pem_certificates(data: bytes, strict: bool, where: str) -> List[Any]:
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning

    found = []
    for block in re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", data, re.S):
        try:
            with warnings.catch_warnings():  # old roots with odd serial numbers still load
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                found.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            if strict:
                raise UsageError(f"{where}: certificate {len(found) + 1} cannot be read: {exc}") from None
    return found


def trust_from_file(path: str) -> Trust:
    """A PEM bundle: self-signed certificates are the trusted roots, the others
    intermediates; a bundle with no root is used with the system's roots."""
    try:
        certificates = _pem_certificates(read_capped(path, MAX_PEM), True, path)
    except TooBig:
        raise UsageError(f"--ca-file {path} is over {MAX_PEM >> 20} MiB: not a PEM bundle") from None
    except OSError as exc:
        raise UsageError(f"cannot read --ca-file {path}: {exc.strerror or exc}") from None
    if not certificates:
        raise UsageError(f"--ca-file {path} holds no PEM certificate")
    roots = [c for c in certificates if c.subject == c.issuer]
    intermediates = [c for c in certificates if c.subject != c.issuer]
    if roots:
        return Trust(roots, intermediates, path)
    system = system_trust()
    return Trust(system.roots, intermediates, system.source)


def system_trust() -> Trust:
    """The operating system's roots: its PEM bundle, else what ssl loads (Windows, macOS)."""
    from cryptography import x509

    for path in (ssl.get_default_verify_paths().cafile, *SYSTEM_BUNDLES):
        if path and os.path.isfile(path):
            try:
                roots = _pem_certificates(read_capped(path, MAX_PEM), False, path)
            except (OSError, TooBig):
                continue
            if roots:
                return Trust(roots, [], path)
    roots = []
    for der in ssl.create_default_context().get_ca_certs(binary_form=True):
        try:
            roots.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return Trust(roots, [], "the system trust store" if roots else "no system trust store found")


def fetch_url(url: str, timeout: float = 10.0) -> bytes:
    """GET a caIssuers URL (http or https; proxies from the environment honoured,
    as for any internet download; at most 64 KiB; no redirect followed; the
    whole download within ``timeout``)."""
    from imdsctl.imds.internet import download

    return download(url, timeout=timeout, max_bytes=MAX_FETCH)


def _certificates(data: bytes) -> List[Any]:
    """Certificates in what a caIssuers URL serves: DER, PEM or PKCS#7 (.p7c)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs7

    if data.lstrip().startswith(b"-----BEGIN"):
        return _pem_certificates(data, False, "")
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        return list(pkcs7.load_der_pkcs7_certificates(data))


# -- the checks -----------------------------------------------------------------------------------


def _check(name: str, result: str, reason: str) -> Dict[str, str]:
    return {"check": name, "result": result, "reason": reason}


def verify(attested: Any, trust: Trust, domain: str, *, nonce: Optional[str] = None,
           compute: Optional[Dict[str, Any]] = None, fetch: Optional[Callable[[str], bytes]] = None,
           now: Optional[dt.datetime] = None) -> List[Dict[str, str]]:
    """Run every check on ``attested`` (an attested.Attested); a list of
    {"check", "result": pass|fail|skip, "reason"}.

    ``nonce``: the nonce the document was asked with (None: not compared);
    ``compute``: this VM's compute facts (None: not compared); ``fetch``: how
    to GET a caIssuers URL (None: never fetch); ``now``: the time to check at.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    signer = _certificate(attested.envelope.signer, "the signer certificate")
    embedded = [_certificate(c, f"embedded certificate {i + 1}")
                for i, c in enumerate(attested.envelope.certificates) if c != attested.envelope.signer]
    signature = _signature(attested.envelope, signer)
    named, name = _signer_name(signer, domain)
    # The caIssuers URL is the untrusted document's word: asked only once the document is
    # signed by its signer and the signer is named in the cloud's domain.
    failed = [c["check"] for c in (signature, named) if c["result"] != "pass"]
    refused = f"the {' and '.join(failed)} check{'s' * (len(failed) > 1)} failed" if failed else None
    return [signature, named, _chain(signer, name, embedded, trust, fetch, now, refused),
            _nonce(attested.document, nonce), _timestamp(attested.document, now),
            _vm(attested.document, compute)]


def _certificate(der: bytes, what: str) -> Any:
    """A certificate of the document, read whole now: cryptography reads a field when
    it is first used, so a damaged one would otherwise fail in the middle of a check."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        certificate = x509.load_der_x509_certificate(der)
        for field in ("version", "serial_number", "issuer", "subject", "not_valid_before_utc",
                      "not_valid_after_utc", "extensions", "signature_algorithm_oid"):
            getattr(certificate, field)
        certificate.public_key()
    except (ValueError, TypeError, x509.InvalidVersion, UnsupportedAlgorithm) as exc:
        raise NotImdsError(f"{what} cannot be read: {' '.join(str(exc).split())[:160]}",
                           "the document was damaged or forged") from None
    return certificate


def _signature(envelope: Envelope, signer: Any) -> Dict[str, str]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    fail = functools.partial(_check, "signature", "fail")
    name = DIGESTS.get(envelope.digest_algorithm)
    if name is None:
        return fail(f"unsupported digest algorithm {envelope.digest_algorithm}")
    algorithm = getattr(hashes, name)()
    signed, what = envelope.content, "the document"
    if envelope.signed_attributes is not None:
        if envelope.signed_content_type != envelope.content_type or envelope.signed_digest is None:
            return fail("the signed attributes lack a matching content-type or a message-digest")
        hasher = hashes.Hash(algorithm)
        hasher.update(envelope.content)
        if envelope.signed_digest != hasher.finalize():
            return fail(f"the signed message-digest is not the {name} of the document: "
                        "the document was altered after signing")
        signed, what = envelope.signed_attributes, "the signed attributes"
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey) and envelope.signature_algorithm in RSA_SIGNATURES:
            key.verify(envelope.signature, signed, padding.PKCS1v15(), algorithm)
            kind = "RSA"
        elif isinstance(key, ec.EllipticCurvePublicKey) and envelope.signature_algorithm in ECDSA_SIGNATURES:
            key.verify(envelope.signature, signed, ec.ECDSA(algorithm))
            kind = "ECDSA"
        else:
            return fail(f"unsupported signature algorithm {envelope.signature_algorithm} "
                        f"for a {type(key).__name__}")
    except InvalidSignature:
        return fail(f"the signature does not match {what} under the signer's key: "
                    "the document or its signature was altered")
    return _check("signature", "pass", f"{name} {kind} signature over {what} "
                                       f"by {signer.subject.rfc4514_string()}")


def _in_domain(name: str, domain: str) -> bool:
    name = name.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def _signer_name(signer: Any, domain: str) -> Tuple[Dict[str, str], Optional[str]]:
    """The signer-name check, and the DNS name to build the chain for."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        names = signer.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        where = "subjectAltName"
    except x509.ExtensionNotFound:
        names = [str(a.value) for a in signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        where = "CN"
    matched = [n for n in names if _in_domain(n, domain)]
    chosen = (matched or names or [None])[0]
    if chosen is not None and chosen.startswith("*."):
        chosen = "attested" + chosen[1:]
    if matched:
        return _check("signer-name", "pass", f"{matched[0]} ({where}) is in {domain}"), chosen
    return _check("signer-name", "fail", f"the signer is {', '.join(names) or 'unnamed'} "
                                         f"({where}), not {domain} or below it"), chosen


def _ca_issuers(certificate: Any) -> Optional[str]:
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    try:
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    urls = [d.access_location.value for d in access
            if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]
    return urls[0] if urls else None


def _chain(signer: Any, name: Optional[str], embedded: List[Any], trust: Trust,
           fetch: Optional[Callable[[str], bytes]], now: dt.datetime,
           refused: Optional[str] = None) -> Dict[str, str]:
    """``refused``: why nothing may be downloaded (a failed check before this one)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.x509 import verification

    fail = functools.partial(_check, "chain", "fail")
    if not trust.roots:
        return fail(f"no trusted roots ({trust.source}): pass --ca-file")
    if name is None:
        return fail("the signer certificate names no DNS name to verify its chain for")
    pool = list(trust.intermediates) + embedded
    fetched, certificate = [], signer
    for _ in range(MAX_FETCHES):
        if any(c.subject == certificate.issuer for c in pool + trust.roots):
            break
        url = _ca_issuers(certificate)
        missing = (f"the issuer {certificate.issuer.rfc4514_string()} of "
                   f"{certificate.subject.rfc4514_string()} is not in {trust.source}")
        if url is None:
            return fail(f"{missing}, and the certificate names no caIssuers URL to fetch it from")
        if fetch is None:
            return fail(f"{missing}, and --no-fetch forbids fetching it from {url}")
        if refused is not None:
            return fail(f"{missing}, and it was not downloaded from {url}: {refused}")
        try:
            found = _certificates(fetch(url))
        except Exception as exc:  # any failure to fetch makes the check fail, with its reason
            return fail(f"{missing}; fetching it from {url} failed: {exc}")
        if not found:
            return fail(f"{missing}; {url} served no certificate")
        pool += found
        fetched.append(url)
        certificate = found[0]
    try:
        verifier = (verification.PolicyBuilder().store(verification.Store(trust.roots)).time(now)
                    .build_server_verifier(verification.DNSName(name)))
        chain = verifier.verify(signer, pool)
    except (verification.VerificationError, ValueError, UnsupportedAlgorithm) as exc:
        return fail(f"no valid chain from {signer.subject.rfc4514_string()} to a root "
                    f"in {trust.source}: {exc}")
    path = " -> ".join(c.subject.rfc4514_string() for c in chain)
    via = f"; fetched {', '.join(fetched)}" if fetched else ""
    return _check("chain", "pass", f"{path} (trusted, from {trust.source}){via}")


def _nonce(document: Dict[str, Any], expected: Optional[str]) -> Dict[str, str]:
    if expected is None:
        return _check("nonce", "skip", "no nonce to compare with: pass --nonce with the one "
                                       "the document was asked for")
    got = document.get("nonce")
    if got == expected:
        return _check("nonce", "pass", f"the document echoes the nonce sent ({expected})")
    return _check("nonce", "fail", f"the document's nonce is {got!r}, not the {expected!r} sent: "
                                   "an old or substituted document")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(delta: dt.timedelta) -> str:
    return str(dt.timedelta(seconds=int(delta.total_seconds())))


def _timestamp(document: Dict[str, Any], now: dt.datetime) -> Dict[str, str]:
    stamp: Any = document.get("timeStamp")
    try:
        created = dt.datetime.strptime(stamp["createdOn"], TIME_FORMAT)
        expires = dt.datetime.strptime(stamp["expiresOn"], TIME_FORMAT)
    except (TypeError, KeyError, ValueError):
        return _check("timestamp", "fail", "no timeStamp with createdOn and expiresOn "
                                           "as MM/DD/YY HH:MM:SS -0000")
    if expires <= now:
        return _check("timestamp", "fail", f"expired at {_iso(expires)}, {_span(now - expires)} ago")
    if created > now + CLOCK_SKEW:
        return _check("timestamp", "fail", f"created at {_iso(created)}, {_span(created - now)} "
                                           "from now: more than 5 minutes ahead (a wrong clock?)")
    return _check("timestamp", "pass", f"created {_iso(created)}, expires {_iso(expires)}")


def _vm(document: Dict[str, Any], compute: Optional[Dict[str, Any]]) -> Dict[str, str]:
    if compute is None:
        return _check("vm", "skip", "not compared: the document was not read from this VM's IMDS")
    keys = [k for k in ("vmId", "subscriptionId") if k in document]
    wrong = [f"{k} {document[k]!r} is not this VM's {compute.get(k)!r}"
             for k in keys if document[k] != compute.get(k)]
    if "vmId" not in document or wrong:
        return _check("vm", "fail", "; ".join(wrong) or "the document has no vmId")
    return _check("vm", "pass", f"{' and '.join(keys)} match this VM's compute facts")
