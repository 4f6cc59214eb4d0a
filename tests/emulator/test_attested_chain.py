"""The attested signer's chain, checked the way Microsoft documents it
(https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#signature-validation-guidance):
the leaf's Authority Information Access names a CA Issuers URL on the
emulator itself, which serves the intermediate there in DER, so that
`openssl verify -untrusted intermediate.pem` against the root alone passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID

from imdsctl.attested import document as client_side
from imdsctl.catalog import ATTESTED_PATH, DEFAULT_API_VERSION, DEFAULT_ENDPOINT, IMDS_ADDRESS
from imdsctl.emulator import attested as emulated
from imdsctl.emulator.messages import Request
from tests.lib.attested import ca_pair

pytestmark = pytest.mark.e2e

IMDSCTL = [sys.executable, "-m", "imdsctl"]


def leaf(emulator_http):
    response = emulator_http.get(ATTESTED_PATH, params={"api-version": DEFAULT_API_VERSION})
    assert response.status_code == 200, response.text
    envelope = client_side.decode(response.json(), "test").envelope
    return x509.load_der_x509_certificate(envelope.signer)


def ca_issuers(certificate):
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return [d.access_location.value for d in access
            if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]


def test_the_leaf_names_a_ca_issuers_url_on_the_emulator(emulator_http, emulator):
    assert ca_issuers(leaf(emulator_http)) == [emulator.url + emulated.CA_ISSUERS_PATH]


def test_the_ca_issuers_url_serves_the_intermediate_in_der(emulator):
    url = emulator.url + emulated.CA_ISSUERS_PATH
    response = httpx.get(url, trust_env=False)  # no Metadata header: a certificate download
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pkix-cert"
    root, intermediate = x509.load_pem_x509_certificates(emulated.ca_bundle_pem(emulator.service))
    assert response.content == intermediate.public_bytes(Encoding.DER)
    head = httpx.head(url, trust_env=False)
    assert (head.status_code, head.content) == (200, b"")
    post = httpx.post(url, trust_env=False)
    assert (post.status_code, post.headers["allow"]) == (405, "GET, HEAD")
    assert emulator.requests == []  # not an IMDS request: never faulted, throttled or logged


def test_faults_do_not_reach_the_ca_issuers_url(emulator):
    emulator.add_fault("500*inf")
    assert httpx.get(emulator.url + emulated.CA_ISSUERS_PATH, trust_env=False).status_code == 200


def test_a_supplied_ca_is_served_as_the_issuer(emulator_http, emulator):
    cert_pem, key_pem = ca_pair()
    emulated.configure(emulator.service, ca_cert=cert_pem, ca_key=key_pem)
    issued_by = leaf(emulator_http).issuer
    served = x509.load_der_x509_certificate(emulator_http.get(emulated.CA_ISSUERS_PATH).content)
    assert served.subject == issued_by and served == x509.load_pem_x509_certificate(cert_pem)


@pytest.mark.parametrize(("host", "url"), [
    (IMDS_ADDRESS, DEFAULT_ENDPOINT + emulated.CA_ISSUERS_PATH),
    ("127.0.0.1:8169", "http://127.0.0.1:8169" + emulated.CA_ISSUERS_PATH),
    ("[::1]:8169", "http://[::1]:8169" + emulated.CA_ISSUERS_PATH),
    ("metadata.example:80", "http://metadata.example:80" + emulated.CA_ISSUERS_PATH),
    ("", None),
    ("evil.example/x?", None),
    ("a b", None),
    ("x" * 300, None),
])
def test_the_url_is_the_host_the_client_asked(host, url):
    request = Request("GET", ATTESTED_PATH, ("metadata", "attested", "document"), "", (), {"Host": host})
    assert emulated.ca_issuers_url(request) == url


def test_a_leaf_per_location_and_url_and_no_more_than_a_few():
    signer = emulated.default_signer()
    first = signer.leaf("eastus", "http://a.example/x.crt")
    assert signer.leaf("eastus", "http://a.example/x.crt") is first
    assert ca_issuers(signer.leaf("eastus", "http://b.example/x.crt")) == ["http://b.example/x.crt"]
    for n in range(emulated.MAX_LEAVES + 5):
        signer.leaf("eastus", f"http://{n}.example/x.crt")
    assert len(signer._leaves) == emulated.MAX_LEAVES
    with pytest.raises(x509.ExtensionNotFound):
        signer.leaf("westus").extensions.get_extension_for_class(x509.AuthorityInformationAccess)


# Microsoft's documented check, step by step, on what `imdsctl emulate` serves.
OPENSSL_CHECK = r"""
set -e
curl -s --noproxy '*' -H Metadata:true \
    "$IMDSCTL_ENDPOINT/metadata/attested/document?api-version=2021-02-01&nonce=1234567890" > attested.json
"$PYTHON" -c 'import json; print(json.load(open("attested.json"))["signature"])' > signature
base64 -d signature > decodedsignature
openssl pkcs7 -in decodedsignature -inform DER -out sign.pk7
openssl pkcs7 -in decodedsignature -inform DER -print_certs -out signer.pem
curl -s --noproxy '*' -o intermediate.cer \
    "$(openssl x509 -in signer.pem -text -noout | grep ' CA Issuers -' | awk -FURI: '{print $2}')"
openssl x509 -inform der -in intermediate.cer -out intermediate.pem
openssl smime -verify -in sign.pk7 -inform pem -noverify
openssl x509 -in ca.pem -out root.pem
openssl verify -verbose -CAfile root.pem -untrusted intermediate.pem signer.pem
if openssl verify -CAfile root.pem signer.pem > /dev/null 2>&1; then exit 9; fi
"""


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl") and shutil.which("base64")),
                    reason="needs openssl, curl and base64")
def test_microsofts_openssl_check_passes_against_the_emulator(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run([*IMDSCTL, "emulate", "--attested-ca-out", "ca.pem", "--", "sh", "-c",
                           OPENSSL_CHECK], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"nonce":"1234567890"' in done.stdout  # smime -verify prints the signed document
    assert done.stdout.rstrip().endswith("signer.pem: OK")
    assert "Verification successful" in done.stderr
    assert (tmp_path / "intermediate.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
