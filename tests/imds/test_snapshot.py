"""--max-age: the per-boot snapshot, its safety rules, races, and the fast path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from imdsctl import catalog, fastpath
from imdsctl.emulator import load_profile
from imdsctl.imds.snapshot import Cache
from tests.lib.helpers import ok

#: Plain reads: each runs through the click group and through the fast path.
pytestmark = pytest.mark.fast_path

DOC = load_profile("linux-2025").instance
V = catalog.DEFAULT_API_VERSION
IMDSCTL = shutil.which("imdsctl", path=os.path.dirname(sys.executable)) or shutil.which("imdsctl")


@pytest.fixture
def cache(tmp_path):
    return Cache("http://127.0.0.1:1", V, str(tmp_path / "c"))



# -- the snapshot file ---------------------------------------------------------------


def test_round_trip_is_private(cache):
    assert cache.load(60) is None
    assert cache.store(DOC)
    assert cache.load(60) == DOC
    assert oct(os.stat(cache.directory).st_mode & 0o777) == "0o700"
    assert oct(os.stat(cache.path).st_mode & 0o777) == "0o600"
    assert [n for n in os.listdir(cache.directory) if n.endswith(".tmp")] == []


def test_too_old_or_from_the_future_is_ignored(cache, monkeypatch):
    cache.store(DOC)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert cache.load(60) is None and "max-age 60s" in cache.why_not
    monkeypatch.setattr(time, "time", lambda: now - 30)
    assert cache.load(60) is None


def test_other_endpoint_or_version_is_a_miss(cache):
    cache.store(DOC)
    assert Cache("http://127.0.0.1:2", V, cache.directory).load(60) is None
    assert Cache("http://127.0.0.1:1", "2021-01-01", cache.directory).load(60) is None


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"savedAt": "x"}', b"\xff" * 10,
                                     b'{"savedAt": 1, "endpoint": "x"}'])
def test_corrupt_snapshot_is_never_trusted(cache, content):
    cache.store(DOC)
    with open(cache.path, "wb") as f:
        f.write(content)
    assert cache.load(60) is None


def test_snapshot_readable_by_others_is_ignored(cache):
    cache.store(DOC)
    os.chmod(cache.path, 0o644)
    assert cache.load(60) is None and "not a private file" in cache.why_not


def test_symlinked_snapshot_is_ignored(cache, tmp_path):
    cache.store(DOC)
    real = tmp_path / "elsewhere.json"
    os.replace(cache.path, real)
    os.symlink(real, cache.path)
    assert cache.load(60) is None


def test_shared_directory_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    cache = Cache("http://127.0.0.1:1", V, str(shared))
    assert not cache.store(DOC) and "not a private directory" in cache.why_not


def _load_within(cache, seconds: float = 2.0):
    """cache.load(60) in a thread: (finished, document). A load that blocks (on main,
    opening a FIFO did) is released by opening the FIFO's other end, so the test fails
    instead of hanging."""
    found = []
    reader = threading.Thread(target=lambda: found.append(cache.load(60)), daemon=True)
    reader.start()
    reader.join(seconds)
    if reader.is_alive():
        os.close(os.open(cache.path, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(seconds)
        return False, None
    return True, found[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_in_place_of_the_snapshot_never_blocks(cache):
    cache.store(DOC)
    os.unlink(cache.path)
    os.mkfifo(cache.path, 0o600)
    assert _load_within(cache) == (True, None)
    assert "not a private file" in cache.why_not


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_never_blocks_the_fast_path(cache, monkeypatch):
    monkeypatch.setenv("IMDSCTL_CACHE_DIR", cache.directory)
    cache.store(DOC)
    os.unlink(cache.path)
    os.mkfifo(cache.path, 0o600)
    answered = []
    argv = ["compute", "vm-id", "--max-age", "60", "--endpoint", cache.endpoint]
    reader = threading.Thread(target=lambda: answered.append(fastpath.answer(argv, os.environ)),
                              daemon=True)
    reader.start()
    reader.join(2)
    if reader.is_alive():
        os.close(os.open(cache.path, os.O_WRONLY | os.O_NONBLOCK))
    assert answered == [None]  # left to the CLI, which asks IMDS


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root for mknod")
def test_a_device_in_place_of_the_snapshot_is_ignored(cache):
    cache.store(DOC)
    os.unlink(cache.path)
    os.mknod(cache.path, 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 5))  # /dev/zero
    assert _load_within(cache) == (True, None)


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701, 0o777])
def test_a_snapshot_in_a_directory_others_can_enter_is_ignored(cache, mode):
    cache.store(DOC)
    os.chmod(cache.directory, mode)
    assert cache.load(60) is None and "not a private directory" in cache.why_not
    os.chmod(cache.directory, 0o700)
    assert cache.load(60) == DOC


def test_a_symlinked_directory_is_ignored(cache, tmp_path):
    cache.store(DOC)
    link = tmp_path / "link"
    os.symlink(cache.directory, link)
    assert Cache(cache.endpoint, V, str(link)).load(60) is None


def test_a_snapshot_too_big_is_not_read(cache):
    cache.store(DOC)
    with open(cache.path, "r+b") as f:
        f.truncate(1 << 30)  # sparse: a gigabyte that costs nothing
    assert cache.load(60) is None and "too big" in cache.why_not


def test_a_hard_linked_snapshot_is_ignored(cache, tmp_path):
    cache.store(DOC)
    os.link(cache.path, tmp_path / "second-name")
    assert cache.load(60) is None


@pytest.mark.parametrize("document", ['{"a": ' * 5000 + "1" + "}" * 5000, '{"compute": {"x": NaN}}'])
def test_a_snapshot_imds_could_not_have_sent_is_ignored(cache, document):
    cache.store(DOC)
    with open(cache.path, "w") as f:
        f.write(f'{{"savedAt": {time.time()}, "endpoint": "{cache.endpoint}", "apiVersion": "{V}", '
                f'"document": {document}}}')
    assert cache.load(60) is None and "corrupt" in cache.why_not


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_snapshot_owned_by_someone_else_is_ignored(cache):
    cache.store(DOC)
    os.chown(cache.path, 12345, 12345)
    assert cache.load(60) is None


def test_racing_writers_and_readers_never_see_a_torn_snapshot(cache):
    """Bounded: 4 writers x 150 stores of two different documents, 4 readers."""
    other = json.loads(json.dumps(DOC))
    other["compute"]["name"] = "x" * 5000
    cache.store(DOC)
    bad, stop = [], threading.Event()

    def write(doc):
        mine = Cache(cache.endpoint, V, cache.directory)
        for _ in range(150):
            mine.store(doc)

    def read():
        mine = Cache(cache.endpoint, V, cache.directory)
        while not stop.is_set():
            seen = mine.load(60)
            if seen not in (DOC, other):
                bad.append(mine.why_not)

    readers = [threading.Thread(target=read) for _ in range(4)]
    writers = [threading.Thread(target=write, args=(d,)) for d in (DOC, other, DOC, other)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=60)
    stop.set()
    for t in readers:
        t.join(timeout=10)
    assert bad == []
    assert [n for n in os.listdir(cache.directory) if n.endswith(".tmp")] == []


# -- through the CLI ----------------------------------------------------------------------


def test_max_age_answers_from_the_snapshot(run, imds_emulator):
    assert ok(run("compute", "vm-id", "--max-age", "60")).stdout == DOC["compute"]["vmId"] + "\n"
    assert [r.path for r in imds_emulator.requests] == ["/metadata/instance"]
    assert ok(run("compute", "location", "--max-age", "60")).stdout == DOC["compute"]["location"] + "\n"
    assert ok(run("network", "mac", "--max-age", "60")).stdout == "000D3A1B2C3D\n"
    assert len(imds_emulator.requests) == 1
    ok(run("compute", "vm-id"))  # no --max-age: always IMDS
    assert len(imds_emulator.requests) == 2


def test_max_age_from_the_environment_and_expiry(run, imds_emulator, monkeypatch):
    monkeypatch.setenv("IMDSCTL_MAX_AGE", "60")
    ok(run("get", "compute/vmId"))
    ok(run("get", "compute/zone"))
    assert len(imds_emulator.requests) == 1
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    ok(run("get", "compute/vmId"))
    assert len(imds_emulator.requests) == 2


def test_errors_from_the_snapshot_match_imds(run, imds_emulator):
    ok(run("get", "--max-age", "60"))
    result = ok(run("compute", "user-data", "--max-age", "60", "--api-version", V), 0)
    assert result.stdout == DOC["compute"]["userData"] + "\n"
    assert ok(run("get", "compute/nothing", "--max-age", "60"), 3).stderr.startswith(
        "imdsctl: IMDS has no compute/nothing")


# -- the fast path --------------------------------------------------------------------------

PARITY = [
    ["compute", "vm-id"], ["compute", "tags"], ["compute", "tags", "-o", "json"], ["compute"],
    ["get"], ["get", "compute/vmId", "compute/location", "-o", "tsv"], ["get", "-o", "env", "compute/zone"],
    ["get", "compute/storageProfile/osDisk/name"], ["network", "private-ip"], ["network", "subnet"],
    ["network", "interfaces", "-o", "yaml"], ["network", "--nic", "0", "prefix"], ["compute", "-o", "text"],
    ["get", "--prefix", "VM_", "-o", "env", "compute/vmId", "compute/name"], ["network", "public-ip"],
]


@pytest.mark.parametrize("argv", PARITY, ids=" ".join)
def test_fast_path_prints_what_the_cli_prints(run, imds_emulator, capsys, argv):
    argv = [*argv, "--max-age", "60"]
    slow = ok(run(*argv)).stdout  # a miss: the CLI fetches and saves the snapshot
    assert fastpath.answer(argv, os.environ) == 0
    assert capsys.readouterr().out == slow
    assert len(imds_emulator.requests) == 1


@pytest.mark.parametrize("argv", [
    ["compute", "vm-id", "--max-age", "60", "--debug"],     # options it does not know
    ["compute", "--help", "--max-age", "60"],
    ["compute", "nothing", "--max-age", "60"],              # errors are the CLI's to explain
    ["get", "compute/nothing", "--max-age", "60"],
    ["compute", "vm-id", "--max-age", "60", "--api-version", "latest"],
    ["compute", "vm-id", "--max-age", "60", "--timeout", "-1"],
    ["compute", "vm-id", "--max-age", "60", "-o", "xml"],
    ["network", "mac", "--max-age", "60", "--nic", "x"],
    ["versions", "--max-age", "60"],
    ["compute", "vm-id", "--max-age", "60", "--mac", "zz"],  # options the command does not have
    ["get", "compute/vmId", "--max-age", "60", "--nic", "1"],
    ["compute", "vm-id", "--max-age", "60", "-o=json"],       # click reads "=json" as the value
])
def test_fast_path_leaves_the_rest_to_the_cli(run, imds_emulator, capsys, argv):
    ok(run("get", "--max-age", "60"))
    assert fastpath.answer(argv, os.environ) is None
    assert capsys.readouterr().out == ""


def test_a_cache_hit_imports_neither_click_nor_httpx_nor_openssl(imds_emulator):
    env = dict(os.environ)
    subprocess.run([IMDSCTL, "get", "--max-age", "60", "-o", "none"], env=env, check=True, timeout=60)
    code = ("import os, sys\n"
            "from imdsctl.fastpath import answer\n"
            "assert answer(['compute', 'vm-id', '--max-age', '60'], os.environ) == 0\n"
            "sys.stderr.write(' '.join(name for name, module in sys.modules.items() if module))\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout == DOC["compute"]["vmId"] + "\n"
    loaded = set(result.stderr.split())
    assert "imdsctl.imds.snapshot" in loaded
    assert not loaded & {"click", "httpx", "httpcore", "rich", "jmespath", "yaml", "_hashlib", "_ssl"}
    assert len(imds_emulator.requests) == 1


def test_processes_racing_on_a_cold_cache_all_answer(imds_emulator):
    """8 processes start together with no snapshot: each answers right, one file remains."""
    env = dict(os.environ)
    procs = [subprocess.Popen([IMDSCTL, "compute", "vm-id", "--max-age", "60"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert {out for out, _ in outputs} == {(DOC["compute"]["vmId"] + "\n").encode()}
    names = os.listdir(env["IMDSCTL_CACHE_DIR"])
    assert len(names) == 1 and names[0].startswith("instance-")
