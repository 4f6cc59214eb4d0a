"""A stdout whose encoding cannot carry a value (PYTHONIOENCODING=latin-1, a C
locale): the value is written with backslash escapes, one note says so on
stderr, and there is never a traceback. The console script's fast path and the
click command line (both as real processes) behave the same."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from imdsctl.emulator.profiles import load_profile
from tests.lib.process import IMDSCTL

NAME = "web-€-😀"
TAG = "caf€ 😀 naïve"
#: The console script (fast path first) and the click group alone.
ENTRIES = {"fast": [IMDSCTL], "cli": [sys.executable, "-c", "from imdsctl.cli import main; main()"]}


@pytest.fixture
def hostile_names(imds_emulator_factory):
    profile = load_profile()
    instance = copy.deepcopy(profile.instance)
    instance["compute"]["name"] = NAME
    instance["compute"]["tagsList"] = [{"name": "note", "value": TAG}]
    instance["compute"]["tags"] = f"note:{TAG}"
    return imds_emulator_factory(profile=replace(profile, instance=instance), throttle=False)


def _run(entry: str, emulator, env_extra, *args):
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           "IMDSCTL_ENDPOINT": emulator.url, "IMDSCTL_TIMEOUT": "20", "NO_COLOR": "1", **env_extra}
    return subprocess.run([*ENTRIES[entry], *args], env=env, capture_output=True, timeout=60)


@pytest.mark.parametrize("entry", sorted(ENTRIES))
@pytest.mark.parametrize("env_extra", [{"PYTHONIOENCODING": "latin-1"},
                                       {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"}],  # ASCII
                         ids=["latin-1", "C-locale"])
@pytest.mark.parametrize("args", [("compute", "name"), ("compute", "name", "-o", "json"),
                                  ("compute", "name", "-o", "env"), ("compute", "tags", "-o", "json"),
                                  ("compute", "tags", "-o", "env"), ("compute", "tags", "-o", "text")])
def test_a_value_stdout_cannot_encode_is_escaped_and_said_once(hostile_names, entry, env_extra, args):
    done = _run(entry, hostile_names, env_extra, *args)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    notes = [line for line in stderr.splitlines() if "cannot encode" in line]
    assert len(notes) == 1, stderr
    out = done.stdout.decode("ascii", "strict") if "LANG" in env_extra else done.stdout.decode("latin-1")
    assert "\\u20ac" in out  # €, escaped
    if args[-1] == "json":
        assert "€" in json.dumps(json.loads(out), ensure_ascii=False)  # the escapes are JSON's own


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_both_paths_write_the_same_bytes(hostile_names, entry):
    env = {"PYTHONIOENCODING": "latin-1"}
    assert _run(entry, hostile_names, env, "compute", "name").stdout == \
        _run("fast", hostile_names, env, "compute", "name").stdout
    assert _run(entry, hostile_names, env, "compute", "name").stdout.decode("latin-1") == \
        "web-\\u20ac-\\ud83d\\ude00\n"


def test_an_encodable_value_is_written_as_it_is_without_a_note(hostile_names):
    done = _run("fast", hostile_names, {"PYTHONIOENCODING": "utf-8"}, "compute", "name")
    assert done.stdout.decode("utf-8") == NAME + "\n" and done.stderr == b""
