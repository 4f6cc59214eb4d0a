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

    @pytest.mark.imds_emulator(link_local=True, profile="spot-vmss")
    def test_at_the_real_address(imds_emulator):   # a LinkLocalEmulator
        done = imds_emulator.run(["./boot.sh"])      # in a namespace where IMDS is 169.254.169.254
        assert done.returncode == 0, done.stderr

``link_local=True`` serves at http://169.254.169.254 in a private network
namespace (imdsctl.emulator.linklocal.serve); the test runs its commands there
with ``run()``, and is skipped, with the reason, where the system gives no
namespace.  The emulator is imported inside the fixtures: loading this
plugin costs nothing for test suites that do not use it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "imds_emulator(**kwargs): Emulator keyword arguments for the imds_emulator fixture "
                   "(link_local=True: at 169.254.169.254 in a private network namespace)")


@pytest.fixture
def imds_emulator_factory() -> Iterator[Callable[..., Any]]:
    """Start emulators: ``imds_emulator_factory(**Emulator kwargs)`` returns a
    started Emulator (``link_local=True``: a LinkLocalEmulator, or the test is
    skipped saying why there is no namespace); every one is stopped at teardown."""
    from imdsctl.emulator import Emulator

    started: List[Any] = []

    def start(link_local: bool = False, **kwargs: Any) -> Any:
        if link_local:
            imds = _link_local(**kwargs)
        else:
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


def _link_local(**kwargs: Any) -> Any:
    from imdsctl.emulator.linklocal.netns import NamespaceError, unavailable
    from imdsctl.emulator.linklocal.serve import LinkLocalEmulator

    reason = unavailable()
    if reason is None:
        try:
            return LinkLocalEmulator(**kwargs).start()
        except NamespaceError as exc:
            reason = str(exc)
    pytest.skip(f"no private network namespace for a link-local emulator: {reason}")
