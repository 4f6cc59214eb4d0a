"""The domain prints nothing: notes, spinners and progress go through the
Session's reporter, silent for a program using imdsctl as a library; the
command line gives the Session one that writes them to stderr, as before.
Library errors carry no command-line advice: the command line adds its hints."""

from __future__ import annotations

import os

import pytest

from imdsctl import catalog, instance, wait
from imdsctl.errors import ImdsctlError, UsageError
from imdsctl.events import scheduled
from imdsctl.events.watch import watch
from imdsctl.reporter import Reporter
from imdsctl.session import Session
from imdsctl.support.collect import collect
from imdsctl.ui import terminal
from tests.lib.events import ID1, Scripted, doc, event
from tests.lib.helpers import ok

pytestmark = pytest.mark.e2e

NO_REDACT = "warning: --no-redact: the bundle keeps userData"


class Recording(Reporter):
    """A reporter that keeps what it is told."""

    def __init__(self):
        self.heard = []

    def note(self, text):
        self.heard.append(("note", text))

    def spinner(self, text):
        self.heard.append(("spinner", text))
        return super().spinner(text)


@pytest.fixture
def terminal_heard(monkeypatch):
    """What reached the terminal's stderr lines and spinners, stderr taken for a terminal."""
    heard = []
    monkeypatch.setattr(terminal, "_line", heard.append)
    monkeypatch.setattr(terminal.spinner, "__enter__", lambda self: heard.append(self.message))
    return heard


def session(emulator, **fields):
    return Session(endpoint=emulator.url, timeout=20, **fields)


def test_collect_from_python_says_nothing(imds_emulator, tmp_path, terminal_heard, capfd):
    with session(imds_emulator) as imds:
        result = collect(imds, str(tmp_path / "b.tar.gz"), no_redact=True)
    assert (tmp_path / "b.tar.gz").stat().st_size == result.data["bytes"]
    assert terminal_heard == [] and capfd.readouterr() == ("", "")


def test_a_failing_collect_to_stdout_from_python_says_nothing(tmp_path, terminal_heard, capfd):
    closed = os.environ["IMDSCTL_ENDPOINT"]  # the guard's closed loopback port
    with Session(endpoint=closed, timeout=1) as imds:
        result = collect(imds, "-")
    assert result.exit_code == 6
    assert terminal_heard == [] and capfd.readouterr() == ("", "")


def test_wait_and_events_from_python_say_nothing(imds_emulator, terminal_heard, capfd):
    with session(imds_emulator) as imds:
        assert wait.wait(imds).data["ready"] is True
        assert scheduled.list_events(imds).data["Events"] == []
    assert terminal_heard == [] and capfd.readouterr() == ("", "")


def test_a_watch_from_python_says_nothing(tmp_path, terminal_heard, capfd):
    (tmp_path / "elsewhere").write_text("{}")
    (tmp_path / "state.json").symlink_to(tmp_path / "elsewhere")  # refused, which a note would say
    client = Scripted(doc(1, event(resources=("vm2",))))
    assert watch(client, "2020-07-01", state_path=str(tmp_path / "state.json"), approve=True, once=True) == 0
    assert terminal_heard == [] and capfd.readouterr() == ("", "")


def test_a_reporter_given_hears_the_notes_and_spinners(imds_emulator, tmp_path):
    told = Recording()
    with session(imds_emulator, reporter=told) as imds:
        collect(imds, str(tmp_path / "b.tar.gz"), no_redact=True)
        wait.wait(imds)
    assert [kind for kind, _ in told.heard] == ["note", "spinner", "spinner"]
    assert told.heard[0][1].startswith(NO_REDACT)
    assert told.heard[1] == ("spinner", "collecting IMDS data")
    assert told.heard[2][1].startswith(f"waiting for IMDS at {imds_emulator.url}")


