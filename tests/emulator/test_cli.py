"""`imdsctl emulator serve|profiles` and `imdsctl emulate`."""

from __future__ import annotations

import http.client
import os
import re
import selectors
import signal
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from imdsctl.cli.emulator import emulate, emulator
from imdsctl.emulator.control import CLIENT_HEADERS

SERVE = [sys.executable, "-m", "imdsctl", "emulator", "serve"]
EMULATE = [sys.executable, "-m", "imdsctl", "emulate"]
LISTENING = re.compile(r"IMDS emulator listening on (http://127\.0\.0\.1:(\d+))\n")

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def readline(stream, timeout=10.0):
    """One line from a child's pipe, or fail after ``timeout`` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout), "no output from the child in time"
    return stream.readline()


def fetch(port, target):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", target, headers={"Metadata": "true", **CLIENT_HEADERS})
    response = connection.getresponse()
    return response.status, response.read()


# -- serve --------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_its_url_first_and_stops_on_signals(sig):
    with subprocess.Popen([*SERVE, "--port", "0", "--profile", "spot-vmss", "--no-throttle"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            match = LISTENING.fullmatch(readline(proc.stdout))
            assert match, "the first line names the URL"
            port = int(match.group(2))
            assert fetch(port, "/metadata/instance/compute/priority?api-version=2025-04-07&format=text") == \
                (200, b"Spot")
            proc.send_signal(sig)
            assert proc.wait(10) == 0
        finally:
            proc.kill()
        assert proc.stderr.read() == ""


@posix_only
def test_serve_with_faults_and_control():
    with subprocess.Popen([*SERVE, "--port", "0", "--fault", "410*2", "--control"],
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            port = int(LISTENING.fullmatch(readline(proc.stdout)).group(2))
            assert [fetch(port, "/metadata/versions")[0] for _ in range(3)] == [410, 410, 200]
            assert fetch(port, "/_emulator/faults") == (200, b'{"faults":[]}')
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        finally:
            proc.kill()


def test_serve_cannot_listen_exits_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*SERVE, "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"imdsctl: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in result.stderr


def test_serve_warns_about_non_loopback_hosts():
    # 192.0.2.1 (TEST-NET-1) is not on this machine: the warning shows, binding fails, nothing is sent.
    result = subprocess.run([*SERVE, "--host", "192.0.2.1", "--port", "0"], capture_output=True, text=True,
                            timeout=30)
    assert result.stderr.splitlines()[0] == \
        "imdsctl: warning: 192.0.2.1 is not a loopback address; other machines can reach this emulator"
    assert result.returncode == 2


@pytest.mark.parametrize(("args", "message"), [
    (["serve", "--profile", "nope"], "unknown profile 'nope'"),
    (["serve", "--profile", "missing.json"], "missing.json: cannot read"),
    (["serve", "--fault", "200"], "fault status 200 is not a 4xx or 5xx status"),
    (["serve", "--fault", "delay"], "delay needs seconds"),
    (["serve", "--rate", "0"], "--rate"),
])
def test_usage_errors_exit_2(args, message):
    result = CliRunner().invoke(emulator, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_help_documents_fault_specs():
    result = CliRunner().invoke(emulator, ["serve", "--help"])
    assert result.exit_code == 0
    assert "SPEC = ACTION[*COUNT][@PREFIX]" in result.output
    assert "410*3@/metadata/instance" in result.output
    assert "/_emulator/faults" in result.output


def test_profiles_lists_the_builtins():
    result = CliRunner().invoke(emulator, ["profiles"])
    assert result.exit_code == 0
    names = [line.split("\t")[0] for line in result.output.splitlines()]
    assert names == ["linux-2017", "linux-2025", "spot-vmss", "windows-sql-2017"]
    assert all(len(line.split("\t")) == 2 for line in result.output.splitlines())


# -- emulate ----------------------------------------------------------------------------

CHILD = """
import http.client, os, sys
url = os.environ["IMDSCTL_ENDPOINT"]
assert os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == url
connection = http.client.HTTPConnection(url[len("http://"):], timeout=5)
connection.request("GET", "/metadata/instance/compute/name?api-version=2017-04-02&format=text",
                   headers={"Metadata": "true"})
print(url, connection.getresponse().read().decode())
sys.exit(int(sys.argv[1]))
"""


@pytest.mark.parametrize("code", [0, 3])
def test_emulate_runs_the_command_against_the_emulator(code):
    command = [sys.executable, "-c", CHILD, str(code)]
    result = subprocess.run([*EMULATE, "--profile", "linux-2017", "--", *command], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == code, result.stderr
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+ ubuntu1604\n", result.stdout)
    assert result.stderr == ""


def test_emulate_command_not_found():
    result = subprocess.run([*EMULATE, "--", "imdsctl-no-such-command"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 127
    assert result.stderr == "imdsctl: command not found: imdsctl-no-such-command\n"


def test_emulate_needs_a_command():
    result = CliRunner().invoke(emulate, [])
    assert result.exit_code == 2
    assert "COMMAND" in result.output


@posix_only
def test_emulate_passes_signals_on():
    sleeper = "import time; print('ready', flush=True); time.sleep(30)"
    with subprocess.Popen([*EMULATE, "--", sys.executable, "-c", sleeper], stdout=subprocess.PIPE,
                          text=True) as proc:
        try:
            assert readline(proc.stdout) == "ready\n"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 128 + signal.SIGTERM
        finally:
            proc.kill()
