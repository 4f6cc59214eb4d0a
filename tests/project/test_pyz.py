"""The zipapp (tools/build_pyz.py, `make dist`): built once per session from this venv's
site-packages, it answers every command line as the installed CLI does, byte for byte, in a bare
interpreter (`python3 -I -S`: no site-packages at all); it builds the same bytes twice; its plain
read imports neither click nor httpx; what needs cryptography says what to install."""

import hashlib
import os
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


@pytest.fixture
def env(imds_emulator):
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "PYTHONPATH": "/nonexistent"}


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
