"""Builders for the attested-data tests: a compute document, CA files, a CA of ones own."""

from __future__ import annotations

import re

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from imdsctl.catalog import DEFAULT_API_VERSION
from imdsctl.emulator import attested as emulated

V = DEFAULT_API_VERSION
COMPUTE = {"vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6", "location": "westeurope",
           "subscriptionId": "11111111-2222-3333-4444-555555555555", "sku": "server"}


def pem_file(tmp_path, signer, parts=("root", "intermediate"), name="ca.pem"):
    root, intermediate = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n",
                                    signer.ca_pem, re.S)
    path = tmp_path / name
    path.write_bytes(b"".join({"root": root, "intermediate": intermediate}[p] for p in parts))
    return str(path)


def ca_pair(name="supplied CA"):
    """A CA of ones own: (certificate PEM, private key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = emulated._certificate(name, key.public_key(), None, key, ca=True)
    return cert.public_bytes(Encoding.PEM), key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                              NoEncryption())
