"""The zipapp (tools/build_pyz.py, `make dist`): built once per session from this venv's
site-packages, it answers every command line as the installed CLI does, byte for byte, in a bare
interpreter (`python3 -I -S`: no site-packages at all); it builds the same bytes twice; its plain
read imports neither click nor httpx; what needs cryptography says what to install."""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imdsctl import __version__
from tests.lib.dist import build_pyz

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = str(Path(sys.executable).with_name("imdsctl"))
BARE = getattr(sys, "_base_executable", sys.executable)  # the venv's own interpreter, not the venv

#: The end-to-end command lines, each run both ways against one emulator (read-only ones, and
#: failures that change nothing): every command, formats, --query, errors with their exit codes.
LINES = [
    ["compute", "vm-id"], ["compute", "vm-id", "name", "-o", "json"], ["compute", "-o", "table"],
    ["compute", "--all", "-o", "yaml"], ["compute", "tags", "-o", "tsv"], ["compute", "nothing"],
    ["compute", "vmId", "--allow-missing", "-o", "json"],
    ["get"], ["get", "compute/vmId", "-o", "env"], ["get", "compute", "-q", "name"],
    ["get", "compute/nothing"], ["get", "-q", "compute.[", "-o", "json"], ["get", "compute.vmId"],
    ["network"], ["network", "-o", "table"], ["network", "private-ip", "--nic", "0"],
    ["loadbalancer"], ["versions"], ["versions", "-o", "text"], ["wait", "--timeout", "5"],
    ["events", "list"], ["events", "list", "-o", "table"], ["events", "ack", "no-such-event"],
    ["identity", "info"], ["identity", "token", "--resource", "bogus resource"],
    ["attested", "show", "-o", "json", "-q", "keys(@)"], ["doctor", "-o", "json", "-q", "[].check"],
    ["completion", "bash"], ["completion", "fish"], ["diff"], ["bogus"], ["compute", "--bogus"],
    ["emulator", "profiles"], ["--timeout", "bogus", "compute"], ["get", "--api-version", "2017-04-02",
                                                                 "compute/vmId"],
]
#: What needs cryptography, compared with the venv's interpreter (-I: its site-packages, not PYTHON*).
CRYPTO_LINES = [["attested", "verify", "-o", "json", "-q", "checks[?check=='signature'].result"]]


def _run(argv, env):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          cwd=str(ROOT / "tests"))


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One bytecode cache for the parity tests: later ones load the archive from it."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture
def env(imds_emulator, shared_cache):
    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "PYTHONPATH": "/nonexistent",
               "XDG_CACHE_HOME": str(shared_cache)}
    environ.pop("IMDSCTL_PYZ_DEBUG", None)
    return environ


def _same(line, installed, pyz_argv, env):
    want, got = _run([installed, *line], env), _run([*pyz_argv, *line], env)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr), line


@pytest.mark.parametrize("line", LINES, ids=" ".join)
def test_the_pyz_answers_as_the_installed_cli_in_a_bare_interpreter(pyz, env, line):
    _same(line, INSTALLED, [BARE, "-I", "-S", str(pyz)], env)


@pytest.mark.parametrize("line", CRYPTO_LINES, ids=" ".join)
def test_the_pyz_uses_the_pythons_own_cryptography(pyz, env, line):
    _same(line, INSTALLED, [sys.executable, "-I", str(pyz)], env)


def test_without_cryptography_verify_names_the_package_to_install(pyz, env):
    result = _run([BARE, "-I", "-S", str(pyz), "attested", "verify"], env)
    assert result.returncode == 2
    assert "needs the 'cryptography' package" in result.stderr
    assert "python3-cryptography" in result.stderr and "pip install 'cryptography>=42'" in result.stderr


def test_version_says_it_is_the_pyz(pyz):
    for flag in ("--version", "-V"):
        result = _run([BARE, "-I", "-S", str(pyz), flag], dict(os.environ))
        assert result.stdout == f"imdsctl {__version__} (zipapp {pyz})\n", result.stderr
    assert _run([INSTALLED, "-V"], dict(os.environ)).stdout == f"imdsctl {__version__}\n"


