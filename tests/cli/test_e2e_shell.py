"""imdsctl as a shell runs it: the installed command, real pipes, a real terminal.

These start the `imdsctl` console script as a process against an emulator on
an ephemeral loopback port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from imdsctl.emulator import load_profile
from tests.lib.process import IMDSCTL, on_a_terminal

pytestmark = pytest.mark.e2e

VMID = load_profile("linux-2025").instance["compute"]["vmId"]


@pytest.fixture
def env(imds_emulator):
    return dict(os.environ)


def sh(args, env, **kwargs):
    return subprocess.run([IMDSCTL, *args], env=env, capture_output=True, text=True, timeout=60,
                          **kwargs)


def test_piped_value_is_bare(env):
    result = sh(["compute", "vm-id"], env)
    assert (result.returncode, result.stdout, result.stderr) == (0, VMID + "\n", "")


def test_piped_container_is_json_without_escape_codes(env):
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm-256color"
    result = sh(["get"], env)
    assert json.loads(result.stdout)["compute"]["vmId"] == VMID
    table = sh(["get", "-o", "table"], env).stdout
    assert "compute.vmId" in table and "\x1b" not in table


def test_terminal_gets_a_table(env):
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm-256color"
    code, screen = on_a_terminal(["compute", "-q", "{name: name, size: vmSize}"], env)
    assert code == 0
    assert "name" in screen and "web-01" in screen and "\x1b[" in screen


def test_terminal_with_no_color_has_no_escape_codes(env):
    env["NO_COLOR"] = "1"
    code, screen = on_a_terminal(["network", "interfaces"], env)
    assert code == 0 and "macAddress" in screen and "\x1b" not in screen


def test_terminal_value_is_still_bare(env):
    code, screen = on_a_terminal(["compute", "vm-id"], env)
    assert (code, screen) == (0, VMID + "\r\n")  # the terminal turns \n into \r\n


def test_closed_pipe_exits_quietly(env):
    proc = subprocess.Popen([IMDSCTL, "get", "-o", "text"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head -0`: the reader is gone before imdsctl writes
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert stderr == b""


def test_error_goes_to_stderr_only(env):
    result = sh(["get", "compute/nothing"], env)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr.startswith("imdsctl: IMDS has no compute/nothing")


def test_emulate_runs_a_boot_script_and_returns_its_code(tmp_path):
    script = tmp_path / "boot.sh"
    script.write_text('vm=$(imdsctl compute vm-id) || exit 9\n'
                      'test "$vm" = "$EXPECTED" || exit 8\n'
                      'case "$IMDSCTL_ENDPOINT" in http://127.0.0.1:*) ;; *) exit 7 ;; esac\n'
                      'exit 3\n')
    env = dict(os.environ, EXPECTED=VMID, PATH=os.path.dirname(IMDSCTL) + os.pathsep + os.environ["PATH"])
    result = subprocess.run([IMDSCTL, "emulate", "--", "sh", str(script)], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr


HOSTILE = {
    "name": "it's \"quoted\" $(touch PWNED) `touch PWNED` $HOME",
    "location": "line one\nIMDS_COMPUTE_VMID=injected\n",
    "vmId": "';touch PWNED;'",
}


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_env_output_is_safe_to_eval_with_hostile_values(shell, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    profile = load_profile("linux-2025").instance
    profile["compute"].update(HOSTILE)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(profile))
    script = ('eval "$(imdsctl get -o env compute/name compute/location compute/vmId)"\n'
              'printf "%s\\0" "$IMDS_COMPUTE_NAME" "$IMDS_COMPUTE_LOCATION" "$IMDS_COMPUTE_VMID"\n')
    env = dict(os.environ, PATH=os.path.dirname(IMDSCTL) + os.pathsep + os.environ["PATH"])
    result = subprocess.run([IMDSCTL, "emulate", "--profile", str(path), "--", shell, "-c", script],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\0")[:3] == [HOSTILE["name"], HOSTILE["location"], HOSTILE["vmId"]]
    assert not (tmp_path / "PWNED").exists()


def test_a_leaf_query_imports_only_what_it_uses(env):
    """Startup cost: no rich, PyYAML, jmespath, cryptography, anyio or httpx's own CLI for a bare value."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write(' '.join(\n"
            "    name for name, module in sys.modules.items() if module is not None)))\n"
            "from imdsctl.cli import main\n"
            "sys.argv = ['imdsctl', 'compute', 'vm-id']\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout == VMID + "\n"
    loaded = set(result.stderr.split())
    assert {"httpx", "click"} <= loaded
    assert not loaded & {"rich", "yaml", "jmespath", "anyio", "pygments", "httpx._main", "cryptography"}
    assert not any(name.startswith("cryptography.") for name in loaded)


def test_a_trickling_answer_cannot_outlast_the_budget(env):
    """A server that sends one byte every 0.2 s: --timeout 1 ends it after about a second."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n")
                for _ in range(100):
                    if stop.wait(0.2):
                        break
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    env["IMDSCTL_ENDPOINT"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
    started = time.monotonic()
    try:
        result = sh(["compute", "vm-id", "--timeout", "1"], env)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert time.monotonic() - started < 4
    # It began to answer and never finished: kept failing (5), not unreachable (6).
    assert result.returncode == 5 and "timed out with the answer unfinished" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["compute", "--help"], ["emulator", "profiles"],
                                  ["get", "-o", "text"]])
def test_a_closed_pipe_exits_0_for_every_command(env, args):
    proc = subprocess.Popen([IMDSCTL, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert (proc.wait(timeout=60), stderr) == (0, b"")
