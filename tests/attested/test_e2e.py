"""`imdsctl attested` and `attested verify` against the emulator over real
loopback sockets: the emulator signs with its own CA, and verify is pointed at
that CA with --ca-file, as a user of `imdsctl emulator serve` would be."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from imdsctl import catalog
from imdsctl.emulator import attested as emulated
from imdsctl.emulator import load_profile

pytestmark = pytest.mark.e2e

COMPUTE = load_profile("linux-2025").instance["compute"]
CHECKS = ["signature", "signer-name", "chain", "nonce", "timestamp", "vm"]


@pytest.fixture
def bundle(imds_emulator, tmp_path):
    """The emulator's CA certificates (root and intermediate), as --ca-file takes them."""
    path = tmp_path / "emulator-ca.pem"
    path.write_bytes(emulated.ca_bundle_pem(imds_emulator.service))
    return str(path)


def asked(imds_emulator):
    return [(r.path, {k: v[0] for k, v in parse_qs(r.query).items()}, r.status)
            for r in imds_emulator.requests]


def verdict(result):
    return {c["check"]: c["result"] for c in json.loads(result.stdout)["checks"]}


def test_show_is_the_profiles_vm(run, imds_emulator):
    result = run("attested", "--nonce", "4829175630", "-o", "json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["document"]["nonce"] == "4829175630"
    assert {k: shown["document"][k] for k in ("vmId", "subscriptionId", "sku")} == \
        {k: COMPUTE[k] for k in ("vmId", "subscriptionId", "sku")}
    assert shown["signer"]["dnsNames"] == ["westeurope.metadata.azure.com", "metadata.azure.com"]
    assert asked(imds_emulator) == [(catalog.ATTESTED_PATH, {
        "api-version": catalog.DEFAULT_API_VERSION, "nonce": "4829175630"}, 200)]


def test_show_default_nonce_is_the_services_timestamp(run, imds_emulator):
    assert re.fullmatch(r"\d{8}-\d{6}\n", run("attested", "-q", "document.nonce").stdout)


def test_show_by_api_version(run, imds_emulator):
    result = run("attested", "--api-version", "2018-10-01", "-q", "keys(document)", "-o", "tsv")
    assert result.stdout.split() == ["nonce", "plan", "timeStamp", "vmId"]


def test_an_api_version_without_attested_data_is_refused(run, imds_emulator):
    result = run("attested", "--api-version", "2018-04-02")
    assert result.exit_code == 4
    assert "2025-04-07" in result.stderr  # IMDS's newest-versions, passed on


def test_a_bad_nonce_never_reaches_imds(run, imds_emulator):
    assert run("attested", "--nonce", "x" * 33).exit_code == 2
    assert imds_emulator.requests == []


@pytest.mark.verify
def test_verify_against_the_emulators_ca(run, imds_emulator, bundle):
    result = run("attested", "verify", "--ca-file", bundle)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert verdict(result) == dict.fromkeys(CHECKS, "pass")
    (attested_path, query, _), (compute_path, _, _) = asked(imds_emulator)
    assert (attested_path, compute_path) == (catalog.ATTESTED_PATH, catalog.INSTANCE_PATH + "/compute")
    assert re.fullmatch(r"\d{10}", query["nonce"])


@pytest.mark.verify
def test_verify_with_a_nonce(run, imds_emulator, bundle):
    result = run("attested", "verify", "--ca-file", bundle, "--nonce", "abc123", "-q", "checks[3].reason")
    assert result.stdout == "the document echoes the nonce sent (abc123)\n"


@pytest.mark.verify
def test_verify_for_people(run, imds_emulator, bundle):
    result = run("attested", "verify", "--ca-file", bundle, "-o", "table")
    assert result.exit_code == 0
    rows = [line.split()[:2] for line in result.stdout.splitlines()[2:] if line[:1].strip()]
    assert rows == [[check, "pass"] for check in CHECKS]


@pytest.fixture
def root_only(imds_emulator, tmp_path):
    """The emulator's root alone: the intermediate has to come from the leaf's caIssuers URL."""
    root = tmp_path / "root.pem"
    root.write_bytes(emulated.ca_bundle_pem(imds_emulator.service).split(b"-----END CERTIFICATE-----\n")[0]
                     + b"-----END CERTIFICATE-----\n")
    return root


@pytest.mark.verify
def test_verify_without_the_intermediate_and_no_fetch(run, imds_emulator, root_only):
    result = run("attested", "verify", "--ca-file", str(root_only), "--no-fetch")
    assert result.exit_code == 7
    assert [c for c, r in verdict(result).items() if r == "fail"] == ["chain"]
    assert json.loads(result.stdout)["checks"][2]["reason"] == (
        f"the issuer CN=imdsctl emulator intermediate of CN=metadata.azure.com is not in {root_only}, "
        f"and --no-fetch forbids fetching it from {imds_emulator.url}{emulated.CA_ISSUERS_PATH}")


@pytest.mark.verify
def test_verify_fetches_the_intermediate_from_the_emulator(run, imds_emulator, root_only):
    """As on Azure: only the root is trusted; the leaf's caIssuers URL (the emulator) gives the rest."""
    result = run("attested", "verify", "--ca-file", str(root_only))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert verdict(result) == dict.fromkeys(CHECKS, "pass")
    assert json.loads(result.stdout)["checks"][2]["reason"].endswith(
        f"; fetched {imds_emulator.url}{emulated.CA_ISSUERS_PATH}")
    assert emulated.CA_ISSUERS_PATH not in [r.path for r in imds_emulator.requests]  # not IMDS: not logged


@pytest.mark.verify
def test_verify_against_another_ca(run, imds_emulator, tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes(emulated.Signer.generate(name="someone else").ca_pem)
    result = run("attested", "verify", "--ca-file", str(other))
    assert result.exit_code == 7
    assert [c for c, r in verdict(result).items() if r == "fail"] == ["chain"]


@pytest.mark.verify
def test_verify_with_the_system_roots_against_the_emulator_points_at_its_ca(run, imds_emulator, monkeypatch):
    from imdsctl.attested import verify as attested_verify

    monkeypatch.setattr(attested_verify, "system_trust", lambda: attested_verify.Trust([], [], "no roots"),
                        raising=False)
    result = run("attested", "verify", "--no-fetch")
    assert result.exit_code == 7
    assert "--ca-file" in result.stderr and "--attested-ca-out" in result.stderr


@pytest.mark.verify
def test_verify_an_expired_document(run, imds_emulator, bundle):
    emulated.configure(imds_emulator.service, validity=dt.timedelta(seconds=-1))
    result = run("attested", "verify", "--ca-file", bundle)
    assert result.exit_code == 7
    assert [c for c, r in verdict(result).items() if r == "fail"] == ["timestamp"]


@pytest.mark.verify
def test_verify_in_another_cloud(run, imds_emulator, bundle):
    result = run("attested", "verify", "--ca-file", bundle, "--cloud", "china")
    assert result.exit_code == 7
    assert [c for c, r in verdict(result).items() if r == "fail"] == ["signer-name"]


@pytest.mark.verify
def test_verify_a_document_signed_by_a_supplied_ca(run, imds_emulator, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = emulated._certificate("my test CA", key.public_key(), None, key, ca=True)
    emulated.configure(imds_emulator.service, ca_cert=cert.public_bytes(Encoding.PEM),
                       ca_key=key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    ca = tmp_path / "my-ca.pem"
    ca.write_bytes(cert.public_bytes(Encoding.PEM))
    result = run("attested", "verify", "--ca-file", str(ca), "-q", "checks[2].reason")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("CN=metadata.azure.com -> CN=my test CA (trusted, from ")


@pytest.mark.verify
def test_a_saved_document_verifies_later_elsewhere(run, imds_emulator, bundle, tmp_path):
    saved = tmp_path / "attested.json"
    saved.write_text(run("attested", "--nonce", "424242", "-o", "json").stdout)
    imds_emulator.clear_requests()
    result = run("attested", "verify", "--file", str(saved), "--ca-file", bundle, "--nonce", "424242")
    assert result.exit_code == 0, result.stdout
    assert verdict(result) == {**dict.fromkeys(CHECKS, "pass"), "vm": "skip"}
    assert imds_emulator.requests == []


@pytest.mark.verify
def test_verify_when_attested_data_is_missing(run, imds_emulator, bundle):
    imds_emulator.add_fault(f"404@{catalog.ATTESTED_PATH}")
    assert run("attested", "verify", "--ca-file", bundle).exit_code == 3


# -- the emulator's attested options ----------------------------------------------------------

EMULATE = [sys.executable, "-m", "imdsctl", "emulate"]


def _ca_files(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = emulated._certificate("my test CA", key.public_key(), None, key, ca=True)
    (tmp_path / "ca.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    (tmp_path / "ca.key").write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return str(tmp_path / "ca.pem"), str(tmp_path / "ca.key")


@pytest.mark.verify
def test_emulator_takes_a_ca_and_a_validity(imds_emulator_factory, run, tmp_path, monkeypatch):
    ca, key = _ca_files(tmp_path)
    imds = imds_emulator_factory(attested_ca=ca, attested_key=key, attested_validity=45)
    monkeypatch.setenv("IMDSCTL_ENDPOINT", imds.url)
    assert imds.attested_ca_pem == (tmp_path / "ca.pem").read_bytes()
    result = run("attested", "verify", "--ca-file", ca, "-q", "[checks[2].reason, document.timeStamp]")
    reason, stamp = json.loads(result.stdout)
    assert reason.startswith("CN=metadata.azure.com -> CN=my test CA")
    assert dt.datetime.strptime(stamp["expiresOn"], emulated.TIME_FORMAT) - \
        dt.datetime.strptime(stamp["createdOn"], emulated.TIME_FORMAT) == dt.timedelta(seconds=45)


@pytest.mark.verify
def test_emulate_writes_the_ca_bundle_for_verify(tmp_path):
    bundle = tmp_path / "emulator-ca.pem"
    verify = [sys.executable, "-m", "imdsctl", "attested", "verify", "--ca-file", str(bundle)]
    result = subprocess.run([*EMULATE, "--attested-ca-out", str(bundle), "--", *verify, "-q", "verified"],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "true\n", "")
    assert bundle.read_bytes().count(b"-----BEGIN CERTIFICATE-----") == 2


@pytest.mark.parametrize("which", ["--attested-ca", "--attested-key"])
def test_emulate_needs_both_the_ca_and_its_key(tmp_path, which):
    ca, key = _ca_files(tmp_path)
    result = subprocess.run([*EMULATE, which, ca if which == "--attested-ca" else key, "--", "true"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--attested-ca and --attested-key go together" in result.stderr
