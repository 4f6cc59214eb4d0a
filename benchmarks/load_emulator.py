"""Load the IMDS emulator side by side with a bare stdlib server, in one run.

Starts two servers on 127.0.0.1, each in a child process: a bare stdlib
ThreadingHTTPServer answering every GET with a fixed 36-byte body (the floor
of a Python server), and `imdsctl emulator serve --no-throttle`. Then, for
each connection count, loads one and then the other with the same requests
over keep-alive connections: wrk when it is installed (wrk -t2 -cN -dS
--latency), else a bounded Python load generator (one thread, non-blocking
sockets, at most 200,000 requests a run; it needs more CPU per request than
wrk, which leaves less to the servers). Prints requests/s, p50, p99 and
errors for both, the throughput ratio and the emulator's p99.

Targets (exit 1 when missed, checked with wrk only): the emulator's leaf
throughput at 32 connections at least 1.5x the bare server's; at 256
connections a p99 under 50 ms with no errors, timeouts or non-200 answers.

    python benchmarks/load_emulator.py [--connections 32,256] [--duration 10]
                                       [--target leaf|document] [--python]
"""

from __future__ import annotations

import argparse
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

V = "2025-04-07"
TARGETS = {
    "leaf": f"/metadata/instance/compute/vmId?api-version={V}&format=text",  # 36 bytes
    "document": f"/metadata/instance?api-version={V}",
}
MIN_RATIO, MAX_P99_MS = 1.5, 50.0

#: The floor: the stdlib's threaded server, Nagle off, answering a fixed 36-byte body.
BARE_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BODY = b"02aab8a4-74ef-476e-8182-f6d2ba4166a6"
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
server = Server(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
"""
EMULATOR = [sys.executable, "-m", "imdsctl", "emulator", "serve", "--port", "0", "--no-throttle"]
PORT = re.compile(r".*listening on http://127\.0\.0\.1:(\d+)\n")


@dataclass
class Load:
    """One load run against one server."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int      #: socket errors, timeouts and answers other than 200
    detail: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def start(command: List[str], quiet: bool = False) -> Tuple[subprocess.Popen, int]:
    """A server in a child process (``quiet``: its stderr dropped) and its port."""
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None,
                              text=True)
    with selectors.DefaultSelector() as selector:
        selector.register(server.stdout, selectors.EVENT_READ)
        ready = selector.select(15)
    match = PORT.fullmatch(server.stdout.readline() if ready else "")
    if not match:
        server.kill()
        sys.exit(f"{command[-1]!r} did not start")
    return server, int(match.group(1))


def stop(server: subprocess.Popen) -> bool:
    """SIGINT, then wait; whether it exited in time."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(10)
        return True
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        return False


# -- wrk ----------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([a-z]+)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(port: int, target: str, connections: int, seconds: float) -> Load:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "2s",
               "-H", "Metadata: true", f"http://127.0.0.1:{port}{target}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30).stdout
    done = re.search(r"(\d+) requests in ([0-9.]+)(\w+),", out)
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if not done or set(percentiles) != {"50", "99"}:
        sys.exit(f"cannot read wrk's output:\n{out}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    elapsed = _ms(done.group(2) + done.group(3)) / 1e3
    return Load(int(done.group(1)), elapsed, _ms(percentiles["50"]), _ms(percentiles["99"]), errors,
                " ".join(line.strip() for line in out.splitlines() if "errors" in line or "Non-2xx" in line))


# -- the Python load generator ----------------------------------------------------------------


class _Client:
    """One keep-alive connection sending the same GET again and again."""

    HEAD_END = re.compile(rb"\r\n\r\n")
    LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)

    def __init__(self, port: int, request: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.request, self.buffer, self.sent = request, b"", 0.0

    def send(self) -> None:
        self.sent = time.perf_counter()
        self.sock.sendall(self.request)

    def answer(self) -> Optional[bool]:
        """None while incomplete, else whether the answer was a 200 (the buffer moves on)."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = self.LENGTH.search(self.buffer, 0, end + 2)
        total = end + 4 + (int(length.group(1)) if length else 0)
        if len(self.buffer) < total:
            return None
        ok = self.buffer.startswith(b"HTTP/1.1 200 ")
        self.buffer = self.buffer[total:]
        return ok


