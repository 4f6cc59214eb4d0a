"""Shared fixtures, and the guard that keeps every test off the real IMDS.

The guard (autouse, every test): IMDSCTL_ENDPOINT points at a closed loopback
port, so a command that forgets its mock or emulator fails fast instead of
reaching 169.254.169.254; and socket connects to any address outside
127.0.0.0/8 and ::1 fail the test before a packet leaves. Unit tests mock
httpx with pytest-httpx; end-to-end tests use the emulator on port 0.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import sys

import click
import httpx
import pytest
from click.testing import CliRunner

from imdsctl import fastpath
from imdsctl.cli import cli
from imdsctl.emulator.control import CLIENT_HEADERS
from imdsctl.imds import quick
from tests.lib.clock import FakeTime
from tests.lib.helpers import BASE, CLOSED_PORT

# A shell without job control starts a background command (`make test` runs the
# oldest-Python pass with `&`) with SIGINT ignored, and an ignored signal stays
# ignored across exec: the Ctrl-C tests' children would never see their SIGINT.
# Put back the default so that they behave as they do under a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _check_address(address: object) -> None:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return
    host = str(address[0])
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pytest.fail(f"test tried to connect to host name {host!r}; tests may only use loopback")
    if not ip.is_loopback:
        pytest.fail(f"test tried to connect to {host}: only 127.0.0.0/8 and ::1 are allowed "
                    "(never the real IMDS at 169.254.169.254)")


@pytest.fixture(autouse=True)
def no_real_imds(monkeypatch, tmp_path):
    """The guard: a closed default endpoint, and no connect outside loopback.
    Snapshots (--max-age) go to a directory of the test's own."""
    for name in list(os.environ):
        if name.startswith("IMDSCTL_") or name.lower() in (
                "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMDSCTL_ENDPOINT", f"http://127.0.0.1:{CLOSED_PORT}")
    monkeypatch.setenv("IMDSCTL_CACHE_DIR", str(tmp_path / "imdsctl-cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        _check_address(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _check_address(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    real_quick = quick._connect  # the quick path's raw _socket, which socket.socket does not cover

    def quick_connect(sock, address):
        _check_address(address)
        return real_quick(sock, address)

    monkeypatch.setattr(quick, "_connect", quick_connect)


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def entry_point(argv):
    """What the console script does: the fast path (fastpath.answer), else the CLI."""
    code, attempt = fastpath.respond(list(argv), os.environ)
    if code is None:
        code = cli.main(list(argv), prog_name="imdsctl", standalone_mode=False, obj=attempt)
    sys.exit(code)


class Run:
    """Invoke the CLI in-process the way a shell would: through the click group
    alone, or (``fast``) through the console script's fast path first."""

    def __init__(self, fast: bool = False, charset: str = "utf-8"):
        try:  # click < 8.2 (the newest on Python 3.9) mixes stderr into stdout unless asked
            self.runner = CliRunner(mix_stderr=False, charset=charset)
        except TypeError:
            self.runner = CliRunner(charset=charset)
        self.fast = fast

    def __call__(self, *args: str, input: str = None, env: dict = None):
        return self.runner.invoke(entry_point if self.fast else cli, list(args), input=input, env=env,
                                  catch_exceptions=False)


#: The suite's httpx mocks use pytest-httpx 0.35 (is_reusable, ...), which needs httpx 0.28. The
#: "lowest" pass (`make test-lowest`: setup.cfg's floors, constraints/lowest.txt) runs an older
#: httpx, whose pytest-httpx lacks them: there the tests that mock httpx are skipped, and what they
#: skip is what httpx itself does not change; the end-to-end tests run imdsctl's real httpx calls.
OLD_HTTPX_MOCK = tuple(int(p) for p in httpx.__version__.split(".")[:2]) < (0, 28)


def _verifies() -> bool:
    """Whether this cryptography verifies attested data (42: x509.verification); the floor is lower."""
    try:
        import cryptography.x509.verification  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    if not _verifies():
        import cryptography

        skip = pytest.mark.skip(reason=f"attested verify needs cryptography 42; this is "
                                       f"{cryptography.__version__} "
                                       "(verify says so at run time: tests/attested/test_document.py)")
        for item in items:
            if item.get_closest_marker("verify"):
                item.add_marker(skip)
    if OLD_HTTPX_MOCK:
        skip = pytest.mark.skip(reason=f"mocks httpx with pytest-httpx >= 0.35 (httpx >= 0.28); "
                                       f"this is the lowest pass, with httpx {httpx.__version__}")
        for item in items:
            if "httpx_mock" in getattr(item, "fixturenames", ()):
                item.add_marker(skip)


def pytest_generate_tests(metafunc):
    """Tests marked ``fast_path`` that read through the CLI against the emulator run
    twice: through the click group, and through the console script's fast path,
    which must print the same bytes and exit with the same code."""
    if metafunc.definition.get_closest_marker("fast_path") and "run" in metafunc.fixturenames and (
            {"imds_emulator", "emulator"} & set(metafunc.fixturenames)):
        metafunc.parametrize("run", ["cli", "fast"], indirect=True)


@pytest.fixture
def run(request):
    return Run(fast=getattr(request, "param", "cli") == "fast")


@pytest.fixture
def imds(httpx_mock, monkeypatch):
    """pytest-httpx's mock, with the CLI pointed at the (mocked) real IMDS address
    and a 2 s budget: httpx never sends a packet, and a request no test
    answered fails fast."""
    monkeypatch.setenv("IMDSCTL_ENDPOINT", BASE)
    monkeypatch.setenv("IMDSCTL_TIMEOUT", "2")
    from imdsctl.support import platform

    def no_wireserver(port, timeout):  # httpx's mock cannot answer doctor's raw socket to 168.63.129.16
        raise ConnectionRefusedError(111, "Connection refused (no WireServer off Azure)")

    monkeypatch.setattr(platform, "_ask_wireserver", no_wireserver)
    from imdsctl.support import doctor

    # doctor's raw TCP connect (which httpx's mock cannot see) is taken as made: the mock answers
    monkeypatch.setattr(doctor, "_open", lambda host, port, timeout: None)
    return httpx_mock


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def emulator(imds_emulator_factory):
    """An emulator with throttling off, for tests that send many requests."""
    return imds_emulator_factory(throttle=False)


@pytest.fixture
def emulator_http(emulator):
    """An httpx client on ``emulator`` that sends Metadata: true, as IMDS clients must."""
    with httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true", **CLIENT_HEADERS},
                      trust_env=False,
                      timeout=5) as client:
        yield client
