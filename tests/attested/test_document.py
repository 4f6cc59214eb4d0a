"""`imdsctl attested` and `attested verify` against pytest-httpx, tested as an
adversary would: every forged, replayed, expired, misnamed or badly chained
document fails with the check that caught it named, and exit 7.

IMDSCTL_ENDPOINT is the real IMDS address on purpose: httpx_mock answers
in-process. Documents are signed with the emulator's Signer; no test ever
fetches a caIssuers URL (the fetcher is replaced, or forbidden with --no-fetch).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import sys

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from imdsctl.attested import verify as attested_verify
from imdsctl.attested.document import decode
from imdsctl.catalog import ATTESTED_PATH
from imdsctl.emulator.attested import Signer, build_document, default_signer, signed_data
from tests.lib.attested import COMPUTE, V, pem_file
from tests.lib.helpers import BASE

COMPUTE_URL = f"{BASE}/metadata/instance/compute?api-version={V}"
ATTESTED_URL = re.compile(re.escape(BASE + ATTESTED_PATH) + r"\?.*")
DATA_OID = bytes.fromhex("06092a864886f70d010701")
SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
ENVELOPED_OID = bytes.fromhex("06092a864886f70d010703")
CHECKS = ["signature", "signer-name", "chain", "nonce", "timestamp", "vm"]


@pytest.fixture(scope="module")
def impostor():
    """A CA with the emulator's names and other keys."""
    return Signer.generate()


@pytest.fixture(scope="module")
def with_aia():
    return Signer.generate(aia_url="http://pki.example.invalid/intermediate.crt")


@pytest.fixture
def ca_file(tmp_path):
    return pem_file(tmp_path, default_signer())


def now():
    return dt.datetime.now(dt.timezone.utc)


def answer(nonce="1234567890", signer=None, tamper=None, signed_attributes=False, location="westeurope",
           **changes):
    """An IMDS answer: a document for COMPUTE (with ``changes``), signed, then ``tamper``ed."""
    document = {**build_document(COMPUTE, V, nonce, now()), **changes}
    der = (signer or default_signer()).sign(json.dumps(document, separators=(",", ":")).encode(),
                                            location, signed_attributes=signed_attributes)
    return {"encoding": "pkcs7", "signature": base64.b64encode(tamper(der) if tamper else der).decode()}


def serve(imds, compute=COMPUTE, **kwargs):
    """Answer the attested request with the nonce it carries, then compute."""
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer(request.url.params.get("nonce", "20240101-000000"),
                                               **kwargs))
    imds.add_callback(reply, url=ATTESTED_URL)
    imds.add_response(url=COMPUTE_URL, json=compute)


def results(result):
    return {c["check"]: c["result"] for c in json.loads(result.stdout)["checks"]}


def failed(result, *checks):
    """Exit 7, exactly ``checks`` failed (and the report said so on stdout; on stderr nothing, or
    for an untrusted chain without --ca-file, where the emulator's CA is)."""
    assert result.exit_code == 7, (result.stdout, result.stderr)
    assert [c for c, r in results(result).items() if r == "fail"] == list(checks)
    assert json.loads(result.stdout)["verified"] is False
    assert result.stderr == "" or ("chain" in checks and "--attested-ca-out" in result.stderr), result.stderr
    return {c["check"]: c["reason"] for c in json.loads(result.stdout)["checks"]}


# -- showing the document -------------------------------------------------------------------