def python_load(port: int, target: str, connections: int, seconds: float, cap: int = 200_000) -> Load:
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata: true\r\n\r\n".encode()
    clients = [_Client(port, request) for _ in range(connections)]
    latencies: List[float] = []
    errors = 0
    with selectors.DefaultSelector() as selector:
        for client in clients:
            selector.register(client.sock, selectors.EVENT_READ, client)
            client.send()
        started = time.perf_counter()
        deadline = started + seconds
        while selector.get_map() and len(latencies) < cap:
            events = selector.select(max(0.0, deadline - time.perf_counter()))
            if not events and time.perf_counter() >= deadline:
                break
            for key, _ in events:
                client = key.data
                data = client.sock.recv(65536)
                client.buffer += data
                ok = client.answer()
                if ok is not None:
                    latencies.append(time.perf_counter() - client.sent)
                    errors += not ok
                if not data or time.perf_counter() >= deadline:
                    errors += not data
                    selector.unregister(client.sock)
                elif ok is not None:
                    client.send()
        elapsed = time.perf_counter() - started
    for client in clients:
        client.sock.close()
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return Load(len(latencies), elapsed, cuts[49] * 1e3, cuts[98] * 1e3, errors)


# -- the run -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", default="32,256", help="connection counts, comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load run")
    parser.add_argument("--target", choices=sorted(TARGETS), default="leaf",
                        help="what the emulator is asked (the bare server always answers 36 bytes)")
    parser.add_argument("--python", action="store_true", help="use the Python load generator, not wrk")
    args = parser.parse_args()
    counts = [int(n) for n in args.connections.split(",")]
    use_wrk = not args.python and shutil.which("wrk") is not None
    target = TARGETS[args.target]

    servers = {"bare stdlib": start([sys.executable, "-c", BARE_SERVER], quiet=True),
               "emulator": start(EMULATOR)}
    results: Dict[Tuple[str, int], Load] = {}
    try:
        for count in counts:
            for name, (_, port) in servers.items():
                load = wrk if use_wrk else python_load
                results[name, count] = load(port, target if name == "emulator" else "/", count,
                                            args.duration)
    finally:
        stopped = {name: stop(server) for name, (server, _) in servers.items()}

    print(f"load generator: {'wrk -t2' if use_wrk else 'python (one thread)'}, {args.duration:g} s per run, "
          f"emulator target: {args.target} ({target})")
    print(f"{'server':<12} {'conns':>5} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for (name, count), load in results.items():
        print(f"{name:<12} {count:>5} {load.rate:>11.0f} {load.p50_ms:>8.2f} {load.p99_ms:>8.2f} "
              f"{load.errors:>7}")
    failed = [f"{name} did not stop on SIGINT" for name, ok in stopped.items() if not ok]
    for count in counts:
        bare, emulator = results["bare stdlib", count], results["emulator", count]
        ratio = emulator.rate / bare.rate if bare.rate else float("nan")
        print(f"{count} connections: emulator/bare throughput {ratio:.2f}x, emulator p99 "
              f"{emulator.p99_ms:.2f} ms, {emulator.errors} errors")
        if use_wrk and count == 32 and args.target == "leaf" and not ratio >= MIN_RATIO:
            failed.append(f"throughput at 32 connections {ratio:.2f}x < {MIN_RATIO}x")
        if use_wrk and count == 256 and (emulator.p99_ms >= MAX_P99_MS or emulator.errors):
            failed.append(f"256 connections: p99 {emulator.p99_ms:.1f} ms, {emulator.errors} errors "
                          f"(target < {MAX_P99_MS:g} ms, none)")
    for line in failed:
        print(f"MISSED: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
