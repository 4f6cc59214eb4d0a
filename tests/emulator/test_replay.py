"""Replaying a support bundle: `collect` from one emulator, `--profile bundle` on
another, and the second answers as the first did, redacted values aside."""

from __future__ import annotations

import email.utils
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from imdsctl import catalog
from imdsctl.cli.emulator import emulator as emulator_group
from imdsctl.emulator import ProfileError, load_profile, replay
from imdsctl.support.redact import MARKER
from tests.lib.helpers import ok

pytestmark = [pytest.mark.e2e, pytest.mark.fast_path]

V = catalog.DEFAULT_API_VERSION
SPOT = load_profile("spot-vmss")


def collected(run, monkeypatch, source, path: Path) -> Path:
    """``imdsctl collect -f path`` against the emulator ``source``; the bundle's path."""
    monkeypatch.setenv("IMDSCTL_ENDPOINT", source.url)
    ok(run("collect", "-f", str(path), "--timeout", "10", "-o", "none"))
    return path


def client(emulator) -> httpx.Client:
    return httpx.Client(verify=False, base_url=emulator.url, headers={"Metadata": "true"}, trust_env=False,
                        timeout=5)


def routes(node, parts=()):
    """Every route `get` can read in an instance document: containers and leaves."""
    yield parts, isinstance(node, str)
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        yield from routes(value, (*parts, str(key)))


def with_markers(document, routes):
    """``document`` with MARKER at each of ``routes`` that it has (older api-versions may lack some)."""
    for route in routes:
        node = document
        try:
            for part in route[:-1]:
                node = node[int(part) if isinstance(node, list) else part]
            key = int(route[-1]) if isinstance(node, list) else route[-1]
            node[key]  # noqa: B018 - present at this api-version?
        except (KeyError, IndexError):
            continue
        node[key] = MARKER
    return document


def answer(http, route, leaf, version):
    params = {"api-version": version, **({"format": "text"} if leaf else {})}
    response = http.get("/".join((catalog.INSTANCE_PATH, *route)), params=params)
    return response.status_code, response.content


@pytest.fixture
def spot(imds_emulator_factory):
    """A Spot VM about to be evicted: the support case a bundle is for."""
    return imds_emulator_factory(profile="spot-vmss", throttle=False, events=["Preempt@600"])


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_every_path_answers_as_collected_except_the_redacted(run, monkeypatch, tmp_path, spot,
                                                             imds_emulator_factory, fmt):
    bundle = collected(run, monkeypatch, spot, tmp_path / f"case-42.{fmt}")
    replayed = imds_emulator_factory(profile=str(bundle), throttle=False)
    assert replayed.profile.redacted == ("compute/osProfile/adminUsername", "compute/publicKeys/0/keyData",
                                         "compute/publicKeys/0/path")
    compared = redacted_seen = 0
    with client(spot) as original, client(replayed) as replay_http:
        for version in (V, "2021-02-01", "2017-04-02"):
            for route, leaf in routes(SPOT.instance):
                want, got = answer(original, route, leaf, version), answer(replay_http, route, leaf, version)
                below = [p.split("/")[len(route):] for p in replayed.profile.redacted
                         if p.split("/")[:len(route)] == list(route)]
                if below == [[]] and want[0] == 200:  # a redacted leaf: its placeholder
                    assert got == (200, MARKER.encode()) and want[1] != got[1], route
                    redacted_seen += 1
                elif below and want[0] == 200:  # a container holding some: the rest is the same
                    assert got[0] == 200
                    assert json.loads(got[1]) == with_markers(json.loads(want[1]), below), (version, route)
                else:
                    assert got == want, (version, route)
                compared += 1
        assert original.get("/metadata/versions").json() == replay_http.get("/metadata/versions").json()
        for path, version in ((catalog.LOADBALANCER_PATH, catalog.LOADBALANCER_API_VERSION),
                              (catalog.IDENTITY_INFO_PATH, catalog.IDENTITY_API_VERSION)):
            a, b = (h.get(path, params={"api-version": version}) for h in (original, replay_http))
            assert (a.status_code, a.content) == (b.status_code, b.content)  # 404, 400: as collected
        events = [h.get(catalog.SCHEDULED_EVENTS_PATH, params={"api-version": "2020-07-01"}).json()["Events"]
                  for h in (original, replay_http)]
    assert compared > 3 * 60 and redacted_seen == 2 * 3  # 2017-04-02 has no osProfile, no publicKeys
    (want_event,), (got_event,) = events
    assert {k: v for k, v in got_event.items() if k != "NotBefore"} == \
        {k: v for k, v in want_event.items() if k != "NotBefore"}
    skew = email.utils.parsedate_to_datetime(got_event["NotBefore"]) - \
        email.utils.parsedate_to_datetime(want_event["NotBefore"])
    assert 0 <= skew.total_seconds() <= 5  # the notice it had left, from when the bundle was written


def test_get_reads_the_same_document(run, monkeypatch, tmp_path, spot, imds_emulator_factory):
    bundle = collected(run, monkeypatch, spot, tmp_path / "case-42.tar.gz")
    original = json.loads(ok(run("get", "-o", "json")).stdout)
    monkeypatch.setenv("IMDSCTL_ENDPOINT", imds_emulator_factory(profile=str(bundle), throttle=False).url)
    replayed = json.loads(ok(run("get", "-o", "json")).stdout)
    original["compute"]["osProfile"]["adminUsername"] = MARKER
    original["compute"]["publicKeys"] = [{"keyData": MARKER, "path": MARKER}]
    assert replayed == original


