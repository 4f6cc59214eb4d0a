"""Builders for the scheduled-events tests: events, documents, a scripted client, a watch."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from email.utils import formatdate
from types import SimpleNamespace

from imdsctl.events.watch import Watcher, human
from imdsctl.ui.render import line_printer
from imdsctl.ui.terminal import TerminalReporter
from tests.lib.clock import FakeTime
from tests.lib.helpers import BASE
from tests.lib.process import IMDSCTL

ID1 = "C7061BAC-AFDC-4513-B24B-AA5F13A16123"
ID2 = "F020BA2E-3BC0-4C40-A10B-86575A9EABD5"


def event(event_id=ID1, status="Scheduled", kind="Reboot", resources=("vm1",), in_seconds=14 * 60 + 40):
    return {
        "EventId": event_id, "EventStatus": status, "EventType": kind, "ResourceType": "VirtualMachine",
        "Resources": list(resources),
        "NotBefore": "" if status == "Started" else formatdate(time.time() + in_seconds, usegmt=True),
        "Description": "Host server is undergoing maintenance.", "EventSource": "Platform",
        "DurationInSeconds": 5,
    }


def doc(incarnation, *events):
    return {"DocumentIncarnation": incarnation, "Events": list(events)}


class Scripted:
    """A stand-in for ImdsClient: GETs answer from ``answers`` in order (an
    exception is raised, a callable is called); POSTs are recorded."""

    endpoint = BASE

    def __init__(self, *answers, name="vm1", post_error=None):
        self.answers = list(answers)
        self.name, self.post_error = name, post_error
        self.posts, self.budgets, self.times = [], 0, []
        self.clock = None

    def reset_budget(self):
        self.budgets += 1

    def request(self, method, path, json_body=None, **kwargs):
        self.times.append(self.clock() if self.clock else 0)
        if path.endswith("compute/name"):
            return SimpleNamespace(body=self.name)
        if method == "POST":
            if self.post_error:
                raise self.post_error
            self.posts.append(json_body)
            return SimpleNamespace(body=None)
        answer = self.answers.pop(0)  # an empty script ends a runaway loop with IndexError
        if isinstance(answer, BaseException):
            raise answer
        return SimpleNamespace(body=answer() if callable(answer) else answer)


def watcher(client, output="json", query=None, **options):
    """A Watcher printing as `events watch -o OUTPUT -q QUERY` does (its notes
    and spinner on stderr, as the command line's), on a fake clock."""
    fake = FakeTime()
    client.clock = fake.clock
    emit = line_printer(output, query, human)
    return Watcher(client, "2020-07-01", sleep=fake.sleep, clock=fake.clock, now=fake.wall, emit=emit,
                   **{"reporter": TerminalReporter(), **options}), fake


class Watch:
    """``imdsctl events watch ARGS`` as a process, its stdout read line by line."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([IMDSCTL, "events", "watch", *args], env=dict(os.environ),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []

    def until(self, done, timeout: float = 10.0):
        """Read JSON lines until ``done(lines)``; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not done(self.lines):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(left, 0))
            assert ready, f"no progress in {timeout}s; seen {self.lines}"
            line = self.process.stdout.readline()
            assert line, f"watch ended early: {self.finish(0)}"
            self.lines.append(json.loads(line))
        return self.lines

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0):
        self.process.send_signal(sig)
        return self.finish(timeout)

    def finish(self, timeout: float):
        try:
            out, err = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
        return self.process.returncode, out.decode(), err.decode()