def test_the_plain_read_imports_neither_click_nor_httpx_from_the_archive(pyz, env):
    code = ("import runpy, sys\nsys.argv = [sys.argv[0], 'compute', 'vm-id']\n"
            "import imdsctl.fastpath as f\nf._exit = lambda code: print(code, sorted({m.split('.')[0] "
            "for m in sys.modules} & {'click', 'httpx', 'rich', 'yaml'}), file=sys.stderr)\nf.main()\n")
    result = _run([BARE, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(pyz)!r})\n{code}"], env)
    assert result.stdout.strip() and result.stderr == "0 []\n", result.stderr


def test_two_builds_from_one_commit_give_the_same_bytes_and_its_checksum(pyz, tmp_path):
    again = build_pyz(tmp_path)
    assert again.read_bytes() == pyz.read_bytes()
    checksum = again.with_name(again.name + ".sha256").read_text()
    assert checksum == f"{hashlib.sha256(again.read_bytes()).hexdigest()}  {again.name}\n"
    check = subprocess.run(["sha256sum", "-c", again.name + ".sha256"], cwd=str(tmp_path),
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    import zipfile

    with zipfile.ZipFile(pyz) as archive:
        names = archive.namelist()
        assert names == sorted(names) and not [n for n in names if n.endswith((".pyc", ".so"))]
        assert {"click/__init__.py", "httpx/__init__.py", "yaml/__init__.py", "imdsctl/fastpath.py",
                "imdsctl/emulator/profiles/linux-2025.json"} <= set(names)
        assert not [n for n in names if n.startswith("cryptography/")]


def test_a_venv_without_pip_runs_the_pyz(pyz, env, tmp_path):
    subprocess.run([BARE, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True, timeout=120)
    result = _run([str(tmp_path / "venv" / "bin" / "python"), "-I", str(pyz), "compute", "name"], env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "web-01\n", "")


# The private bytecode cache (imdsctl/pyzcache.py, installed by the archive's __main__): a second
# run loads the archive's modules from code compiled by the first, and a cache another user could
# write is never read.

def _debugged(pyz, env, cache, python=BARE, line=("compute", "name"), *flags):
    environ = {**env, "XDG_CACHE_HOME": str(cache), "IMDSCTL_PYZ_DEBUG": "1"}
    return _run([python, "-I", *flags, str(pyz), *line], environ)


def _cached_files(cache):
    return sorted(p for p in cache.rglob("*") if p.is_file())


def test_a_second_run_takes_the_archives_modules_from_a_private_cache(pyz, env, tmp_path):
    cache = tmp_path / "xdg"
    first = _debugged(pyz, env, cache)
    assert (first.returncode, first.stdout) == (0, "web-01\n"), first.stderr
    assert "imdsctl.fastpath compiled and cached" in first.stderr
    assert "from the cache" not in first.stderr
    (directory,) = (cache / "imdsctl").iterdir()
    assert directory.name.startswith("pyz-")
    for folder in (cache / "imdsctl", directory):
        assert (folder.stat().st_mode & 0o777, folder.stat().st_uid) == (0o700, os.geteuid())
    files = _cached_files(cache)
    assert directory / "imdsctl.fastpath.pyc" in files
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
    second = _debugged(pyz, env, cache, BARE, ("compute", "name"), "-X", "importtime")
    assert (second.returncode, second.stdout) == (0, "web-01\n"), second.stderr
    assert "imdsctl.fastpath from the cache" in second.stderr
    assert "compiled and cached" not in second.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in second.stderr.splitlines()
                if line.startswith("import time:")}
    assert "imdsctl" in imported and not imported & {"click", "httpx", "rich", "yaml"}


def test_a_damaged_cached_module_is_compiled_again(pyz, env, tmp_path):
    cache = tmp_path / "xdg"
    assert _debugged(pyz, env, cache).returncode == 0
    (cached,) = [f for f in _cached_files(cache) if f.name == "imdsctl.fastpath.pyc"]
    cached.write_bytes(b"not a code object")
    again = _debugged(pyz, env, cache)
    assert (again.returncode, again.stdout) == (0, "web-01\n"), again.stderr
    assert "imdsctl.fastpath compiled and cached" in again.stderr
    assert cached.read_bytes().startswith(importlib.util.MAGIC_NUMBER)


def _loose(cache):
    (cache / "imdsctl").mkdir(parents=True)
    (cache / "imdsctl").chmod(0o777)


def _foreign(cache):
    if os.geteuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    (cache / "imdsctl").mkdir(parents=True, mode=0o700)
    os.chown(cache / "imdsctl", 65534, 65534)


def _foreign_base(cache):  # root with another user's HOME: its ~/.cache is not taken over
    if os.geteuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    cache.mkdir(mode=0o700)
    os.chown(cache, 65534, 65534)


def _linked(cache):
    (cache.parent / "elsewhere").mkdir(mode=0o700)
    cache.mkdir()
    (cache / "imdsctl").symlink_to(cache.parent / "elsewhere")


def _open_base(cache):
    cache.mkdir()
    cache.chmod(0o777)


@pytest.mark.parametrize("spoil", [_loose, _foreign, _foreign_base, _linked, _open_base],
                         ids=lambda f: f.__name__[1:])
def test_a_cache_another_user_could_write_is_refused_and_left_alone(pyz, env, tmp_path, spoil):
    cache = tmp_path / "xdg"
    spoil(cache)
    result = _debugged(pyz, env, cache)
    assert (result.returncode, result.stdout) == (0, "web-01\n"), result.stderr
    assert "imdsctl pyz cache: not used:" in result.stderr
    assert "cached" not in result.stderr and "from the cache" not in result.stderr
    assert _cached_files(tmp_path) == [] and not [p for p in tmp_path.rglob("pyz-*")]


def test_a_cached_module_another_user_could_have_written_is_not_loaded(pyz, env, tmp_path):
    cache = tmp_path / "xdg"
    assert _debugged(pyz, env, cache).returncode == 0
    (cached,) = [f for f in _cached_files(cache) if f.name == "imdsctl.fastpath.pyc"]
    cached.chmod(0o666)
    result = _debugged(pyz, env, cache)
    assert (result.returncode, result.stdout) == (0, "web-01\n"), result.stderr
    assert "imdsctl.fastpath.pyc is not a private file of this user: not used" in result.stderr
    assert "imdsctl.fastpath from the cache" not in result.stderr


@pytest.mark.parametrize("where", [{"XDG_CACHE_HOME": "/proc"}, {"XDG_CACHE_HOME": "", "HOME": ""},
                                   {"XDG_CACHE_HOME": "relative", "HOME": "/proc/self"}],
                         ids=["unwritable", "no-home", "relative"])
def test_with_no_usable_cache_the_pyz_still_answers(pyz, env, tmp_path, where):
    environ = {**env, "IMDSCTL_PYZ_DEBUG": "1", **where}
    for name in [k for k, v in where.items() if not v]:
        environ.pop(name)
    result = _run([BARE, "-I", str(pyz), "compute", "name"], environ)
    assert (result.returncode, result.stdout) == (0, "web-01\n"), result.stderr
    assert "imdsctl pyz cache: not used:" in result.stderr


def _python39():
    for candidate in ("/work/main/.venv39/bin/python", shutil.which("python3.9") or ""):
        check = [candidate, "-I", "-c", "import sys; assert sys.version_info[:2] == (3, 9)"]
        if candidate and subprocess.run(check, capture_output=True, timeout=60).returncode == 0:
            return candidate
    pytest.skip("no Python 3.9 here")


def test_each_interpreter_gets_its_own_cache_and_3_9_uses_it(pyz, env, tmp_path):
    python39, cache = _python39(), tmp_path / "xdg"
    for python in (BARE, python39, python39):
        result = _debugged(pyz, env, cache, python, ("compute", "name"), "-S")
        assert (result.returncode, result.stdout) == (0, "web-01\n"), result.stderr
    assert "imdsctl.fastpath from the cache" in result.stderr
    keys = 1 if sys.version_info[:2] == (3, 9) else 2  # the key holds the magic number
    assert len(list((cache / "imdsctl").iterdir())) == keys


def test_the_cache_takes_only_the_archives_modules(pyz, tmp_path):
    """Frozen, built-in and stdlib modules keep their own finders; the archive's get the cache."""
    code = (f"import sys; sys.path.insert(0, {str(pyz)!r})\nfrom imdsctl import pyzcache\n"
            f"assert pyzcache.install({str(pyz)!r}, 'f' * 64)\n"
            "import __hello__, json, imdsctl.errors as e\n"
            "print(__hello__.__spec__.origin, type(json.__loader__).__name__, type(e.__loader__).__name__)\n")
    result = _run([BARE, "-I", "-c", code], {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    last = result.stdout.splitlines()[-1:]  # (3.9's __hello__ prints a greeting when imported)
    assert last == ["frozen SourceFileLoader CachedZipImporter"], result.stdout + result.stderr


COUNT_COMPILES = """
import builtins, sys
compiled = []
def counting(source, filename, *args, **kwargs):
    compiled.append(filename)
    return real(source, filename, *args, **kwargs)
real, builtins.compile = builtins.compile, counting
sys.path.insert(0, {pyz!r})
from imdsctl import pyzcache
pyzcache.install({pyz!r}, 'f' * 64)
del compiled[:]
import imdsctl.errors, imdsctl.catalog
print(len([name for name in compiled if name.startswith({pyz!r})]))
"""


@pytest.mark.parametrize("cache", ["/proc", "fresh"], ids=["no-cache", "cache"])
def test_each_module_is_compiled_at_most_once_and_then_not_at_all(pyz, tmp_path, cache):
    """zipimport alone compiles a module twice (to name its file, then to run it)."""
    environ = {**os.environ, "XDG_CACHE_HOME": cache if cache == "/proc" else str(tmp_path / "xdg")}
    counts = [_run([BARE, "-I", "-c", COUNT_COMPILES.format(pyz=str(pyz))], environ) for _ in range(2)]
    assert [c.stdout for c in counts] == (["2\n", "2\n"] if cache == "/proc" else ["2\n", "0\n"]), counts


RUN_COUNTING_COMPILES = """
import builtins, os, runpy, sys
real = builtins.compile
def counting(source, filename, *args, **kwargs):
    os.write(2, ("compiled " + str(filename) + "\\n").encode())
    return real(source, filename, *args, **kwargs)
builtins.compile = counting
sys.argv = [sys.argv[1], "compute", "name"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_warm_run_compiles_only_the_cache_itself_and_once(pyz, env, tmp_path):
    environ = {**env, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    runs = [_run([BARE, "-I", "-c", RUN_COUNTING_COMPILES, str(pyz)], environ) for _ in range(2)]
    assert [r.stdout for r in runs] == ["web-01\n", "web-01\n"], runs[1].stderr
    compiled = [line.split(" ", 1)[1] for line in runs[1].stderr.splitlines() if line.startswith("compiled ")]
    ours = [name for name in compiled if name.startswith(str(pyz)) and not name.endswith("__main__.py")]
    assert ours == [str(pyz / "imdsctl" / "pyzcache.py")]


def test_a_platform_without_dir_fd_runs_without_a_cache(monkeypatch, tmp_path):
    from imdsctl import pyzcache

    monkeypatch.setattr(os, "supports_dir_fd", set())
    monkeypatch.setattr(sys, "path_hooks", list(sys.path_hooks))
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))
    assert pyzcache.install(str(tmp_path / "x.pyz"), "f" * 64, {"XDG_CACHE_HOME": str(tmp_path)}) is False
    assert list(tmp_path.iterdir()) == []
    assert isinstance(sys.path_hooks[0], pyzcache.ArchiveHook) and sys.path_hooks[0].cache == -1
