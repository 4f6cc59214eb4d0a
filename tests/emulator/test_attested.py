"""The emulator's attested data endpoint over loopback sockets: the PKCS#7
envelope laid out like a real answer, the document's fields by api-version,
the nonce, the validity window, the CA (generated or supplied), and the
endpoint without the cryptography package."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
import sys

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from imdsctl.attested import document as client_side
from imdsctl.catalog import ATTESTED_PATH, DEFAULT_API_VERSION, INSTANCE_VERSIONS
from imdsctl.emulator import attested as emulated
from imdsctl.emulator import load_profile
from tests.lib.attested import ca_pair

pytestmark = pytest.mark.e2e

COMPUTE = load_profile("linux-2025").instance["compute"]
TIME = "%m/%d/%y %H:%M:%S -0000"
SHA256_RSA, RSA = "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1"


def attested(emulator_http, version=DEFAULT_API_VERSION, **params):
    return emulator_http.get(ATTESTED_PATH, params={"api-version": version, **params})


def taken_apart(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return client_side.decode(response.json(), "test")


def test_answer_is_pkcs7_json_like_the_real_service(emulator_http):
    response = attested(emulator_http)
    assert response.content.startswith(b'{"encoding":"pkcs7","signature":"MII')
    assert set(response.json()) == {"encoding", "signature"}
    answer = taken_apart(response)
    assert answer.document["vmId"] == COMPUTE["vmId"]


def test_envelope_is_laid_out_like_a_real_answer(emulator_http):
    envelope = taken_apart(attested(emulator_http)).envelope
    assert envelope.content_type == client_side.DATA
    assert envelope.signed_attributes is None  # IMDS signs the content itself
    assert (envelope.digest_algorithm, envelope.signature_algorithm) == (SHA256_RSA, RSA)
    assert len(envelope.certificates) == 1 and envelope.signer == envelope.certificates[0]
    leaf = x509.load_der_x509_certificate(envelope.signer)
    leaf.public_key().verify(envelope.signature, envelope.content, padding.PKCS1v15(), hashes.SHA256())
    assert envelope.content.startswith(b'{"nonce":')  # compact, keys sorted, as captured


def test_leaf_names_the_location_and_chains_through_an_intermediate(emulator_http, emulator):
    signer = taken_apart(attested(emulator_http)).signer
    assert signer["subject"] == "CN=metadata.azure.com"
    assert signer["dnsNames"] == [f"{COMPUTE['location']}.metadata.azure.com", "metadata.azure.com"]
    assert signer["issuer"] == "CN=imdsctl emulator intermediate"
    bundle = x509.load_pem_x509_certificates(emulated.ca_bundle_pem(emulator.service))
    assert [c.subject.rfc4514_string() for c in bundle] == \
        ["CN=imdsctl emulator root", "CN=imdsctl emulator intermediate"]
    assert bundle[1].issuer == bundle[0].subject == bundle[0].issuer


def test_default_nonce_is_the_utc_time(emulator_http):
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    document = taken_apart(attested(emulator_http)).document
    after = dt.datetime.now(dt.timezone.utc)
    stamped = dt.datetime.strptime(document["nonce"], "%Y%m%d-%H%M%S").replace(tzinfo=dt.timezone.utc)
    assert re.fullmatch(r"\d{8}-\d{6}", document["nonce"]) and before <= stamped <= after


@pytest.mark.parametrize("nonce", ["1234567890", "a" * 32, "AbC123"])
def test_nonce_is_echoed(emulator_http, nonce):
    assert taken_apart(attested(emulator_http, nonce=nonce)).document["nonce"] == nonce


def test_empty_nonce_is_treated_as_absent(emulator_http):
    assert re.fullmatch(r"\d{8}-\d{6}", taken_apart(attested(emulator_http, nonce="")).document["nonce"])


@pytest.mark.parametrize("nonce", ["a" * 33, "12-34", "12 34", "nonce!", "ü"])
def test_bad_nonce_is_refused(emulator_http, nonce):
    response = attested(emulator_http, nonce=nonce)
    assert response.status_code == 400
    assert response.json() == {"error": emulated.BAD_NONCE}


@pytest.mark.parametrize("fmt, status", [("json", 200), ("text", 400), ("xml", 400)])
def test_only_json_format(emulator_http, fmt, status):
    assert attested(emulator_http, format=fmt).status_code == status


def test_timestamp_format_and_default_six_hour_validity(emulator_http):
    stamp = taken_apart(attested(emulator_http)).document["timeStamp"]
    created = dt.datetime.strptime(stamp["createdOn"], TIME)
    expires = dt.datetime.strptime(stamp["expiresOn"], TIME)
    assert expires - created == dt.timedelta(hours=6)
    assert abs(created - dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)) < dt.timedelta(minutes=1)


def test_validity_is_configurable(emulator_http, emulator):
    emulated.configure(emulator.service, validity=dt.timedelta(seconds=45))
    stamp = taken_apart(attested(emulator_http)).document["timeStamp"]
    assert dt.datetime.strptime(stamp["expiresOn"], TIME) - \
        dt.datetime.strptime(stamp["createdOn"], TIME) == dt.timedelta(seconds=45)


@pytest.mark.parametrize("version, keys", [
    ("2018-10-01", {"nonce", "plan", "timeStamp", "vmId"}),
    ("2019-04-30", {"nonce", "plan", "timeStamp", "vmId", "subscriptionId"}),
    ("2019-11-01", {"nonce", "plan", "timeStamp", "vmId", "subscriptionId", "sku"}),
    ("2020-09-01", {"nonce", "plan", "timeStamp", "vmId", "subscriptionId", "sku", "licenseType"}),
    (DEFAULT_API_VERSION, {"nonce", "plan", "timeStamp", "vmId", "subscriptionId", "sku", "licenseType"}),
])
def test_fields_follow_the_api_version(imds_emulator_factory, version, keys):
    profile = copy.deepcopy(load_profile("linux-2025").instance)
    profile["compute"].update(licenseType="Windows_Server",
                              plan={"name": "n", "product": "p", "publisher": "pub"})
    with httpx.Client(verify=False, base_url=imds_emulator_factory(profile=profile, throttle=False).url,
                      headers={"Metadata": "true"}, trust_env=False, timeout=5) as emulator_http:
        document = taken_apart(attested(emulator_http, version)).document
    assert set(document) == keys
    assert document["plan"] == {"name": "n", "product": "p", "publisher": "pub"}
    assert all(document[k] == profile["compute"][k] for k in keys & {"vmId", "subscriptionId", "sku",
                                                                     "licenseType"})


def test_license_type_only_for_hybrid_benefit_vms(emulator_http):
    assert COMPUTE["licenseType"] == ""
    assert "licenseType" not in taken_apart(attested(emulator_http)).document


def test_profile_without_plan_gets_empty_strings(imds_emulator_factory):
    url = imds_emulator_factory(profile="linux-2017", throttle=False).url
    with httpx.Client(verify=False, base_url=url, headers={"Metadata": "true"}, trust_env=False,
                      timeout=5) as emulator_http:
        answer = taken_apart(attested(emulator_http, "2019-04-30"))
    assert answer.document["plan"] == {"name": "", "product": "", "publisher": ""}
    assert answer.signer["dnsNames"] == ["westus.metadata.azure.com", "metadata.azure.com"]


def test_versions_before_2018_10_01_are_refused(emulator_http):
    older = [v for v in INSTANCE_VERSIONS if v < emulated.VERSIONS[0]]
    assert older and all(v in emulated.VERSIONS for v in INSTANCE_VERSIONS if v not in older)
    response = attested(emulator_http, older[-1])
    assert response.status_code == 400 and "newest-versions" in response.json()


def test_needs_the_metadata_header(emulator):
    response = httpx.get(emulator.url + ATTESTED_PATH, params={"api-version": DEFAULT_API_VERSION},
                         trust_env=False)
    assert response.status_code == 400


def test_post_is_not_allowed(emulator_http):
    assert emulator_http.post(ATTESTED_PATH, params={"api-version": DEFAULT_API_VERSION}).status_code == 405


# -- the CA ------------------------------------------------------------------------------------------


def test_a_supplied_ca_issues_the_leaf(emulator_http, emulator):
    cert_pem, key_pem = ca_pair()
    emulated.configure(emulator.service, ca_cert=cert_pem, ca_key=key_pem)
    assert taken_apart(attested(emulator_http)).signer["issuer"] == "CN=supplied CA"
    assert emulated.ca_bundle_pem(emulator.service) == cert_pem


def test_a_supplied_ca_needs_its_own_key(emulator):
    cert_pem, _ = ca_pair()
    _, other_key = ca_pair()
    with pytest.raises(ValueError, match="does not belong"):
        emulated.configure(emulator.service, ca_cert=cert_pem, ca_key=other_key)
    with pytest.raises(ValueError, match="both"):
        emulated.configure(emulator.service, ca_cert=cert_pem)


def test_the_default_ca_is_made_once_per_process(imds_emulator_factory):
    first, second = imds_emulator_factory(), imds_emulator_factory()
    assert emulated.ca_bundle_pem(first.service) == emulated.ca_bundle_pem(second.service)
    assert emulated.signer_for(first.service) is emulated.default_signer()


def test_signed_attributes_form_is_standard_cms():
    signer = emulated.default_signer()
    envelope = client_side.parse_envelope(signer.sign(b'{"a":1}', signed_attributes=True))
    assert envelope.content == b'{"a":1}' and envelope.signed_content_type == client_side.DATA
    assert envelope.signed_digest == hashlib.sha256(b'{"a":1}').digest()


def test_without_cryptography_the_endpoint_answers_404(emulator_http, monkeypatch):
    for name in [n for n in sys.modules if n == "cryptography" or n.startswith("cryptography.")]:
        monkeypatch.setitem(sys.modules, name, None)
    response = attested(emulator_http)
    assert response.status_code == 404
    assert response.json() == {"error": emulated.NO_CRYPTOGRAPHY}
    assert "install python3-cryptography, or pip install cryptography" in response.json()["error"]


def test_signed_content_is_compact_json_with_sorted_keys(emulator_http):
    answer = taken_apart(attested(emulator_http, nonce="42"))
    assert answer.envelope.content == json.dumps(answer.document, separators=(",", ":"),
                                                 sort_keys=True).encode()
