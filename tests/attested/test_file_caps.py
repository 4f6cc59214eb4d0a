"""Every file imdsctl reads has a size cap and a usage error past it: /dev/zero
and a large sparse file end in exit 2 at once, never a MemoryError or an
unbounded read (the cap read is at most a few MiB)."""

from __future__ import annotations

import os

import pytest

from imdsctl.emulator.attested import configure
from imdsctl.errors import UsageError
from tests.lib.helpers import ok


@pytest.fixture(params=["dev-zero", "sparse"])
def huge(request, tmp_path):
    if request.param == "dev-zero":
        return "/dev/zero"
    path = tmp_path / "sparse.pem"
    with open(path, "wb") as f:
        f.truncate(8 << 30)  # 8 GiB, no block written
    return str(path)


@pytest.mark.parametrize("argv", [
    pytest.param(("attested", "verify", "--no-fetch", "--ca-file", "{huge}"), marks=pytest.mark.verify),
    pytest.param(("attested", "verify", "--no-fetch", "--file", "{huge}"), marks=pytest.mark.verify),
    ("diff", "{huge}", "{huge}"),
])
def test_a_file_past_its_cap_is_a_usage_error(run, huge, argv):
    result = run(*(a.replace("{huge}", huge) for a in argv))
    ok(result, 2)
    assert "over" in result.stderr and "MiB" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_the_emulators_attested_ca_file_is_capped(huge):
    class Service:
        signing = None

    with pytest.raises(UsageError, match="over .* MiB"):
        configure(Service(), ca_cert=huge, ca_key=huge)


def test_an_emulator_profile_past_its_cap_is_refused(run, huge):
    result = run("emulator", "serve", "--port", "0", "--profile", huge)
    assert result.exit_code == 2 and "MiB" in result.stderr, result.stderr
    assert os.path.exists(huge)
