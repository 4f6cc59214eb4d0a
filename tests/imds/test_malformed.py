"""Answers that parse but are not IMDS's shape are exit 7 naming where, in every
format; collect records them and goes on. Selectors that select nothing are exit 3."""

from __future__ import annotations

import json
import tarfile

import pytest

from imdsctl.emulator import load_profile
from imdsctl.imds import answers
from tests.lib.helpers import BASE, ok

#: Plain reads: each runs through the click group and through the fast path.
pytestmark = pytest.mark.fast_path

V = "2025-04-07"
INSTANCE = f"{BASE}/metadata/instance?api-version={V}"
LINUX = load_profile("linux-2025").instance
FORMATS = ["json", "jsonc", "yaml", "table", "tsv", "text", "env", "none"]


def _answer(imds, text: str, url: str = INSTANCE):
    imds.add_response(url=url, content=text.encode("utf-8"), headers={"Content-Type": "application/json"})


def _with(path: str, raw: str) -> str:
    """The linux-2025 instance document with the JSON text ``raw`` at ``path``."""
    marker = "@@HOSTILE@@"
    document = json.loads(json.dumps(LINUX))
    node = document
    *parents, last = path.split("/")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = marker
    return json.dumps(document).replace(json.dumps(marker), raw)


HOSTILE = {
    "deep-100000": ("[" * 100_000 + "]" * 100_000, "nested deeper"),
    "deep-40": ('{"compute": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", "compute/a/a/a"),
    "lone-surrogate": (_with("compute/offer", '"x\\ud800y"'), "compute/offer"),
    "surrogate-key": ('{"compute": {"\\udfff": 1}}', "compute"),
    "nan": (_with("compute/platformFaultDomain", "NaN"), "compute/platformFaultDomain"),
    "infinity": (_with("compute/platformFaultDomain", "-Infinity"), "compute/platformFaultDomain"),
    "overflow": (_with("compute/platformFaultDomain", "1e999"), "compute/platformFaultDomain"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_json_imds_never_sends_is_exit_7_naming_where_in_every_format(run, imds, case, fmt):
    text, where = HOSTILE[case]
    _answer(imds, text)
    result = ok(run("get", "-o", fmt), 7)
    assert result.stdout == ""
    assert where in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2


@pytest.mark.parametrize("args,path,raw,where", [
    (("compute", "tags"), "compute/tagsList", '["x"]', "compute/tagsList/0 is a string"),
    (("compute", "tags"), "compute/tagsList", '{"name": "a"}', "compute/tagsList is an object"),
    (("compute", "tags"), "compute/tagsList", '[{"name": {"a": 1}, "value": "v"}]',
     "compute/tagsList/0/name"),
    (("network", "interfaces"), "network/interface/0/ipv4/ipAddress", '["10.0.0.4"]',
     "network/interface/0/ipv4/ipAddress/0 is a string"),
    (("network", "interfaces"), "network/interface/0/ipv4", '"x"', "network/interface/0/ipv4 is a string"),
    (("network", "subnet"), "network/interface/0/ipv4/subnet", '[1]', "ipv4/subnet/0 is a number"),
    (("network", "--mac", "00:0d:3a:00:00:00"), "network/interface", '["x"]', "network/interface/0"),
    (("network", "public-ip"), "network/interface/0/ipv4/ipAddress/0", '"10.0.0.4"',
     "ipAddress/0 is a string"),
    (("network", "public-ip"), "network/interface/0/ipv4/ipAddress/0/publicIpAddress", '["1.2.3.4"]',
     "publicIpAddress is a list"),
])
def test_a_view_that_takes_an_answer_apart_checks_its_shape(run, imds, args, path, raw, where):
    whole = _with(path, raw)
    imds.add_callback(lambda request: _route(request, whole), is_reusable=True)
    result = ok(run(*args, "--max-age", "60") if args[0] == "compute" else run(*args), 7)
    assert where in result.stderr and result.stdout == ""


def _route(request, whole: str):
    """The instance document, or the part of it a request names (format=text for a leaf)."""
    import httpx

    from imdsctl import catalog

    route = request.url.path[len("/metadata/instance"):].strip("/")
    node = catalog.walk(json.loads(whole), route)
    if request.url.params.get("format") == "text" and not isinstance(node, (dict, list)):
        return httpx.Response(200, text=str(node))
    return httpx.Response(200, json=node)


def test_legacy_tags_that_are_not_text_are_exit_7(run, imds):
    whole = _with("compute/tags", "[1, 2]")
    _answer(imds, whole, f"{BASE}/metadata/instance?api-version=2017-08-01")
    ok(run("get", "--api-version", "2017-08-01", "--max-age", "60"))  # takes the snapshot
    result = ok(run("compute", "tags", "--api-version", "2017-08-01", "--max-age", "60"), 7)
    assert "compute/tags is a list" in result.stderr


def test_a_snapshot_decode_of_a_number_is_exit_7(run, imds):
    _answer(imds, _with("compute/userData", "5"))
    ok(run("get", "--max-age", "60"))
    result = ok(run("compute", "user-data", "--decode", "--max-age", "60"), 7)
    assert "compute/userData is a number" in result.stderr


def test_collect_records_a_malformed_answer_and_goes_on(run, imds, tmp_path):
    def answer(request):
        import httpx

        if request.url.path == "/metadata/instance":
            return httpx.Response(200, content=_with("compute/offer", '"x\\ud800y"').encode(),
                                  headers={"Content-Type": "application/json"})
        if request.url.path == "/metadata/versions":
            return httpx.Response(200, json={"apiVersions": [V]})
        return httpx.Response(404, json={"error": "Not found"})

    imds.add_callback(answer, is_reusable=True)
    target = tmp_path / "b.tar.gz"
    ok(run("collect", "-f", str(target), "-o", "json"))
    with tarfile.open(target) as bundle:
        manifest = json.load(bundle.extractfile("b/manifest.json"))
    failure = next(f for f in manifest["failures"] if f["source"] == "instance")
    assert failure["exit_code"] == 7 and "compute/offer" in failure["error"]


def test_the_checker_accepts_every_profile_and_refuses_what_imds_never_sends():
    from imdsctl.emulator.profiles import list_profiles, load_profile

    for line in list_profiles():
        answers.check(load_profile(line.split("\t")[0]).instance)
    assert answers.loads(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    for text in ["NaN", '{"a": [Infinity]}', '"\\udc80"', "1e400", "[" * 33 + "]" * 33]:
        with pytest.raises(answers.Malformed):
            answers.loads(text)
    answers.loads("[" * 32 + "]" * 32)


# -- selectors: out of range is exit 3, for every field and for the whole view ---------------------


@pytest.mark.parametrize("args", [
    ("network", "subnet", "--ip", "99"), ("network", "prefix", "--ip", "99"),
    ("network", "private-ip", "--ip", "99"), ("network", "public-ip", "--ip", "99"),
    ("network", "ipv6", "--ip", "99"), ("network", "mac", "--ip", "99"),
    ("network", "--nic", "99"), ("network", "--ip", "99"), ("network", "interfaces", "--nic", "99"),
    ("network", "interfaces", "--ip", "99"), ("network", "mac", "--nic", "99"),
    ("network", "subnet", "--nic", "99"), ("network", "--mac", "00-0D-3A-1B-2C-3D", "--ip", "99"),
    ("network", "subnet", "--ip", "99", "--max-age", "60"), ("network", "--nic", "99", "--max-age", "60"),
])
def test_a_selector_that_selects_nothing_is_exit_3(run, imds_emulator, args):
    run("get", "--max-age", "60", "--endpoint", imds_emulator.url)  # a snapshot for the --max-age cases
    result = ok(run(*args, "--endpoint", imds_emulator.url), 3)
    assert result.stdout == "" and "99" in result.stderr


@pytest.mark.parametrize("args", [("network", "subnet"), ("network", "mac"), ("network",),
                                  ("network", "interfaces"), ("network", "--nic", "0", "--ip", "0"),
                                  ("network", "--mac", "00-0D-3A-1B-2C-3D")])
def test_selectors_in_range_still_answer(run, imds_emulator, args):
    assert ok(run(*args, "--endpoint", imds_emulator.url)).stdout
