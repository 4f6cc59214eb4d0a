"""The quick path hands its attempt over as an object, explicitly, to the client
that takes the request over: matched on endpoint, path and query, used once,
never kept at module level (issue #16, point 2)."""

from __future__ import annotations

import os
import time

import pytest

from imdsctl import catalog, fastpath
from imdsctl.cli import cli
from imdsctl.emulator.api import Emulator
from imdsctl.errors import ImdsNotFoundError, UnreachableError
from imdsctl.imds import handover, quick
from imdsctl.imds.client import ImdsClient
from imdsctl.imds.handover import Attempt
from tests.lib.helpers import CLOSED_PORT

VMID = catalog.INSTANCE_PATH + "/compute/vmId"
NOPE = catalog.INSTANCE_PATH + "/compute/nope"


def _quick_attempt(url: str, path: str = NOPE) -> Attempt:
    client = quick.QuickClient(url, None, time.monotonic() + 5)
    with pytest.raises(quick.Unusual) as unusual:
        client.request("GET", path, params={"format": "text"}, expect="text")
    assert unusual.value.attempt is not None
    return unusual.value.attempt


def _asked(emulator: Emulator, path: str) -> int:
    return sum(1 for r in emulator.requests if r.path == path)


def test_a_library_client_never_sees_another_clients_attempt():
    """As the issue tried it: after the quick path met a 404 from one emulator, a
    client for a second emulator asks the second emulator."""
    with Emulator(throttle=False) as first, Emulator(throttle=False) as second:
        _quick_attempt(first.url, VMID.replace("vmId", "nope"))
        with ImdsClient(second.url, timeout=5) as client, pytest.raises(ImdsNotFoundError):
            client.leaf("compute/nope")
        assert _asked(second, NOPE) == 1 and _asked(first, NOPE) == 1
        with ImdsClient(second.url, timeout=5) as client:
            assert client.leaf("compute/vmId") == second.profile.instance["compute"]["vmId"]


def test_the_handed_attempt_is_the_clients_first_and_is_used_once():
    with Emulator(throttle=False) as imds:
        attempt = _quick_attempt(imds.url)
        assert attempt.answer is not None and attempt.answer[0] == 404
        with ImdsClient(imds.url, timeout=5, handover=attempt) as client:
            with pytest.raises(ImdsNotFoundError):
                client.leaf("compute/nope")
            assert _asked(imds, NOPE) == 1  # taken over, not asked again
            with pytest.raises(ImdsNotFoundError):
                client.leaf("compute/nope")
            assert _asked(imds, NOPE) == 2  # once only


@pytest.mark.parametrize("other", ["endpoint", "path", "query"])
def test_an_attempt_at_another_request_is_not_taken(other):
    with Emulator(throttle=False) as imds, Emulator(throttle=False) as elsewhere:
        attempt = _quick_attempt(elsewhere.url if other == "endpoint" else imds.url)
        with ImdsClient(imds.url, "2021-02-01" if other == "query" else None, timeout=5,
                        handover=attempt) as client:
            if other == "path":
                assert client.leaf("compute/vmId")
            else:
                with pytest.raises(ImdsNotFoundError):
                    client.leaf("compute/nope")
        quick_asked_here = other != "endpoint" and other != "path"
        assert _asked(imds, VMID if other == "path" else NOPE) == 1 + quick_asked_here


def test_a_failed_attempt_reads_as_the_clients_own_failure():
    url = f"http://127.0.0.1:{CLOSED_PORT}"
    attempt = _quick_attempt(url)
    assert attempt.kind == handover.CONNECT_FAILED and attempt.answer is None
    handed = ImdsClient(url, timeout=2, connect_attempts=1, handover=attempt)
    with handed, pytest.raises(UnreachableError) as taken:
        handed.leaf("compute/nope")
    with ImdsClient(url, timeout=2, connect_attempts=1) as own, pytest.raises(UnreachableError) as asked:
        own.leaf("compute/nope")
    words = [str(e.value).rsplit("(", 1)[0] for e in (taken, asked)]
    assert words[0] == words[1] and "cannot connect" in words[0]
    assert handed.log[0][2] == own.log[0][2] == "connect error"


@pytest.mark.parametrize("kind", [handover.CONNECT_TIMED_OUT, handover.CONNECT_FAILED,
                                  handover.READ_TIMED_OUT, handover.UNFINISHED, handover.DROPPED])
def test_one_classifier_words_every_kind(kind):
    outcome, retryable = handover.failure(kind, "12", "http://127.0.0.1:1/x")
    assert outcome and retryable.reason
    broken = kind in (handover.UNFINISHED, handover.DROPPED)  # IMDS began to answer
    assert (retryable.http_error is not None) is broken
    assert retryable.connect is (kind in (handover.CONNECT_TIMED_OUT, handover.CONNECT_FAILED))


def test_the_quick_module_keeps_no_attempt():
    assert not any(isinstance(v, dict) for k, v in vars(quick).items() if k.isupper() or k.startswith("_H"))


def test_the_command_line_asks_once_when_the_fast_path_hands_over(monkeypatch, capsys):
    argv = ["compute", "vm-id"]
    with Emulator(throttle=False, faults=["400*inf@" + VMID]) as imds:  # an answer never retried
        monkeypatch.setenv("IMDSCTL_ENDPOINT", imds.url)
        code, attempt = fastpath.respond(argv, os.environ)
        assert code is None and attempt is not None and _asked(imds, VMID) == 1
        handed = cli.main(argv, prog_name="imdsctl", standalone_mode=False, obj=attempt)
        assert _asked(imds, VMID) == 1  # the CLI answered with the fast path's attempt
        assert cli.main(argv, prog_name="imdsctl", standalone_mode=False) == handed != 0
        assert _asked(imds, VMID) == 2