def test_load_balancer_tenant_and_offered_versions_replay(run, monkeypatch, tmp_path, imds_emulator_factory):
    offered = list(catalog.INSTANCE_VERSIONS[:catalog.INSTANCE_VERSIONS.index("2021-02-01") + 1])
    document = {"instance": load_profile("linux-2025").instance, "apiVersions": offered,
                "loadbalancer": load_profile("linux-2025").loadbalancer,
                "identity": load_profile("linux-2025").identity}
    source = imds_emulator_factory(profile=document, throttle=False)
    bundle = collected(run, monkeypatch, source, tmp_path / "old-imds.zip")
    replayed = imds_emulator_factory(profile=str(bundle), throttle=False)
    assert replayed.profile.versions == tuple(offered)
    with client(replayed) as http:
        assert http.get("/metadata/versions").json() == {"apiVersions": offered}
        refused = http.get(catalog.INSTANCE_PATH, params={"api-version": V})
        assert (refused.status_code, refused.json()["newest-versions"]) == \
            (400, ["2021-02-01", "2021-01-01", "2020-12-01"])
        balancer = http.get(catalog.LOADBALANCER_PATH, params={"api-version": "2020-10-01"})
        assert balancer.json() == {"loadbalancer": document["loadbalancer"]}
        assert http.get(catalog.INSTANCE_PATH + "/compute/vmId",
                        params={"api-version": "2021-02-01", "format": "text"}).text == \
            document["instance"]["compute"]["vmId"]
        info = http.get(catalog.IDENTITY_INFO_PATH, params={"api-version": "2018-02-01"})
        assert info.json() == {"tenantId": document["identity"]["tenantId"]}
        token = http.get(catalog.IDENTITY_TOKEN_PATH, params={"api-version": "2018-02-01",
                                                               "resource": "https://management.azure.com/"})
        assert token.json()["error_description"] == "Identity not found"  # never collected
    # imdsctl's own fall-back works on the replay as it did on that VM
    monkeypatch.setenv("IMDSCTL_ENDPOINT", replayed.url)
    assert ok(run("compute", "vm-id")).stdout == document["instance"]["compute"]["vmId"] + "\n"
    assert replayed.requests[-1].query.startswith("api-version=2021-02-01&")


def test_emulate_names_the_redacted_values_in_one_line(run, monkeypatch, tmp_path, spot):
    bundle = collected(run, monkeypatch, spot, tmp_path / "case-42.tar.gz")
    done = subprocess.run([sys.executable, "-m", "imdsctl", "emulate", "--profile", str(bundle), "--",
                           sys.executable, "-m", "imdsctl", "compute", "priority"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "Spot\n")
    assert done.stderr == (f"imdsctl: {bundle}: redacted when collected, served as <redacted>: "
                           "compute/osProfile/adminUsername, compute/publicKeys/0/keyData, "
                           "compute/publicKeys/0/path\n")


def test_an_unredacted_bundle_says_nothing(run, monkeypatch, tmp_path, spot, imds_emulator_factory):
    monkeypatch.setenv("IMDSCTL_ENDPOINT", spot.url)
    ok(run("collect", "-f", str(tmp_path / "raw.tar.gz"), "--no-redact", "-o", "none"))
    profile = load_profile(str(tmp_path / "raw.tar.gz"))
    assert profile.redacted == () and replay.describe(profile) is None
    assert profile.instance == SPOT.instance


def _tar(path: Path, files: dict) -> Path:
    with tarfile.open(path, "w:gz") as packed:
        for name, data in files.items():
            info = tarfile.TarInfo(f"case/{name}")
            info.size = len(data)
            packed.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(("files", "message"), [
    ({"manifest.json": b"{}"}, "the bundle holds no instance.json: IMDS did not answer"),
    ({"instance.json": b"{"}, "instance.json: not valid JSON"),
    ({"instance.json": b'{"compute": {"vmId": 7}}'}, "instance/compute/vmId: expected a JSON string"),
    ({"instance.json": b'{"compute": {"name": "\\ud800"}}'},
     r"lone surrogate\) at compute/name"),
    ({"instance.json": b"{}", "versions.json": b'{"apiVersions": ["latest"]}'}, "apiVersions/0"),
    ({"instance.json": b"{}", "scheduled-events.json":
      b'{"Events": [{"EventType": "Explode", "EventStatus": "Scheduled"}]}'}, "unknown event type"),
])
def test_bundles_that_cannot_be_served_are_refused(tmp_path, files, message):
    with pytest.raises(ProfileError, match=message):
        load_profile(str(_tar(tmp_path / "case.tar.gz", files)))


def test_a_broken_archive_is_a_usage_error(tmp_path):
    broken = tmp_path / "case.tar.gz"
    broken.write_bytes(b"\x1f\x8b" + b"not gzip at all")
    result = CliRunner().invoke(emulator_group, ["serve", "--profile", str(broken)])
    assert result.exit_code == 2
    assert "case.tar.gz: not a readable archive" in result.output
