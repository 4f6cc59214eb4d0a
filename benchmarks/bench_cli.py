"""Time imdsctl against curl, curl|jq and a naive httpx one-liner, side by side.

Runs the IMDS emulator in this process on 127.0.0.1 (throttling off) and runs
each contender as a fresh process, N times, reporting the median wall time,
the ratio to imdsctl, and imdsctl's peak memory (ru_maxrss of the child).

    python benchmarks/bench_cli.py [--runs N]

Targets (checked here): a single leaf at least 30% faster than the naive
`python -c "import click, httpx; httpx.get(...)"`; ten fields in one call at
least 30% faster than ten curl|jq calls; peak memory under 30 MiB; a cached
leaf (--max-age, a snapshot hit) at most 5x a curl call. Exit 1 if a target is
missed. Bounded: N runs per contender, nothing else.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from imdsctl import catalog
from imdsctl.emulator import Emulator

FIELDS = ["vmId", "location", "name", "vmSize", "zone", "resourceGroupName", "subscriptionId",
          "osType", "priority", "azEnvironment"]


def run_once(argv, env):
    """Wall seconds and peak RSS (KiB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]}... failed with {proc.returncode}: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def measure(contenders, env, runs):
    """{name: (median seconds, peak RSS KiB)}, the contenders taking turns run
    after run, so that a busy moment of the machine falls on all of them."""
    samples = {name: [] for name in contenders}
    for argv in contenders.values():
        run_once(argv, env)  # warm the page cache and .pyc files
    for _ in range(runs):
        for name, argv in contenders.items():
            samples[name].append(run_once(argv, env))
    return {name: (statistics.median(s[0] for s in got), max(s[1] for s in got))
            for name, got in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    bindir = os.path.dirname(sys.executable)
    imdsctl = shutil.which("imdsctl", path=bindir) or shutil.which("imdsctl")
    if imdsctl is None:
        raise SystemExit("imdsctl is not installed next to this python")
    with Emulator(throttle=False) as emulator:
        env = dict(os.environ, IMDSCTL_ENDPOINT=emulator.url,
                   IMDSCTL_CACHE_DIR=tempfile.mkdtemp(prefix="imdsctl-bench-"))
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(name, None)
        version = catalog.DEFAULT_API_VERSION
        leaf_url = f"{emulator.url}/metadata/instance/compute/vmId?api-version={version}&format=text"
        doc_url = f"{emulator.url}/metadata/instance?api-version={version}"
        naive = f"import click, httpx; print(httpx.get({leaf_url!r}, headers={{'Metadata': 'true'}}).text)"
        has_curl, has_jq = shutil.which("curl"), shutil.which("jq")
        paths = [f"compute/{f}" for f in FIELDS]
        contenders = {
            "imdsctl compute vmid": [imdsctl, "compute", "vmid"],
            "naive python -c 'import click, httpx; httpx.get(...)'": [sys.executable, "-c", naive],
            "imdsctl compute vmid --max-age 3600 (snapshot hit)":
                [imdsctl, "compute", "vmid", "--max-age", "3600"],
            "imdsctl get -o tsv (10 fields, 1 call)":
                ["sh", "-c", f"{imdsctl} get -o tsv " + " ".join(paths)],
        }
        if has_curl:
            contenders["curl (one leaf)"] = ["curl", "-s", "--noproxy", "*", "-H", "Metadata: true",
                                             leaf_url]
        if has_curl and has_jq:
            contenders["10 x curl | jq"] = ["sh", "-c", "\n".join(
                f"curl -s --noproxy '*' -H 'Metadata: true' '{doc_url}' | jq -r .compute.{f}"
                for f in FIELDS)]
        run_once([imdsctl, "get", "--max-age", "3600", "-o", "none"], env)  # take the snapshot
        results = measure(contenders, env, args.runs)
    rows = [(name, seconds, rss if name.startswith("imdsctl") else None)
            for name, (seconds, rss) in results.items()]
    ours = results["imdsctl compute vmid"][0]
    base = results["naive python -c 'import click, httpx; httpx.get(...)'"][0]
    ten = results["imdsctl get -o tsv (10 fields, 1 call)"][0]
    cached = results["imdsctl compute vmid --max-age 3600 (snapshot hit)"][0]
    print(f"{'contender':58s} {'median':>9s} {'peak RSS':>10s}")
    for name, seconds, rss in rows:
        print(f"{name:58s} {seconds * 1000:7.1f}ms {'' if rss is None else f'{rss / 1024:7.1f}MiB':>10s}")
    verdicts = [("single leaf vs naive httpx one-liner", ours / base, 0.70)]
    if has_curl and has_jq:
        verdicts.append(("10 fields vs 10 curl|jq", ten / results["10 x curl | jq"][0], 0.70))
    if has_curl:
        verdicts.append(("cached leaf vs curl", cached / results["curl (one leaf)"][0], 5.0))
    print()
    failed = False
    for name, ratio, target in verdicts:
        ok = ratio <= target
        failed |= not ok
        print(f"{name:40s} ratio {ratio:5.2f} (target <= {target:.2f}) {'ok' if ok else 'MISSED'}")
    peak = max(rss for _, _, rss in rows if rss is not None) / 1024
    ok = peak < 30
    failed |= not ok
    print(f"{'peak memory':40s} {peak:5.1f} MiB (target < 30) {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