def test_show_asks_with_the_instance_api_version_and_nonce(imds, run):
    imds.add_response(url=f"{BASE}{ATTESTED_PATH}?api-version={V}&nonce=4829175630",
                      json=answer("4829175630"))
    result = run("attested", "--nonce", "4829175630", "-o", "json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert list(shown) == ["encoding", "document", "signer", "signature"]
    assert shown["document"]["nonce"] == "4829175630"
    assert shown["document"]["vmId"] == COMPUTE["vmId"]
    assert shown["signer"]["subject"] == "CN=metadata.azure.com"
    assert shown["signer"]["dnsNames"] == ["westeurope.metadata.azure.com", "metadata.azure.com"]
    assert shown["signer"]["issuer"] == "CN=imdsctl emulator intermediate"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", shown["signer"]["notAfter"])
    assert imds.get_requests()[0].headers["Metadata"] == "true"


def test_show_without_nonce_sends_none(imds, run):
    imds.add_response(url=f"{BASE}{ATTESTED_PATH}?api-version={V}", json=answer("20240101-000000"))
    assert json.loads(run("attested").stdout)["document"]["nonce"] == "20240101-000000"


def test_show_table_leaves_the_signature_out(imds, run):
    imds.add_response(url=ATTESTED_URL, json=answer())
    result = run("attested", "-o", "table")
    assert result.exit_code == 0
    assert "document.vmId" in result.stdout and COMPUTE["vmId"] in result.stdout
    assert "signer.issuer" in result.stdout and "signature" not in result.stdout


def test_show_query_for_scripts(imds, run):
    imds.add_response(url=ATTESTED_URL, json=answer())
    assert run("attested", "-q", "document.vmId").stdout == COMPUTE["vmId"] + "\n"


def test_show_needs_no_cryptography(imds, run, monkeypatch):
    body = answer()
    for name in [n for n in sys.modules if n == "cryptography" or n.startswith("cryptography.")]:
        monkeypatch.setitem(sys.modules, name, None)
    imds.add_response(url=ATTESTED_URL, json=body)
    result = run("attested", "-o", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["signer"]["subject"] == "CN=metadata.azure.com"


@pytest.mark.parametrize("nonce", ["a" * 33, "12-34", "", "ümlaut", "1 2"])
@pytest.mark.parametrize("command", [["attested"], ["attested", "verify"]])
def test_bad_nonce_is_a_usage_error_before_any_request(imds, run, nonce, command):
    result = run(*command, "--nonce", nonce)
    assert result.exit_code == 2
    assert "is not 1 to 32 letters and digits" in result.stderr
    assert imds.get_requests() == []


def test_a_32_character_nonce_is_accepted(imds, run):
    nonce = "aZ09" * 8
    imds.add_response(url=f"{BASE}{ATTESTED_PATH}?api-version={V}&nonce={nonce}", json=answer(nonce))
    assert run("attested", "--nonce", nonce, "-q", "document.nonce").stdout == nonce + "\n"


def _garbage_der():
    good = base64.b64decode(answer()["signature"])
    return {
        "not base64": "@@@",
        "not DER": base64.b64encode(b"hello world").decode(),
        "truncated": base64.b64encode(good[:-40]).decode(),
        "indefinite length (BER)": base64.b64encode(b"\x30\x80" + good[4:] + b"\0\0").decode(),
        "trailing bytes": base64.b64encode(good + b"\0").decode(),
        "not SignedData": base64.b64encode(bytes.fromhex("300d06092a864886f70d0107010500")).decode(),
        "labelled enveloped data": base64.b64encode(good.replace(SIGNED_DATA_OID, ENVELOPED_OID, 1)).decode(),
        "a SET, not a SEQUENCE": base64.b64encode(b"\x31" + good[1:]).decode(),
        "content not JSON": answer_with_content(b"not json"),
        "content a list": answer_with_content(b"[1]"),
        "signer not embedded": base64.b64encode(_without_the_signer()).decode(),
    }


def answer_with_content(content):
    return base64.b64encode(default_signer().sign(content)).decode()


def _without_the_signer():
    """Signed by the leaf, carrying only the intermediate."""
    signer = default_signer()
    leaf, intermediate = signer.leaf("westeurope"), x509.load_pem_x509_certificates(signer.ca_pem)[1]
    return signed_data(b"{}", leaf, b"\0" * 256, [intermediate.public_bytes(Encoding.DER)])


@pytest.mark.parametrize("body", [
    {"encoding": "pkcs7"}, {"signature": 7}, [1, 2], {"encoding": "base64", "signature": "MII="},
    *({"encoding": "pkcs7", "signature": s} for s in _garbage_der().values()),
], ids=["no signature", "signature not a string", "a list", "other encoding", *_garbage_der()])
def test_answers_that_are_not_attested_documents_exit_7(imds, run, body):
    imds.add_response(url=ATTESTED_URL, json=body)
    result = run("attested")
    assert result.exit_code == 7, result.stdout
    assert result.stderr.startswith(f"imdsctl: GET {ATTESTED_PATH} returned ")
    assert result.stdout == ""


@pytest.mark.parametrize("status, code", [(404, 3), (400, 4), (403, 4)])
def test_imds_errors_keep_their_exit_codes(imds, run, status, code):
    imds.add_response(url=ATTESTED_URL, status_code=status, json={"error": "nope"})
    assert run("attested").exit_code == code


def test_options_before_verify_are_a_usage_error(imds, run):
    result = run("attested", "--nonce", "1", "verify")
    assert result.exit_code == 2
    assert "--nonce given before 'verify'" in result.stderr
    assert imds.get_requests() == []


# -- verify: genuine documents ---------------------------------------------------------------------


def test_a_genuine_document_verifies(imds, run, ca_file):
    serve(imds)
    result = run("attested", "verify", "--ca-file", ca_file)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    assert report["verified"] is True and result.stderr == ""
    assert [c["check"] for c in report["checks"]] == CHECKS
    assert {c["result"] for c in report["checks"]} == {"pass"}
    assert report["document"]["vmId"] == COMPUTE["vmId"]
    sent = imds.get_requests()[0].url.params["nonce"]
    assert re.fullmatch(r"\d{10}", sent) and report["document"]["nonce"] == sent
    assert "CN=imdsctl emulator intermediate -> CN=imdsctl emulator root" in report["checks"][2]["reason"]


def test_each_verify_sends_a_fresh_nonce(imds, run, ca_file):
    serve(imds)
    serve(imds)
    run("attested", "verify", "--ca-file", ca_file)
    run("attested", "verify", "--ca-file", ca_file)
    first, _, second, _ = imds.get_requests()
    assert first.url.params["nonce"] != second.url.params["nonce"]


def test_verify_table_for_people_has_a_row_per_check(imds, run, ca_file):
    serve(imds)
    result = run("attested", "verify", "--ca-file", ca_file, "-o", "table")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["check", "result", "reason"]
    assert [line.split()[:2] for line in lines[2:] if line[:1].strip()] == [[c, "pass"] for c in CHECKS]


def test_standard_cms_with_signed_attributes_verifies(imds, run, ca_file):
    serve(imds, signed_attributes=True)
    result = run("attested", "verify", "--ca-file", ca_file, "-q", "checks[0].reason")
    assert result.exit_code == 0
    assert result.stdout.startswith("SHA256 RSA signature over the signed attributes")


def test_a_bundle_of_intermediates_uses_the_system_roots(imds, run, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", pem_file(tmp_path, default_signer(), ["root"], "system.pem"))
    serve(imds)
    result = run("attested", "verify", "--ca-file", pem_file(tmp_path, default_signer(), ["intermediate"]))
    assert result.exit_code == 0, result.stdout
    assert "(trusted, from " + str(tmp_path / "system.pem") in result.stdout


def test_without_ca_file_the_system_trust_store_is_used(imds, run, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", pem_file(tmp_path, default_signer(), ["root", "intermediate"]))
    serve(imds)
    result = run("attested", "verify")
    # Self-signed or not, what the system bundle holds is trusted; intermediates come from elsewhere.
    assert results(result)["chain"] == "pass", result.stdout


# -- verify: forgeries, each caught by its check -----------------------------------------------


def _flip_last_byte(der):
    return der[:-1] + bytes([der[-1] ^ 1])


def test_tampered_content_fails_the_signature(imds, run, ca_file):
    serve(imds, tamper=lambda der: der.replace(b'"sku":"server"', b'"sku":"SERVER"'))
    reasons = failed(run("attested", "verify", "--ca-file", ca_file), "signature")
    assert "altered" in reasons["signature"]


def test_tampered_signature_fails_the_signature(imds, run, ca_file):
    serve(imds, tamper=_flip_last_byte)
    failed(run("attested", "verify", "--ca-file", ca_file), "signature")


def test_tampered_content_under_signed_attributes_fails_the_message_digest(imds, run, ca_file):
    serve(imds, signed_attributes=True, tamper=lambda der: der.replace(b'"sku":"server"', b'"sku":"SERVER"'))
    reasons = failed(run("attested", "verify", "--ca-file", ca_file), "signature")
    assert "message-digest" in reasons["signature"]


SHA256_RSA_ID = bytes.fromhex("300d06092a864886f70d01010b0500")
RSA_ID = bytes.fromhex("300d06092a864886f70d0101010500")


def _replace_last(old, new):
    def tamper(der):
        at = der.rindex(old)
        return der[:at] + new + der[at + len(old):]
    return tamper


def test_a_sha1_digest_fails_the_signature(imds, run, ca_file):
    serve(imds, tamper=_replace_last(SHA256_RSA_ID, bytes.fromhex("300d06092a864886f70d0101050500")))
    reasons = failed(run("attested", "verify", "--ca-file", ca_file), "signature")
    assert reasons["signature"] == "unsupported digest algorithm 1.2.840.113549.1.1.5"


def test_an_unsupported_signature_algorithm_fails_the_signature(imds, run, ca_file):
    serve(imds, tamper=_replace_last(RSA_ID, bytes.fromhex("300d06092a864886f70d01010a0500")))  # PSS
    reasons = failed(run("attested", "verify", "--ca-file", ca_file), "signature")
    assert reasons["signature"] == "unsupported signature algorithm 1.2.840.113549.1.1.10 for a RSAPublicKey"


@pytest.mark.verify
def test_an_ecdsa_signer_verifies():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7

    from imdsctl.emulator.attested import _certificate

    ca, key = default_signer(), ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate("metadata.azure.com", key.public_key(), ca.issuer, ca._issuer_key, ca=False,
                        dns_names=["metadata.azure.com"])
    content = json.dumps(build_document(COMPUTE, V, "1", now())).encode()
    der = (pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(leaf, key, hashes.SHA256())
           .sign(Encoding.DER, [pkcs7.PKCS7Options.Binary]))
    root, intermediate = x509.load_pem_x509_certificates(ca.ca_pem)
    checks = attested_verify.verify(
        decode({"encoding": "pkcs7", "signature": base64.b64encode(der).decode()}, "test"),
        attested_verify.Trust([root], [intermediate], "test roots"), "metadata.azure.com")
    assert [c["result"] for c in checks] == ["pass", "pass", "pass", "skip", "pass", "skip"]
    assert checks[0]["reason"].startswith("SHA256 ECDSA signature over the signed attributes")


def test_a_signer_certificate_only_imdsctl_can_read_exits_7(imds, run, ca_file):
    def bad_time(der):  # notBefore's "Z" becomes "X": fine for the DER reader, not for X.509
        return re.sub(rb"(\x17\x0d\d{12})Z", rb"\1X", der, count=1)
    imds.add_response(url=ATTESTED_URL, json=answer(tamper=bad_time))
    assert run("attested", "-q", "signer.subject").stdout == "CN=metadata.azure.com\n"
    serve(imds, tamper=bad_time)
    result = run("attested", "verify", "--ca-file", ca_file)
    assert result.exit_code == 7 and result.stdout == ""
    assert result.stderr.startswith("imdsctl: the signer certificate cannot be read: ")


def test_a_replayed_document_fails_the_nonce(imds, run, ca_file):
    imds.add_response(url=ATTESTED_URL, json=answer("1111111111"))
    imds.add_response(url=COMPUTE_URL, json=COMPUTE)
    reasons = failed(run("attested", "verify", "--ca-file", ca_file, "--nonce", "2222222222"), "nonce")
    assert reasons["nonce"] == ("the document's nonce is '1111111111', not the '2222222222' sent: "
                                "an old or substituted document")


def test_a_signed_content_type_that_is_not_data_fails_the_signature(imds, run, ca_file):
    def relabel(der):  # the second id-data is the signed content-type attribute's value
        at = der.index(DATA_OID, der.index(DATA_OID) + 1)
        return der[:at] + SIGNED_DATA_OID + der[at + len(DATA_OID):]
    serve(imds, signed_attributes=True, tamper=relabel)
    reasons = failed(run("attested", "verify", "--ca-file", ca_file), "signature")
    assert reasons["signature"] == "the signed attributes lack a matching content-type or a message-digest"


def test_an_expired_document_fails_the_timestamp(imds, run, ca_file):
    old = now() - dt.timedelta(hours=7)
    stamp = {"createdOn": old.strftime("%m/%d/%y %H:%M:%S -0000"),
             "expiresOn": (old + dt.timedelta(hours=6)).strftime("%m/%d/%y %H:%M:%S -0000")}
    serve(imds, timeStamp=stamp)
    reasons = failed(run("attested", "verify", "--ca-file", ca_file), "timestamp")
    assert reasons["timestamp"].startswith("expired at ") and reasons["timestamp"].endswith(" ago")


def test_a_document_from_the_future_fails_the_timestamp(imds, run, ca_file):
    later = now() + dt.timedelta(hours=1)
    stamp = {"createdOn": later.strftime("%m/%d/%y %H:%M:%S -0000"),
             "expiresOn": (later + dt.timedelta(hours=6)).strftime("%m/%d/%y %H:%M:%S -0000")}
    serve(imds, timeStamp=stamp)
    assert "more than 5 minutes ahead" in failed(run("attested", "verify", "--ca-file", ca_file),
                                                 "timestamp")["timestamp"]


@pytest.mark.parametrize("stamp", [None, {"createdOn": "2024-01-01T00:00:00Z", "expiresOn": "x"}, "x"])
def test_a_malformed_timestamp_fails_the_timestamp(imds, run, ca_file, stamp):
    serve(imds, timeStamp=stamp)
    failed(run("attested", "verify", "--ca-file", ca_file), "timestamp")


def test_a_leaf_outside_metadata_azure_com_fails_the_signer_name(imds, run, tmp_path):
    evil = Signer.generate(domain="metadata.azure.com.example.net")
    serve(imds, signer=evil)
    reasons = failed(run("attested", "verify", "--ca-file", pem_file(tmp_path, evil)), "signer-name")
    assert reasons["signer-name"] == ("the signer is westeurope.metadata.azure.com.example.net, "
                                      "metadata.azure.com.example.net (subjectAltName), "
                                      "not metadata.azure.com or below it")


def test_a_wildcard_signer_name_passes(imds, run, ca_file):
    serve(imds, location="*")
    result = run("attested", "verify", "--ca-file", ca_file, "-o", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["checks"][1]["reason"] == \
        "*.metadata.azure.com (subjectAltName) is in metadata.azure.com"


@pytest.mark.parametrize("cloud, domain", [("usgov", "metadata.azure.us"), ("china", "metadata.azure.cn"),
                                           ("germany", "metadata.microsoftazure.de")])
def test_the_public_cloud_signer_fails_other_clouds(imds, run, ca_file, cloud, domain):
    serve(imds)
    reasons = failed(run("attested", "verify", "--ca-file", ca_file, "--cloud", cloud), "signer-name")
    assert reasons["signer-name"].endswith(f"not {domain} or below it")


def test_a_chain_to_an_untrusted_root_fails_the_chain(imds, run, tmp_path, impostor):
    serve(imds)
    reasons = failed(run("attested", "verify", "--ca-file", pem_file(tmp_path, impostor)), "chain")
    assert reasons["chain"].startswith("no valid chain from CN=metadata.azure.com to a root in ")


def test_a_genuine_intermediate_under_an_untrusted_root_fails_the_chain(imds, run, tmp_path, impostor):
    root = x509.load_pem_x509_certificates(impostor.ca_pem)[0]
    intermediate = x509.load_pem_x509_certificates(default_signer().ca_pem)[1]
    mixed = tmp_path / "mixed.pem"
    mixed.write_bytes(root.public_bytes(Encoding.PEM) + intermediate.public_bytes(Encoding.PEM))
    serve(imds)
    failed(run("attested", "verify", "--ca-file", str(mixed)), "chain")


def test_a_missing_intermediate_with_no_fetch_fails_the_chain(imds, run, tmp_path, with_aia):
    serve(imds, signer=with_aia)
    reasons = failed(run("attested", "verify", "--no-fetch",
                         "--ca-file", pem_file(tmp_path, with_aia, ["root"])), "chain")
    assert reasons["chain"] == (
        f"the issuer CN=imdsctl emulator intermediate of CN=metadata.azure.com is not in "
        f"{tmp_path / 'ca.pem'}, and --no-fetch forbids fetching it from "
        "http://pki.example.invalid/intermediate.crt")


def test_a_missing_intermediate_without_a_ca_issuers_url_fails_the_chain(imds, run, tmp_path):
    serve(imds)
    reasons = failed(run("attested", "verify", "--ca-file", pem_file(tmp_path, default_signer(), ["root"])),
                     "chain")
    assert reasons["chain"].endswith("and the certificate names no caIssuers URL to fetch it from")


def test_another_vms_document_fails_the_vm_check(imds, run, ca_file):
    serve(imds, compute={**COMPUTE, "vmId": "99999999-0000-0000-0000-000000000000"})
    reasons = failed(run("attested", "verify", "--ca-file", ca_file), "vm")
    assert reasons["vm"] == (f"vmId '{COMPUTE['vmId']}' is not this VM's "
                             "'99999999-0000-0000-0000-000000000000'")


def test_a_document_without_vm_id_fails_the_vm_check(imds, run, ca_file):
    serve(imds, vmId=None)
    failed(run("attested", "verify", "--ca-file", ca_file), "vm")


def test_a_failed_verification_still_renders_the_report(imds, run, ca_file):
    serve(imds, tamper=_flip_last_byte)
    result = run("attested", "verify", "--ca-file", ca_file, "-q", "verified")
    assert (result.exit_code, result.stdout) == (7, "false\n")


# -- the caIssuers fetch, never over the network --------------------------------------------------


def _verify(signer, fetch, roots_of=None):
    attested = decode(answer(signer=signer), "test")
    root = x509.load_pem_x509_certificates((roots_of or signer).ca_pem)[0]
    trust = attested_verify.Trust([root], [], "test roots")
    return {c["check"]: c for c in attested_verify.verify(attested, trust, "metadata.azure.com",
                                                          fetch=fetch)}


@pytest.mark.verify
def test_a_missing_intermediate_is_fetched_from_the_ca_issuers_url(with_aia):
    intermediate = x509.load_pem_x509_certificates(with_aia.ca_pem)[1]
    asked = []

    def fetch(url):
        asked.append(url)
        return intermediate.public_bytes(Encoding.DER)
    chain = _verify(with_aia, fetch)["chain"]
    assert chain["result"] == "pass", chain
    assert asked == ["http://pki.example.invalid/intermediate.crt"]
    assert chain["reason"].endswith("; fetched http://pki.example.invalid/intermediate.crt")


@pytest.mark.verify
@pytest.mark.parametrize("served", ["pem", "p7c"])
def test_fetched_intermediates_may_be_pem_or_pkcs7(with_aia, served):
    from cryptography.hazmat.primitives.serialization import pkcs7

    intermediate = x509.load_pem_x509_certificates(with_aia.ca_pem)[1]
    data = intermediate.public_bytes(Encoding.PEM) if served == "pem" \
        else pkcs7.serialize_certificates([intermediate], Encoding.DER)
    assert _verify(with_aia, lambda url: data)["chain"]["result"] == "pass"


@pytest.mark.verify
def test_a_failed_fetch_fails_the_chain_with_its_reason(with_aia):
    def fetch(url):
        raise OSError("no route to host")
    chain = _verify(with_aia, fetch)["chain"]
    assert chain["result"] == "fail" and chain["reason"].endswith("failed: no route to host")


@pytest.mark.verify
def test_a_fetch_of_something_else_fails_the_chain(with_aia):
    chain = _verify(with_aia, lambda url: b"<html>")["chain"]
    assert chain["result"] == "fail" and "<html>" not in chain["reason"]


@pytest.mark.verify
def test_a_fetch_without_certificates_fails_the_chain(with_aia):
    chain = _verify(with_aia, lambda url: b"-----BEGIN NOTHING-----\n")["chain"]
    assert chain["result"] == "fail"
    assert chain["reason"].endswith("; http://pki.example.invalid/intermediate.crt served no certificate")


@pytest.mark.verify
def test_a_fetched_impostor_intermediate_fails_the_chain(with_aia, impostor):
    wrong = x509.load_pem_x509_certificates(impostor.ca_pem)[1]
    assert _verify(with_aia, lambda url: wrong.public_bytes(Encoding.DER))["chain"]["result"] == "fail"


def test_fetch_url_reads_at_most_64_kib(imds):
    """The fetcher itself, against pytest-httpx (in-process; nothing leaves the test)."""
    imds.add_response(url="http://pki.example.invalid/a.crt", content=b"DER")
    imds.add_response(url="http://pki.example.invalid/big.crt", content=b"x" * (64 * 1024 + 1))
    assert attested_verify.fetch_url("http://pki.example.invalid/a.crt") == b"DER"
    with pytest.raises(ValueError, match="not a certificate"):
        attested_verify.fetch_url("http://pki.example.invalid/big.crt")
    with pytest.raises(ValueError, match="not an http"):
        attested_verify.fetch_url("ldap://pki.example.invalid/a.crt")


# -- verify: saved documents, trust material, the extra ---------------------------------------------


def test_a_saved_answer_verifies_without_asking_imds(imds, run, ca_file, tmp_path):
    saved = tmp_path / "answer.json"
    saved.write_text(json.dumps(answer("777")))
    result = run("attested", "verify", "--file", str(saved), "--ca-file", ca_file, "--nonce", "777")
    assert result.exit_code == 0, result.stdout
    assert results(result) == {**dict.fromkeys(CHECKS, "pass"), "vm": "skip"}
    assert imds.get_requests() == []


@pytest.mark.verify
def test_a_saved_answer_from_stdin_without_nonce_skips_the_nonce(run, ca_file):
    result = run("attested", "verify", "--file", "-", "--ca-file", ca_file, input=json.dumps(answer()))
    assert result.exit_code == 0
    assert results(result)["nonce"] == "skip"


def test_show_output_is_a_saved_answer_too(imds, run, ca_file):
    imds.add_response(url=ATTESTED_URL, json=answer("55"))
    shown = run("attested", "--nonce", "55", "-o", "json").stdout
    result = run("attested", "verify", "--file", "-", "--ca-file", ca_file, "--nonce", "56", input=shown)
    failed(result, "nonce")


@pytest.mark.verify
def test_a_saved_file_that_is_not_json_exits_7(run, ca_file):
    result = run("attested", "verify", "--file", "-", "--ca-file", ca_file, input="<html>")
    assert result.exit_code == 7 and "--file <stdin> is not JSON" in result.stderr


@pytest.mark.parametrize("args", [["--file", "/nonexistent.json"], ["--ca-file", "/nonexistent.pem"]])
def test_missing_files_are_usage_errors(imds, run, args):
    assert run("attested", "verify", *args).exit_code == 2


@pytest.mark.parametrize("content, message", [
    (b"no certificates here\n", "holds no PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 1 cannot be read"),
])
def test_an_unusable_ca_file_is_a_usage_error(imds, run, tmp_path, content, message):
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    result = run("attested", "verify", "--ca-file", str(path))
    assert result.exit_code == 2 and message in result.stderr
    assert imds.get_requests() == []


def _python_loads(monkeypatch, certificates):
    """What ssl's default context would list (Windows and macOS stores), DER."""
    class Context:
        def get_ca_certs(self, binary_form):
            assert binary_form
            return certificates
    monkeypatch.setattr(attested_verify.ssl, "create_default_context", Context)


def test_no_system_trust_store_fails_the_chain(imds, run, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
    monkeypatch.setattr(attested_verify, "SYSTEM_BUNDLES", ())
    _python_loads(monkeypatch, [])
    serve(imds)
    reasons = failed(run("attested", "verify"), "chain")
    assert reasons["chain"] == "no trusted roots (no system trust store found): pass --ca-file"


def test_the_system_store_python_loads_is_the_last_resort(imds, run, monkeypatch, tmp_path):
    root = x509.load_pem_x509_certificates(default_signer().ca_pem)[0].public_bytes(Encoding.DER)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
    monkeypatch.setattr(attested_verify, "SYSTEM_BUNDLES", ())
    _python_loads(monkeypatch, [b"junk", root])
    serve(imds)
    result = run("attested", "verify", "--ca-file", pem_file(tmp_path, default_signer(), ["intermediate"]),
                 "-q", "checks[2].reason")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("(trusted, from the system trust store)\n")


def test_verify_without_cryptography_says_how_to_install_it(imds, run, monkeypatch):
    for name in [n for n in sys.modules if n == "cryptography" or n.startswith("cryptography.")]:
        monkeypatch.setitem(sys.modules, name, None)
    result = run("attested", "verify")
    assert result.exit_code == 2
    assert result.stderr == ("imdsctl: verifying attested data needs the 'cryptography' package "
                             "(42 or newer), which this Python does not have\nhint: install your "
                             "distribution's python3-cryptography (42 or newer: Debian 13, Ubuntu 24.10, "
                             "Fedora 40), or pip install 'cryptography>=42' into the Python that runs "
                             "imdsctl\n")
    assert imds.get_requests() == []


def test_verify_with_a_cryptography_too_old_says_which_it_found(imds, run, monkeypatch):
    import types

    old = types.ModuleType("cryptography")
    old.__version__ = "38.0.4"  # Debian 12's python3-cryptography: no x509.verification
    for name in [n for n in sys.modules if n.startswith("cryptography.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "cryptography", old)
    result = run("attested", "verify")
    assert result.exit_code == 2
    assert result.stderr.startswith("imdsctl: verifying attested data needs the 'cryptography' package "
                                    "42 or newer; this Python has 38.0.4\nhint: install your "
                                    "distribution's python3-cryptography")
    assert imds.get_requests() == []
