"""Reaction time of `imdsctl events watch --exec`: from the moment an event
appears in the emulator to the moment its hook starts.

Runs the IMDS emulator in this process on 127.0.0.1 (rate limit on, as on a
VM) and one `imdsctl events watch --interval I --exec HOOK --ack --state F`
as a child process, as a person would run it. Then, N times: wait a random
fraction of the interval (so events land at every phase of the polling),
schedule a Reboot, and time until the hook, which writes the event's id to a
FIFO this process reads, has started; then cancel the event. Every time is
this process's monotonic clock, so the two ends are measured alike. The
split between waiting for the next poll and the watch's own work (the answer,
the change, the state file written and fsynced, the shell started) uses the
emulator's request log.

    python benchmarks/bench_events.py [--events 50] [--interval 0.2] [--seconds S]

Target (checked here): the 95th percentile at most the interval plus 100 ms.
Exit 1 if it is missed, 2 if the run did not finish within --seconds.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import List, Tuple

from imdsctl.emulator import Emulator
from imdsctl.emulator import events as se


def percentile(values: List[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def read_hook_starts(fifo: str, starts: queue.Queue[Tuple[str, float, float]]) -> None:
    """Each line the hook writes: (event id, monotonic time, wall time) of its arrival."""
    fd = os.open(fifo, os.O_RDWR)  # a writer of our own: no EOF between hooks
    with os.fdopen(fd, "r") as lines:
        for line in lines:
            starts.put((line.strip(), time.monotonic(), time.time()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, help="give up after this long "
                                                      "[default: 30 + 3 intervals per event]")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 30 + 3 * max(args.interval, 0.21) * args.events
    imdsctl = shutil.which("imdsctl", path=os.path.dirname(sys.executable)) or shutil.which("imdsctl")
    if imdsctl is None:
        raise SystemExit("imdsctl is not installed next to this python")
    deadline = time.monotonic() + args.seconds
    work = tempfile.mkdtemp(prefix="imdsctl-bench-events-")
    fifo = os.path.join(work, "hook-started")
    os.mkfifo(fifo, 0o600)
    starts: queue.Queue[Tuple[str, float, float]] = queue.Queue()
    threading.Thread(target=read_hook_starts, args=(fifo, starts), daemon=True).start()
    hook = f"printf '%s\\n' \"$IMDS_EVENT_ID\" > {fifo}"
    with Emulator() as emulator:
        state = se.attach(emulator.service)
        polls = Polls(emulator)
        env = dict(os.environ, IMDSCTL_ENDPOINT=emulator.url, IMDSCTL_CACHE_DIR=work)
        command = [imdsctl, "events", "watch", "--interval", f"{args.interval:g}", "--exec", hook, "--ack",
                   "--state", os.path.join(work, "events.json"), "-o", "none"]
        watch = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            polls.wait(0.0, deadline)
            samples = measure(polls, state, starts, args, deadline)
            refused = sum(r.status == 429 for r in emulator.requests)
        finally:
            watch.terminate()
            watch.wait(10)
            shutil.rmtree(work, ignore_errors=True)
    return report(samples, args, refused)


class Polls:
    """When the watch's polls reach the emulator (wall clock), told as they
    come: the emulator runs in this process, and polling its request log
    would take the interpreter from it."""

    def __init__(self, emulator):
        self.times: List[float] = []
        self.arrived = threading.Condition()
        log = emulator.service.log
        append = log.append

        def noted(entry):
            append(entry)
            if entry.method == "GET" and entry.path == "/metadata/scheduledevents":
                with self.arrived:
                    self.times.append(entry.time)
                    self.arrived.notify_all()

        log.append = noted

    def since(self, wall: float) -> List[float]:
        with self.arrived:
            return [t for t in self.times if t >= wall]

    def wait(self, wall: float, deadline: float) -> None:
        """Until a poll arrives after ``wall``."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.times and self.times[-1] >= wall,
                                         max(0.0, deadline - time.monotonic())):
                raise SystemExit("the watch stopped polling")


def measure(polls, state, starts, args, deadline) -> List[Tuple[float, float]]:
    """(seconds from scheduled to hook started, of which waiting for the poll
    that saw it), for events landing at random moments of a steady watch."""
    samples = []
    for _ in range(args.events):
        time.sleep(random.uniform(0, args.interval))
        scheduled_wall, scheduled = time.time(), time.monotonic()
        event_id = state.schedule("Reboot")["EventId"]
        while True:
            try:
                got, started, started_wall = starts.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                print(f"gave up after {args.seconds:g}s with {len(samples)} events", file=sys.stderr)
                sys.exit(2)
            if got == event_id:
                break
        polled = min(polls.since(scheduled_wall))
        samples.append((started - scheduled, min(polled, started_wall) - scheduled_wall))
        cancelled = time.time()
        state.cancel(event_id)  # the watch acknowledges, sees it gone, polls on: steady again
        polls.wait(cancelled, deadline)
    return samples


def report(samples: List[Tuple[float, float]], args: argparse.Namespace, refused: int) -> int:
    total = [s for s, _ in samples]
    waiting = [w for _, w in samples]
    work = [s - w for s, w in samples]
    print(f"{len(samples)} events, watch --interval {args.interval:g}; milliseconds from the event "
          "appearing to its hook starting:")
    print(f"{'':24s} {'p50':>7s} {'p95':>7s} {'max':>7s}")
    for name, values in (("total", total), ("  waiting for the poll", waiting), ("  the watch's work", work)):
        print(f"{name:24s} " + " ".join(f"{percentile(values, p) * 1000:7.1f}" for p in (50, 95, 100)))
    target = args.interval + 0.1
    p95 = percentile(total, 95)
    ok = p95 <= target
    print(f"\np95 {p95 * 1000:.1f} ms (target <= interval + 100 ms = {target * 1000:.0f} ms) "
          f"{'ok' if ok else 'MISSED'}; mean {statistics.mean(total) * 1000:.1f} ms; "
          f"{refused} request(s) throttled (429)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
