"""What ImdsClient sends must be sendable: endpoints with credentials or that no
request can reach are usage errors (exit 2) before any request, and so are query
values that are not text (non-UTF-8 bytes on the command line)."""

from __future__ import annotations

import os

import pytest

from imdsctl import fastpath
from imdsctl.errors import UsageError
from imdsctl.imds.client import ImdsClient
from tests.lib.helpers import BASE, ok

#: Plain reads: each runs through the click group and through the fast path.
pytestmark = pytest.mark.fast_path

SECRET = "S3cretPW"
CREDENTIALED = f"http://admin:{SECRET}@127.0.0.1:1"
XFF = b"\xff".decode("utf-8", "surrogateescape")  # what argv holds for the byte 0xff

MALFORMED = [
    "http://127.0.0.1:1/\x1b",
    "http://127.0.0.1:1/\x1b]0;title\x07",
    "http://xn--:1",
    "http://xn--abc:1",            # an A-label that is not punycode
    "http://" + "a" * 300 + ":1",  # a 300-character label
    "http://a..b:1",               # an empty label
    "http://-a-:1",
    "http://" + ".".join(["a" * 60] * 5) + ":1",  # over 253 characters
    "http://exämple:1",
    "http://a\tb:1",
    "http://127.0.0.1:1/a b",
    "http://127.0.0.1:1?x=1",
    "http://127.0.0.1:1#top",
    f"http://{XFF}:1",
    "http://127.0.0.1:1/\u202e",
]


@pytest.mark.parametrize("endpoint", [CREDENTIALED, "http://admin@127.0.0.1:1", "http://@127.0.0.1:1",
                                      f"https://u:{SECRET}@metadata.example:443"])
def test_an_endpoint_with_credentials_is_refused_without_showing_them(endpoint):
    with pytest.raises(UsageError) as caught:
        ImdsClient(endpoint)
    assert "credentials" in caught.value.message
    assert SECRET not in caught.value.message and "admin" not in caught.value.message


@pytest.mark.parametrize("command", [("compute", "vm-id"), ("doctor",), ("wait",), ("get",),
                                     ("collect", "-f", "{tmp}/b.zip"), ("events", "list"),
                                     ("compute", "vm-id", "--max-age", "60")], ids=" ".join)
def test_every_command_refuses_a_credentialed_endpoint(run, tmp_path, command):
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    result = ok(run(*args, "--endpoint", CREDENTIALED, "--debug", "--timeout", "1"), 2)
    assert SECRET not in result.stdout + result.stderr
    said = [line for line in result.stderr.splitlines() if not line.startswith("debug: ")]
    assert result.stdout == "" and len(said) == 2
    assert not (tmp_path / "b.zip").exists()


@pytest.mark.parametrize("endpoint", MALFORMED)
def test_a_malformed_endpoint_is_a_usage_error(run, endpoint):
    with pytest.raises(UsageError):
        ImdsClient(endpoint)
    result = ok(run("compute", "vm-id", "--endpoint", endpoint, "--timeout", "1"), 2)
    assert len(result.stderr.splitlines()) == 2
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


@pytest.mark.parametrize("endpoint", [BASE, "http://127.0.0.1:8169/",
                                      "HTTP://127.0.0.1:8169", "http://[::1]:8169", "http://localhost:1",
                                      "https://metadata.azure.com.:443", "http://imds_stub:80",
                                      "http://xn--bcher-kva.example:1", "http://127.0.0.1:8169/prefix"])
def test_endpoints_that_can_be_reached_are_accepted(endpoint):
    assert ImdsClient(endpoint).endpoint == endpoint.rstrip("/")


@pytest.mark.parametrize("args", [("identity", "token", "--resource", XFF),
                                  ("compute", "vm-id", "--api-version", XFF),
                                  ("get", "--api-version", XFF),
                                  ("compute", "vm-id", "--max-age", "60", "--api-version", XFF),
                                  ("network", "private-ip", "--api-version", XFF),
                                  ("attested", "--api-version", "2021-02-01" + XFF)], ids=repr)
def test_arguments_that_are_not_utf8_are_usage_errors_before_any_request(run, imds_emulator, args):
    result = ok(run(*args, "--endpoint", imds_emulator.url), 2)
    assert "not UTF-8" in result.stderr and result.stdout == ""
    assert imds_emulator.requests == []


def test_doctor_refuses_them_instead_of_reporting_a_finding(run, imds_emulator):
    result = ok(run("doctor", "--api-version", "2021-02-01" + XFF, "--endpoint", imds_emulator.url), 2)
    assert "not UTF-8" in result.stderr and result.stdout == ""


def test_a_body_that_is_not_utf8_is_not_sent(run, imds_emulator):
    result = ok(run("events", "ack", "--force", XFF, "--endpoint", imds_emulator.url), 2)
    assert "not UTF-8" in result.stderr
    assert imds_emulator.requests == []


def test_the_fast_path_does_not_stumble_on_such_arguments():
    argv = ["compute", "vm-id", "--max-age", "60", "--api-version", XFF]
    assert fastpath.answer(argv, os.environ) is None  # the CLI then refuses it
    assert fastpath.answer(["compute", "vm-id", "--max-age", "60", "--endpoint", f"http://{XFF}"],
                           os.environ) is None


@pytest.mark.parametrize("bad", ["ftp://127.0.0.1", "http://user:secret@127.0.0.1", "http://127.0.0.1/?x=1"])
def test_an_endpoint_is_checked_when_settings_are_built(bad):
    """#16.3: a bad endpoint is refused by Settings (and so by Session), before any client exists."""
    from imdsctl import Session
    from imdsctl.errors import UsageError
    from imdsctl.session import Settings

    with pytest.raises(UsageError) as refused:
        Settings(bad)
    assert "secret" not in str(refused.value)
    with pytest.raises(UsageError):
        Session(endpoint=bad, environ={})
    assert Settings("http://127.0.0.1:8169/").endpoint == "http://127.0.0.1:8169"


def test_checking_a_plain_endpoint_imports_no_httpx():
    import subprocess
    import sys

    code = ("import sys; from imdsctl.session import Settings; Settings('http://127.0.0.1:1'); "
            "print('httpx' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
