"""The time budget bounds the whole command, whatever the server does: a
connection that accepts and says nothing, an answer whose status line,
headers or body trickle in one byte at a time, a TLS handshake that never
ends. Each command gets --timeout 0.5; each server would keep going for 3 s
(and on main, before the budget was kept on the socket, for hours)."""

from __future__ import annotations

import time

import pytest

from tests.lib.helpers import RawServer, trickle

BUDGET = 0.3
SLACK = 0.5  # start-up, the last back-off decision, the TLS watchdog thread


def budget_of(command) -> float:
    """doctor splits its budget between its checks (a TCP connect, then half of what is left
    for the first request): under load, 0.3 s could be spent before the trickle's first
    bytes arrive in this process, and the request would rightly end as 'nothing came' (6)."""
    return 1.5 if command[0] == "doctor" else BUDGET


def _timed(run, *args):
    started = time.monotonic()
    result = run(*args, "--timeout", str(budget_of(args)))
    return result, time.monotonic() - started


def silent(conn, going):
    conn.recv(65536)
    while going():
        time.sleep(0.02)


HEADERS = trickle(b"HTTP/1.1 200 OK\r\nX: ")
STATUS = trickle(b"HTTP/1.1 2")
BODY = trickle(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\nx")

CASES = [(("compute", "vm-id"), HEADERS), (("wait",), HEADERS), (("doctor",), HEADERS),
         (("get",), STATUS), (("versions",), BODY)]


@pytest.mark.parametrize("command,handler", CASES, ids=lambda c: " ".join(c) if isinstance(c, tuple) else "")
def test_a_trickling_answer_ends_with_the_budget_exit_5(run, command, handler):
    with RawServer(handler) as server:
        result, elapsed = _timed(run, *command, "--endpoint", server.url)
    assert elapsed < budget_of(command) + SLACK, elapsed
    assert result.exit_code == 5, result.stderr
    assert result.stdout == "" or command == ("doctor",)
    assert len(result.stderr.splitlines()) <= 2, result.stderr


@pytest.mark.parametrize("command", [("compute", "vm-id"), ("wait",), ("doctor",)], ids=" ".join)
def test_a_server_that_accepts_and_never_answers_is_unreachable_exit_6(run, command):
    with RawServer(silent) as server:
        result, elapsed = _timed(run, *command, "--endpoint", server.url)
    assert elapsed < budget_of(command) + SLACK, elapsed
    assert result.exit_code == 6, result.stderr


def test_doctor_says_which_check_stalled(run):
    with RawServer(HEADERS) as server:
        result, _ = _timed(run, "doctor", "--endpoint", server.url, "-o", "json")
    assert '"imds-answer"' in result.stdout and "unfinished" in result.stdout


def test_a_tls_handshake_that_trickles_ends_with_the_budget(run):
    # A TLS record header announcing 16 KiB, then the record one byte at a time.
    with RawServer(trickle(b"\x16\x03\x03\x40\x00")) as server:
        endpoint = server.url.replace("http://", "https://")
        result, elapsed = _timed(run, "compute", "vm-id", "--endpoint", endpoint)
    assert elapsed < BUDGET + SLACK, elapsed
    assert result.exit_code == 6, result.stderr
    assert len(result.stderr.splitlines()) <= 2


def test_a_request_after_the_budget_is_spent_times_out_at_once():
    from imdsctl.imds.budget import Budget

    class Timeout(Exception):
        pass

    budget = Budget(0.0, clock=lambda: 100.0)
    with pytest.raises(Timeout):
        budget.bound(5.0, Timeout)
    assert Budget(2.0, clock=lambda: 100.0).bound(5.0, Timeout) == 2.0
    assert Budget(2.0, clock=lambda: 100.0).bound(None, Timeout) == 2.0
    assert Budget(2.0, clock=lambda: 100.0).bound(0.5, Timeout) == 0.5


def test_one_budget_serves_the_client_and_the_support_checks():
    """One Budget class (issue #16, point 2): the client's, kept on the socket, is
    the one doctor and collect share among their checks."""
    from imdsctl.imds import budget, client
    from imdsctl.support import collect, doctor

    now = [0.0]
    shared = budget.Budget(9.0, clock=lambda: now[0])
    assert shared.share(3) == 3.0
    now[0] = 6.0
    assert shared.share(3) == 1.0 and shared.left() == 3.0
    now[0] = 10.0
    assert shared.left() == 0.0 and shared.remaining() == -1.0
    shared.restart()
    assert shared.left() == 9.0
    assert doctor.Budget is collect.Budget is client.Budget is budget.Budget


def test_an_httpx_too_old_for_the_budget_says_so_not_an_internal_error(monkeypatch):
    # Debian 12's python3-httpx 0.23 comes with httpcore 0.16, which has no NetworkStream
    import importlib
    import sys

    import httpcore

    from imdsctl.errors import UsageError

    monkeypatch.delattr(httpcore, "NetworkStream")
    monkeypatch.delitem(sys.modules, "imdsctl.imds.transport")
    with pytest.raises(UsageError, match=r"needs httpx 0\.26 or newer \(with httpcore 1\.0\);"
                                         r" this Python has httpx [0-9.]+ and httpcore [0-9.]+") as raised:
        importlib.import_module("imdsctl.imds.transport")
    assert "python3-httpx" in raised.value.hint and "pip install 'httpx>=0.26'" in raised.value.hint
    monkeypatch.undo()
    importlib.import_module("imdsctl.imds.transport")
