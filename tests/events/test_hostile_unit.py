"""Bad input to `events watch` and `events unit` (issue 18, points 14, 16, 17):
webhook URLs refused at parse, the unit's escaping as systemd.syntax(7) reads
it, checked by systemd-analyze over hostile paths, and its paths absolute."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from imdsctl.errors import UsageError
from imdsctl.events import unit as watch_unit
from tests.lib.helpers import ok

BAD_URLS = ["http://127.0.0.1:99999/x", "http://127.0.0.1:abc/x", "http://[::1/x", "http://127.0.0.1:0/x",
            "https://[not-an-address]/x", "http://127.0.0.1:-1/x"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_webhook_url_is_a_usage_error_before_anything_runs(run, imds_emulator, url):
    result = ok(run("events", "watch", "--once", "--notify", url), 2)
    assert "--notify" in result.stderr and "Traceback" not in result.stderr
    assert imds_emulator.requests == []


@pytest.mark.parametrize("url", BAD_URLS[:3])
def test_a_bad_webhook_url_in_the_environment_is_a_usage_error(run, imds_emulator, monkeypatch, url):
    monkeypatch.setenv("IMDSCTL_NOTIFY_URL", url)
    result = ok(run("events", "watch", "--once"), 2)
    assert "IMDSCTL_NOTIFY_URL" in result.stderr or "--notify" in result.stderr
    assert imds_emulator.requests == []


@pytest.mark.parametrize("url", BAD_URLS[:3])
def test_a_bad_webhook_url_is_refused_by_events_unit(run, url):
    result = ok(run("events", "unit", "--notify", url), 2)
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_good_webhook_urls_still_pass(run):
    for url in ("http://127.0.0.1:65535/x", "https://[::1]:8443/hook", "https://hooks.example/T0/B0/x"):
        ok(run("events", "unit", "--notify", url))


@pytest.mark.parametrize("command", ["watch", "unit"])
def test_an_empty_state_path_is_a_usage_error(run, imds_emulator, command):
    result = ok(run("events", command, "--state", "", "--ack"), 2)
    assert "--state" in result.stderr
    assert imds_emulator.requests == []


def test_the_unit_has_absolute_paths_and_says_so(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = ok(run("events", "unit", "--state", "st.json", "--exec", "./drain.sh --force"))
    line = next(x for x in result.stdout.splitlines() if x.startswith("ExecStart="))
    assert f" --state {tmp_path}/st.json " in line
    assert f' --exec "{tmp_path}/drain.sh --force"' in line
    assert f"--state st.json written as {tmp_path}/st.json" in result.stderr
    assert f"--exec's ./drain.sh written as {tmp_path}/drain.sh" in result.stderr


def test_a_hook_found_on_path_or_absolute_is_left_as_it_is(run):
    result = ok(run("events", "unit", "--exec", "drain-node --all", "--state", "/var/lib/x/s.json"))
    assert result.stderr == ""
    assert ' --exec "drain-node --all"' in result.stdout and "--state /var/lib/x/s.json" in result.stdout


@pytest.mark.parametrize("char, escape", [("\u00a0", "\\u00a0"), ("\U000f0000", "\\U000f0000"),
                                          ("\u2028", "\\u2028"), ("\x7f", "\\x7f")])
def test_non_printables_are_escaped_as_systemd_reads_them(char, escape):
    assert watch_unit.quote(f"a{char}b") == f'"a{escape}b"'


def test_a_dollar_in_the_executable_is_not_doubled():
    text = watch_unit.unit(command=["/opt/im$ds/bin/imdsctl"], hook="echo $HOME")
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    assert line.startswith('ExecStart="/opt/im$ds/bin/imdsctl" events') and '"echo $$HOME"' in line


HOSTILE_DIRS = ["with\u00a0nbsp", "dollar$HOME", "per%cent", "emoji\U0001F600", "astral\U000f0000",
                "space and blank"]
#: What systemd refuses in the name of an executable (though not in an argument).
REFUSED_DIRS = ["quote\"and'back\\slash", "tab\there", "new\nline"]


@pytest.mark.parametrize("name", REFUSED_DIRS)
def test_an_executable_systemd_cannot_start_is_refused(name):
    with pytest.raises(UsageError, match="systemd cannot start"):
        watch_unit.unit(command=[f"/opt/{name}/imdsctl"])


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", REFUSED_DIRS)
def test_systemd_analyze_verifies_hostile_arguments(tmp_path, name):
    directory = tmp_path / name
    directory.mkdir()
    verify(tmp_path, tmp_path / "imdsctl", directory)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", HOSTILE_DIRS)
def test_systemd_analyze_verifies_units_over_hostile_paths(tmp_path, name):
    directory = tmp_path / name
    directory.mkdir()
    verify(tmp_path, directory / "imdsctl", directory)


def verify(tmp_path, program, directory):
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    text = watch_unit.unit(command=[str(program)], state=str(directory / "state.json"),
                           hook=f"{directory}/drain.sh \"$IMDS_EVENT_ID\" 100%")
    path = tmp_path / "imdsctl-events.service"
    path.write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert result.returncode == 0, result.stderr
    assert "imdsctl-events" not in result.stdout + result.stderr, result.stderr
