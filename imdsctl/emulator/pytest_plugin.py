"""pytest fixtures for testing code against the IMDS emulator.

Installed with imdsctl (entry point ``pytest11: imdsctl``), so any test suite
can use them::

    def test_reads_vm_id(imds_emulator):          # IMDSCTL_ENDPOINT points at it
        assert my_tool.vm_id() == "02aab8a4-74ef-476e-8182-f6d2ba4166a6"

    @pytest.mark.imds_emulator(profile="spot-vmss", faults=["410*2"])
    def test_survives_host_update(imds_emulator):
        ...
        assert [r.status for r in imds_emulator.requests] == [410, 410, 200]

    def test_two_vms(imds_emulator_factory):
        a = imds_emulator_factory(profile="linux-2017")
        b = imds_emulator_factory(profile="windows-sql-2017", throttle=False)

The emulator is imported inside the fixtures: loading this plugin costs
nothing for test suites that do not use it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "imds_emulator(**kwargs): Emulator keyword arguments for the imds_emulator fixture")


@pytest.fixture
def imds_emulator_factory() -> Iterator[Callable[..., Any]]:
    """Start emulators: ``imds_emulator_factory(**Emulator kwargs)`` returns a
    started Emulator; every one is stopped at teardown."""
    from imdsctl.emulator import Emulator

    started: List[Any] = []

    def start(**kwargs: Any) -> Any:
        imds = Emulator(**kwargs).start()
        started.append(imds)
        return imds

    yield start
    for imds in reversed(started):
        imds.stop()


@pytest.fixture
def imds_emulator(request: pytest.FixtureRequest, imds_emulator_factory: Callable[..., Any],
                  monkeypatch: pytest.MonkeyPatch) -> Any:
    """A started Emulator: default profile, rate limit on like the real service,
    control channel on; options from ``@pytest.mark.imds_emulator(...)``.
    IMDSCTL_ENDPOINT and AZURE_POD_IDENTITY_AUTHORITY_HOST point at it."""
    marker = request.node.get_closest_marker("imds_emulator")
    imds = imds_emulator_factory(**{"control": True, **(marker.kwargs if marker else {})})
    for name, value in imds.environment.items():
        monkeypatch.setenv(name, value)
    return imds
