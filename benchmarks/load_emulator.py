"""Load the IMDS emulator: a bounded run over keep-alive loopback connections.

Starts `imdsctl emulator serve --port 0 --no-throttle` in a child process,
then N client threads (http.client, one keep-alive connection each) send a
mix of IMDS requests until the request budget or the time cap runs out,
whichever comes first.  Prints requests/second, p50/p99 latency and the error
count; exits 1 if any request failed or the server did not stop cleanly.

    python benchmarks/load_emulator.py [--threads 32] [--requests 20000] [--seconds 15]
"""

from __future__ import annotations

import argparse
import http.client
import re
import selectors
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import List, Tuple

V = "2025-04-07"
#: (target, expected content type prefix): full document, leaf, listing, subtree, versions, LB.
MIX = (
    (f"/metadata/instance?api-version={V}", "application/json"),
    (f"/metadata/instance/compute/vmId?api-version={V}&format=text", "text/plain"),
    (f"/metadata/instance/compute?api-version={V}&format=text", "text/plain"),
    (f"/metadata/instance/network/interface/0?api-version={V}", "application/json"),
    ("/metadata/versions", "application/json"),
    (f"/metadata/loadbalancer?api-version={V}", "application/json"),
)


def start_server() -> Tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "imdsctl.emulator.cli", "serve", "--port", "0", "--no-throttle"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    with selectors.DefaultSelector() as selector:
        selector.register(server.stdout, selectors.EVENT_READ)
        ready = selector.select(15)
    match = re.fullmatch(r"IMDS emulator listening on http://127\.0\.0\.1:(\d+)\n",
                         server.stdout.readline() if ready else "")
    if not match:
        server.kill()
        sys.exit("the emulator did not start")
    return server, int(match.group(1))


class Budget:
    """Hands out request tickets until the count or the deadline runs out."""

    def __init__(self, requests: int, seconds: float):
        self._left = requests
        self._deadline = time.monotonic() + seconds
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0 or time.monotonic() >= self._deadline:
                return False
            self._left -= 1
            return True


def client(port: int, budget: Budget, offset: int, latencies: List[float], errors: List[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    i = offset
    while budget.take():
        target, content_type = MIX[i % len(MIX)]
        i += 1
        started = time.perf_counter()
        try:
            connection.request("GET", target, headers={"Metadata": "true"})
            response = connection.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200 or not response.getheader("Content-Type", "").startswith(content_type) \
                    or len(body) != int(response.getheader("Content-Length", -1)):
                errors.append(f"{target}: {response.status}")
            latencies.append(elapsed)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{target}: {type(exc).__name__}: {exc}")
            connection.close()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    server, port = start_server()
    budget = Budget(args.requests, args.seconds)
    latencies: List[float] = []
    errors: List[str] = []
    threads = [threading.Thread(target=client, args=(port, budget, n, latencies, errors))
               for n in range(args.threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    server.send_signal(signal.SIGINT)
    try:
        stopped_cleanly = server.wait(10) == 0
    except subprocess.TimeoutExpired:
        server.kill()
        stopped_cleanly = False

    done = len(latencies)
    cuts = statistics.quantiles(latencies, n=100) if done >= 2 else [float("nan")] * 99
    print(f"threads    {args.threads}")
    print(f"requests   {done} in {elapsed:.2f} s")
    print(f"throughput {done / elapsed:.0f} requests/s")
    print(f"latency    p50 {cuts[49] * 1000:.2f} ms   p99 {cuts[98] * 1000:.2f} ms")
    print(f"errors     {len(errors)}")
    for line in errors[:10]:
        print(f"  {line}")
    if not stopped_cleanly:
        print("the emulator did not exit 0 on SIGINT")
    return 0 if not errors and stopped_cleanly else 1


if __name__ == "__main__":
    sys.exit(main())