def test_a_watch_tells_its_reporter(tmp_path):
    told = Recording()
    (tmp_path / "state.json").symlink_to(tmp_path / "elsewhere")
    client = Scripted(doc(1, event(resources=("vm2",))))
    watch(client, "2020-07-01", state_path=str(tmp_path / "state.json"), approve=True, once=True,
          reporter=told)
    notes = [text for kind, text in told.heard if kind == "note"]
    assert notes[0].startswith(f"state file {tmp_path / 'state.json'} is a symbolic link: not used")
    assert notes[1] == f"Reboot {ID1} lists only other VMs (vm2); not handled (see --all-resources)"
    assert ("spinner", scheduled.ENABLING) in told.heard


def test_the_command_line_still_says_them(run, imds_emulator, tmp_path):
    result = ok(run("collect", "--no-redact", "-f", str(tmp_path / "b.tar.gz")))
    assert result.stderr.startswith("imdsctl: " + NO_REDACT)


# -- errors: no command-line advice in a library error; the command line adds it -------------------------


def raised(call):
    with pytest.raises(ImdsctlError) as caught:
        call()
    return caught.value


def advice_free(err):
    return "--" not in str(err) and "--" not in (err.hint or "") and "imdsctl " not in (err.hint or "")


def test_an_unknown_field_from_python_and_from_the_command_line(run, imds_emulator):
    with session(imds_emulator) as imds:
        err = raised(lambda: instance.compute(imds, "no-such-field"))
    assert isinstance(err, UsageError) and advice_free(err), err.hint
    assert ok(run("compute", "no-such-field"), 2).stderr.endswith(
        "\nhint: 'imdsctl compute --help' lists them; 'imdsctl get compute/<key>' reads any key\n")


def test_a_field_too_new_for_the_api_version(run, imds_emulator):
    route, appeared = next((route, since) for route, since in catalog.SCHEMA_SINCE
                           if route.startswith("compute/") and since > "2019-")
    old = "2017-04-02"
    with session(imds_emulator, api_version=old) as imds:
        err = raised(lambda: instance.get(imds, [route]))
    assert err.exit_code == 3 and advice_free(err), err.hint
    assert appeared in err.hint
    assert ok(run("get", route, "--api-version", old), 3).stderr.endswith(
        f"\nhint: pass --api-version {appeared} or newer\n")


def test_acknowledging_an_unknown_event(run, imds_emulator):
    with session(imds_emulator) as imds:
        err = raised(lambda: scheduled.ack(imds, [ID1]))
    assert err.exit_code == 3 and advice_free(err), err.hint
    assert ok(run("events", "ack", ID1), 3).stderr.endswith(
        "\nhint: 'imdsctl events list' shows the current ids; --force sends them anyway\n")


@pytest.mark.parametrize("args, route, hint", [
    (["get", "compute/nosuchkey"], "compute/nosuchkey",
     "keys are case-sensitive, indices 0-based; 'imdsctl get compute -o json' shows what is there"),
    (["get", "compute/tagsList/99"], "compute/tagsList/99",
     "keys are case-sensitive, indices 0-based; 'imdsctl get compute/tagsList -o json' shows what is there"),
])
def test_a_key_imds_does_not_have(run, imds_emulator, args, route, hint):
    with session(imds_emulator) as imds:
        err = raised(lambda: instance.get(imds, [route]))
    assert err.exit_code == 3 and advice_free(err) and err.hint == "keys are case-sensitive, indices 0-based"
    assert ok(run(*args), 3).stderr.endswith(f"\nhint: {hint}\n")


def test_a_nic_this_vm_does_not_have(run, imds_emulator):
    with session(imds_emulator) as imds:
        err = raised(lambda: instance.network(imds, (), 7))
    assert err.exit_code == 3 and advice_free(err), err.hint
    assert ok(run("network", "--nic", "7"), 3).stderr.endswith(
        "\nhint: 'imdsctl get network/interface -o json' shows what is there\n")
