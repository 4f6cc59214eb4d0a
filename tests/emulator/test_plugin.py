"""The pytest plugin: the imds_emulator and imds_emulator_factory fixtures."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys

import pytest

from imdsctl.emulator.control import CLIENT_HEADERS

pytest_plugins = ["pytester"]


def status(emulator, target="/metadata/versions"):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    connection.request("GET", target, headers={"Metadata": "true"})
    return connection.getresponse().status


def test_imds_emulator_fixture(imds_emulator):
    assert imds_emulator.profile.name == "linux-2025"
    assert os.environ["IMDSCTL_ENDPOINT"] == imds_emulator.url
    assert os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == imds_emulator.url
    assert [status(imds_emulator) for _ in range(6)] == [200] * 5 + [429]  # throttled like IMDS
    connection = http.client.HTTPConnection("127.0.0.1", imds_emulator.port, timeout=5)
    connection.request("GET", "/_emulator/requests", headers=CLIENT_HEADERS)
    assert connection.getresponse().status == 200  # control channel on


@pytest.mark.imds_emulator(profile="spot-vmss", throttle=False, faults=["410"])
def test_imds_emulator_marker(imds_emulator):
    assert imds_emulator.profile.name == "spot-vmss"
    assert [status(imds_emulator) for _ in range(7)] == [410] + [200] * 6


def test_imds_emulator_factory(imds_emulator_factory):
    first = imds_emulator_factory(profile="linux-2017")
    second = imds_emulator_factory(profile="windows-sql-2017", control=True)
    assert first.port != second.port
    assert (first.profile.name, second.profile.name) == ("linux-2017", "windows-sql-2017")


def test_fixtures_in_a_user_test_suite(pytester):
    pytester.makepyfile(test_user="""
        import http.client, os

        def test_env(imds_emulator):
            assert os.environ["IMDSCTL_ENDPOINT"] == imds_emulator.url
            open("port", "w").write(str(imds_emulator.port))

        def test_factory(imds_emulator_factory):
            emulator = imds_emulator_factory(throttle=False, faults=["503"])
            connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
            connection.request("GET", "/metadata/versions", headers={"Metadata": "true"})
            assert connection.getresponse().status == 503
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    port = int((pytester.path / "port").read_text())
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()  # stopped at teardown


def test_loading_the_plugin_is_cheap():
    code = ("import sys, imdsctl.emulator.pytest_plugin; print(sorted(m for m in sys.modules "
            "if m.startswith(('imdsctl', 'http.server', 'click', 'httpx'))))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "['imdsctl', 'imdsctl.emulator', 'imdsctl.emulator.pytest_plugin']"
