"""The caIssuers download of `attested verify` (#18.6): only after the signature and the
signer's name pass, no redirect followed, the whole download within --timeout. Every
server here is a loopback one the test starts, and each ends within a bounded time."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import threading
import time

import pytest

from imdsctl.attested.der import parse_envelope
from imdsctl.emulator.attested import Signer, build_document
from tests.lib.attested import COMPUTE, V, pem_file

pytestmark = pytest.mark.verify


class Server:
    """A raw HTTP server on 127.0.0.1: records each request line, answers with ``answer(sock)``."""

    def __init__(self, answer):
        self.requests = []
        self._answer = answer
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    head = conn.recv(65536)
                    self.requests.append(head.split(b"\r\n", 1)[0].decode())
                    self._answer(conn, self._stop)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._sock.close()


@pytest.fixture
def servers():
    made = []

    def make(answer):
        made.append(Server(answer))
        return made[-1]

    yield make
    for server in made:
        server.close()


def _saved(tmp_path, signer: Signer, aia_url: str, tamper: bool = False) -> str:
    document = build_document(COMPUTE, V, "1234567890", dt.datetime.now(dt.timezone.utc))
    der = bytearray(signer.sign(json.dumps(document).encode(), "westeurope", aia_url=aia_url))
    if tamper:  # one bit of the signature itself flipped
        signature = parse_envelope(bytes(der)).signature
        der[bytes(der).find(signature) + len(signature) // 2] ^= 0x01
    path = tmp_path / "attested.json"
    path.write_text(json.dumps({"encoding": "pkcs7", "signature": base64.b64encode(bytes(der)).decode()}))
    return str(path)


def _verify(run, tmp_path, signer: Signer, url: str, *extra: str, tamper: bool = False):
    saved = _saved(tmp_path, signer, url, tamper)
    root = pem_file(tmp_path, signer, parts=("root",), name="root.pem")  # the intermediate must be fetched
    result = run("attested", "verify", "--file", saved, "--ca-file", root, "-o", "json", *extra)
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]} if result.stdout else {}
    return result, checks


def _intermediate(signer: Signer) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return signer.issuer.public_bytes(Encoding.DER)


def _serving(body: bytes):
    def answer(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    return answer


@pytest.fixture(scope="module")
def signer():
    return Signer.generate()


def test_a_genuine_document_downloads_its_intermediate(run, tmp_path, servers, signer):
    """The control: the same servers and document, untampered, fetch and pass."""
    issuer = servers(_serving(_intermediate(signer)))
    result, checks = _verify(run, tmp_path, signer, f"{issuer.url}/ca.crt")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert checks["chain"]["result"] == "pass" and issuer.requests == ["GET /ca.crt HTTP/1.1"]


def test_a_tampered_signature_downloads_nothing(run, tmp_path, servers, signer):
    issuer = servers(_serving(_intermediate(signer)))
    result, checks = _verify(run, tmp_path, signer, f"{issuer.url}/ca.crt", tamper=True)
    assert result.exit_code == 7
    assert checks["signature"]["result"] == "fail"
    assert checks["chain"]["result"] == "fail" and "not downloaded" in checks["chain"]["reason"]
    assert issuer.requests == []


def test_a_signer_outside_the_clouds_domain_downloads_nothing(run, tmp_path, servers):
    stranger = Signer.generate(domain="metadata.example.net", name="stranger")
    issuer = servers(_serving(_intermediate(stranger)))
    result, checks = _verify(run, tmp_path, stranger, f"{issuer.url}/ca.crt")
    assert result.exit_code == 7
    assert checks["signature"]["result"] == "pass" and checks["signer-name"]["result"] == "fail"
    assert "not downloaded" in checks["chain"]["reason"]
    assert issuer.requests == []


def test_a_redirect_to_another_host_is_not_followed(run, tmp_path, servers, signer):
    elsewhere = servers(_serving(_intermediate(signer)))
    location = f"{elsewhere.url}/metadata/identity/oauth2/token"

    def redirect(conn, stop):
        conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())

    issuer = servers(redirect)
    result, checks = _verify(run, tmp_path, signer, f"{issuer.url}/ca.crt")
    assert result.exit_code == 7
    assert issuer.requests == ["GET /ca.crt HTTP/1.1"]
    assert elsewhere.requests == []
    reason = checks["chain"]["reason"]
    assert "302" in reason and "redirect" in reason and location in reason and "not followed" in reason


def test_a_trickling_ca_issuers_server_ends_with_the_timeout(run, tmp_path, servers, signer):
    """A byte every 2 s never trips a read timeout; --timeout 3 bounds the whole download
    (the server gives up by itself after 40 s, so that a failure here is bounded too)."""
    def trickle(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not stop.wait(2):
            conn.sendall(b"x")

    issuer = servers(trickle)
    started = time.monotonic()
    result, checks = _verify(run, tmp_path, signer, f"{issuer.url}/ca.crt", "--timeout", "3")
    elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed
    assert result.exit_code == 7, result.stderr
    assert checks["chain"]["result"] == "fail" and "within 3s" in checks["chain"]["reason"]


def test_a_redirect_on_the_same_host_is_not_followed_either(run, tmp_path, servers, signer):
    """None at all: a CA serves its certificate at the URL it publishes, and a rule that
    follows "same host" redirects would still let the document's server pick the path."""
    def answer(conn, stop):  # every request: a 301 to another path here
        conn.sendall(b"HTTP/1.1 301 Moved Permanently\r\nLocation: /moved.crt\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")

    issuer = servers(answer)
    result, checks = _verify(run, tmp_path, signer, f"{issuer.url}/ca.crt")
    assert result.exit_code == 7
    assert issuer.requests == ["GET /ca.crt HTTP/1.1"]
    assert "301" in checks["chain"]["reason"] and "not followed" in checks["chain"]["reason"]
