"""The Python API reads IMDSCTL_ENDPOINT, IMDSCTL_TIMEOUT and IMDSCTL_API_VERSION as the command
line does (issue 19.4): an argument wins, ``environ=`` injects, ``{}`` ignores the environment."""

import pytest

from imdsctl import catalog, instance
from imdsctl.errors import UsageError
from imdsctl.imds.client import ImdsClient
from imdsctl.session import DEFAULT, ENVIRONMENT, Session, Settings


def test_a_library_call_inside_imds_emulator_reaches_the_emulator(imds_emulator):
    with Session() as imds:  # no endpoint given: IMDSCTL_ENDPOINT, set by the fixture
        vm_id = instance.compute(imds, "vm-id").data
    assert vm_id == imds_emulator.profile.instance["compute"]["vmId"]
    with ImdsClient() as client:
        assert client.endpoint == imds_emulator.url
        assert client.leaf("compute/vmId") == vm_id


def test_the_environment_gives_every_setting_and_says_so():
    settings = Settings.from_environ({"IMDSCTL_ENDPOINT": "http://127.0.0.1:9", "IMDSCTL_TIMEOUT": "4s",
                                      "IMDSCTL_API_VERSION": "2021-02-01"})
    assert (settings.endpoint, settings.timeout, settings.api_version) == ("http://127.0.0.1:9", 4.0,
                                                                           "2021-02-01")
    assert (settings.endpoint_from, settings.api_version_from) == (ENVIRONMENT, ENVIRONMENT)


def test_an_argument_wins_and_an_empty_environ_ignores_the_environment(monkeypatch):
    monkeypatch.setenv("IMDSCTL_TIMEOUT", "7")
    monkeypatch.setenv("IMDSCTL_API_VERSION", "2020-09-01")
    session = Session(endpoint="http://127.0.0.1:8", timeout=3)
    assert (session.settings.endpoint, session.settings.timeout) == ("http://127.0.0.1:8", 3)
    assert session.settings.api_version == "2020-09-01"
    bare = Session(environ={})
    assert (bare.settings.endpoint, bare.settings.timeout, bare.settings.api_version) == (
        catalog.DEFAULT_ENDPOINT, catalog.DEFAULT_TIMEOUT, None)
    assert bare.settings.endpoint_from == DEFAULT
    with ImdsClient(environ={}) as client:
        assert (client.endpoint, client.timeout) == (catalog.DEFAULT_ENDPOINT, catalog.DEFAULT_TIMEOUT)
    with ImdsClient(timeout=2, environ={"IMDSCTL_TIMEOUT": "9", "IMDSCTL_ENDPOINT": "http://127.0.0.1:7",
                                         "IMDSCTL_API_VERSION": "2019-06-01"}) as client:
        assert (client.endpoint, client.timeout, client.api_version) == ("http://127.0.0.1:7", 2.0,
                                                                          "2019-06-01")


@pytest.mark.parametrize("name, value", [("IMDSCTL_TIMEOUT", "soon"), ("IMDSCTL_TIMEOUT", "0"),
                                         ("IMDSCTL_API_VERSION", "yesterday")])
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(UsageError, match=name):
        Session(environ={name: value})
    with pytest.raises(UsageError, match=name):
        ImdsClient(environ={name: value})
