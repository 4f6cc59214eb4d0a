"""What stands between a read and IMDS, built for real: each situation in a network
namespace the test makes (lo only, checked from inside before the first packet), the
machine's facts from a fixture tree named by IMDSCTL_SYSROOT; an ordinary read
(`compute vm-id`) must exit with the documented code and a hint naming the cause,
on the quick path and through the full client alike."""

from __future__ import annotations

import pytest

from imdsctl.imds import mediation
from tests.lib.helpers import ok
from tests.lib.mediated import (
    AZURE_TAG,
    DROP,
    DROP_NOT_ROOT,
    PROHIBIT,
    clean_env,
    imdsctl,
    in_netns,
    sysroot,
)

READ = ("compute", "vm-id", "--timeout", "3")
PATHS = {"quick": READ, "full": READ + ("--debug",)}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_prohibit_route_is_locked_by_systemd_imds(tmp_path, path):
    root = sysroot(tmp_path, vendor="Microsoft Corporation", asset_tag=AZURE_TAG)
    code, out, err = in_netns(PROHIBIT, imdsctl(*PATHS[path]), clean_env(IMDSCTL_SYSROOT=str(root)))
    assert (code, out) == (6, ""), err
    assert "locked by systemd-imds" in err and "--via systemd-imds" in err


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_silent_drop_in_a_pod_is_the_pod_restriction(tmp_path, path):
    root = sysroot(tmp_path, vendor="Microsoft Corporation", asset_tag=AZURE_TAG, pod=True,
                   cgroup="0::/kubepods/burstable/pod1234\n")
    env = clean_env(IMDSCTL_SYSROOT=str(root), KUBERNETES_SERVICE_HOST="10.0.0.1")
    code, out, err = in_netns(DROP, imdsctl(*PATHS[path]), env)
    assert (code, out) == (6, ""), err
    assert "IMDS restricted for pods (AKS --enable-imds-restriction) or a network policy" in err


def test_a_drop_for_non_root_names_the_uid(tmp_path):
    root = sysroot(tmp_path, vendor="Microsoft Corporation", asset_tag=AZURE_TAG)
    from tests.lib.mediated import nobody_can_run_imdsctl_or_skip

    nobody_can_run_imdsctl_or_skip()
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *imdsctl(*READ)]
    code, out, err = in_netns(DROP_NOT_ROOT, argv, clean_env(IMDSCTL_SYSROOT=str(root), HOME="/tmp"))
    assert (code, out) == (6, ""), err
    assert "uid 65534" in err and "only root" in err


@pytest.mark.parametrize("path", sorted(PATHS))
def test_off_azure_the_hint_says_what_dmi_says(tmp_path, path):
    root = sysroot(tmp_path, vendor="QEMU", product="Standard PC (Q35 + ICH9, 2009)")
    code, out, err = in_netns(DROP, imdsctl(*PATHS[path]), clean_env(IMDSCTL_SYSROOT=str(root)))
    assert (code, out) == (6, ""), err
    assert "this machine does not look like an Azure VM: DMI sys_vendor is QEMU" in err


def test_dmi_is_never_a_gate(run, imds_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("IMDSCTL_SYSROOT", str(sysroot(tmp_path, vendor="QEMU")))
    assert ok(run("compute", "vm-id")).stdout.strip() == "02aab8a4-74ef-476e-8182-f6d2ba4166a6"


# -- the facts, from a fixture tree ----------------------------------------------------------------


def test_dmi_tells_azure_and_its_generation(tmp_path):
    gen2 = mediation.dmi(str(sysroot(tmp_path / "a", vendor="Microsoft Corporation", asset_tag=AZURE_TAG,
                                     efi=True)))
    assert (gen2.azure, gen2.generation) == (True, 2)
    gen1 = mediation.dmi(str(sysroot(tmp_path / "b", vendor="Microsoft Corporation", asset_tag=AZURE_TAG)))
    assert (gen1.azure, gen1.generation) == (True, 1)
    hyperv = mediation.dmi(str(sysroot(tmp_path / "c", vendor="Microsoft Corporation", asset_tag="")))
    assert hyperv.azure is True  # sys_vendor alone, as systemd's hwdb reads it
    qemu = mediation.dmi(str(sysroot(tmp_path / "d", vendor="QEMU")))
    assert (qemu.azure, qemu.vendor) == (False, "QEMU")
    assert mediation.dmi(str(sysroot(tmp_path / "e"))).azure is None


@pytest.mark.parametrize("build, environ, kind, host", [
    ({}, {}, "none", None),
    ({"dockerenv": True}, {}, "docker", None),
    ({"cgroup": "0::/system.slice/docker-abc.scope\n"}, {}, "docker", None),
    ({"pod": True}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "kubernetes", False),
    ({"pod": True, "interfaces": ("lo", "eth0", "azure0", "azv1234")}, {}, "kubernetes", True),
    ({"cgroup": "0::/kubepods/pod1\n"}, {}, "kubernetes", False),
])
def test_container_facts(tmp_path, build, environ, kind, host):
    found = mediation.container(str(sysroot(tmp_path, **build)), environ)
    assert (found.kind, found.host_network) == (kind, host)


def test_the_locked_route_is_seen_in_proc_net_route(tmp_path):
    assert mediation.locked_route(str(sysroot(tmp_path / "a", locked=True)))
    assert not mediation.locked_route(str(sysroot(tmp_path / "b")))


@pytest.mark.parametrize("status, headers, body, cause", [
    (403, {"connection": "close"}, b"", "gpa-refused"),
    (421, {"connection": "close"}, b"", "gpa-no-claims"),
    (403, {}, b'{"error": "Forbidden"}', ""),
    (403, {"content-type": "text/plain"}, b"no AzureAssignedIdentity found for pod:default/app in assigned "
                                          b"state\n", "nmi"),
    (400, {}, b"metadata header is not specified\n", "nmi"),
])
def test_refusals_that_imds_did_not_answer(status, headers, body, cause):
    assert mediation.refusal(status, headers, body) == cause
