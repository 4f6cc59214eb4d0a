"""A tampered attested document is a failed verdict or "not IMDS" (exit 7), never a
crash: the DER reader and cryptography see damaged certificates, keys of unknown
algorithms, odd versions and BER nested without end. A bounded hypothesis search
mutates a real signed document (the emulator's signer) and checks the contract."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imdsctl.emulator.attested import build_document, default_signer
from tests.lib.attested import COMPUTE, V, pem_file
from tests.lib.mutation import MUTATIONS, mutate

RSA_OID = bytes.fromhex("06092a864886f70d010101")  # rsaEncryption
SPKI = RSA_OID + b"\x05\x00\x03"  # ... NULL, then the key's BIT STRING: the key's algorithm


def _signed(signed_attributes: bool = False) -> bytes:
    document = build_document(COMPUTE, V, "1234567890", dt.datetime.now(dt.timezone.utc))
    return default_signer().sign(json.dumps(document).encode(), "westeurope",
                                 signed_attributes=signed_attributes)


GENUINE = _signed()
WITH_ATTRIBUTES = _signed(signed_attributes=True)


pytestmark = pytest.mark.verify  # every test here verifies


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return pem_file(tmp_path_factory.mktemp("ca"), default_signer())


def _verify(run, ca: str, der: bytes):
    saved = json.dumps({"encoding": "pkcs7", "signature": base64.b64encode(der).decode()})
    return run("attested", "verify", "--file", "-", "--ca-file", ca, "--no-fetch", "-o", "json", input=saved)


def _replace_in_signer(der: bytes, old: bytes, new: bytes) -> bytes:
    at = der.find(old, der.find(b"\xa0\x03\x02\x01\x02") - 1)  # inside the embedded certificate
    assert at > 0
    return der[:at] + new + der[at + len(old):]


TAMPERED = {
    # The case: a byte flipped inside the signer's key algorithm (UnsupportedAlgorithm).
    "key algorithm": _replace_in_signer(GENUINE, SPKI, RSA_OID[:-1] + b"\x07" + SPKI[len(RSA_OID):]),
    "key algorithm, another arc": _replace_in_signer(GENUINE, SPKI, RSA_OID[:4] + b"\x47" + SPKI[5:]),
    "certificate version 18 (InvalidVersion)": _replace_in_signer(GENUINE, b"\xa0\x03\x02\x01\x02",
                                                                  b"\xa0\x03\x02\x01\x12"),
    "public key bits": _replace_in_signer(GENUINE, b"\x03\x82\x01\x0f\x00", b"\x03\x82\x01\x0f\x07"),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_a_damaged_signer_certificate_is_exit_7(run, ca, name):
    result = _verify(run, ca, TAMPERED[name])
    assert result.exit_code == 7, result.stderr
    assert "internal error" not in result.stderr and len(result.stderr.splitlines()) <= 2


def test_ber_octet_strings_nested_without_end_are_malformed(run, ca, monkeypatch):
    """Constructed OCTET STRINGs 3,000 deep as the content (a RecursionError before)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from imdsctl.emulator import attested as emulated

    nested = b"\x04\x00"
    for _ in range(3000):
        nested = b"\x24" + _length(len(nested)) + nested
    real = emulated._der
    monkeypatch.setattr(emulated, "_der",
                        lambda tag, content: nested if content == b"MARK" else real(tag, content))
    leaf = default_signer().leaf("westeurope")
    der = emulated.signed_data(b"MARK", leaf, b"\0" * 256, [leaf.public_bytes(Encoding.DER)])
    result = _verify(run, ca, der)
    assert result.exit_code == 7 and "not a PKCS#7 SignedData" in result.stderr
    assert "internal error" not in result.stderr


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def test_the_genuine_documents_still_verify(run, ca):
    for der in (GENUINE, WITH_ATTRIBUTES):
        result = _verify(run, ca, der)
        assert result.exit_code == 0, result.stdout
        assert json.loads(result.stdout)["verified"] is True


@settings(max_examples=300, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(der=st.sampled_from([GENUINE, WITH_ATTRIBUTES]), steps=MUTATIONS)
def test_any_mutation_of_a_signed_document_is_a_verdict_or_exit_7_never_1(run, ca, der, steps):
    result = _verify(run, ca, mutate(der, steps))
    assert result.exit_code in (0, 7), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 2
    if result.exit_code == 0:  # a mutation the signature does not cover: still a verdict, and a pass
        assert json.loads(result.stdout)["verified"] is True
    elif result.stdout:
        assert json.loads(result.stdout)["verified"] is False
