"""Time imdsctl against curl, curl|jq and a naive httpx one-liner, side by side.

Runs the IMDS emulator in this process on 127.0.0.1 (throttling off) and runs
each contender as a fresh process, N times, reporting the median wall time,
the ratio to imdsctl, and imdsctl's peak memory (ru_maxrss of the child).

    python benchmarks/bench_cli.py [--runs N]

Targets (README): a single leaf at least 30% faster than the naive
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


def measure(argv, env, runs):
    run_once(argv, env)  # warm the page cache and .pyc files
    samples = [run_once(argv, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


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
        rows = []
        ours, ours_rss = measure([imdsctl, "compute", "vmid"], env, args.runs)
        rows.append(("imdsctl compute vmid", ours, ours_rss))
        base, _ = measure([sys.executable, "-c", naive], env, args.runs)
        rows.append(("naive python -c 'import click, httpx; httpx.get(...)'", base, None))
        has_curl, has_jq = shutil.which("curl"), shutil.which("jq")
        if has_curl:
            curl, _ = measure(["curl", "-s", "--noproxy", "*", "-H", "Metadata: true", leaf_url],
                              env, args.runs)
            rows.append(("curl (one leaf)", curl, None))
        run_once([imdsctl, "get", "--max-age", "3600", "-o", "none"], env)  # take the snapshot
        cached, cached_rss = measure([imdsctl, "compute", "vmid", "--max-age", "3600"], env, args.runs)
        rows.append(("imdsctl compute vmid --max-age 3600 (snapshot hit)", cached, cached_rss))
        paths = [f"compute/{f}" for f in FIELDS]
        ten, ten_rss = measure(["sh", "-c", f"{imdsctl} get -o tsv " + " ".join(paths)], env, args.runs)
        rows.append(("imdsctl get -o tsv (10 fields, 1 call)", ten, ten_rss))
        if has_curl and has_jq:
            script = "\n".join(
                f"curl -s --noproxy '*' -H 'Metadata: true' '{doc_url}' | jq -r .compute.{f}"
                for f in FIELDS)
            ten_jq, _ = measure(["sh", "-c", script], env, args.runs)
            rows.append(("10 x curl | jq", ten_jq, None))
    print(f"{'contender':58s} {'median':>9s} {'peak RSS':>10s}")
    for name, seconds, rss in rows:
        print(f"{name:58s} {seconds * 1000:7.1f}ms {'' if rss is None else f'{rss / 1024:7.1f}MiB':>10s}")
    verdicts = [("single leaf vs naive httpx one-liner", ours / base, 0.70)]
    if has_curl and has_jq:
        verdicts.append(("10 fields vs 10 curl|jq", ten / ten_jq, 0.70))
    if has_curl:
        verdicts.append(("cached leaf vs curl", cached / curl, 5.0))
    print()
    failed = False
    for name, ratio, target in verdicts:
        ok = ratio <= target
        failed |= not ok
        print(f"{name:40s} ratio {ratio:5.2f} (target <= {target:.2f}) {'ok' if ok else 'MISSED'}")
    peak = max(ours_rss, ten_rss) / 1024
    ok = peak < 30
    failed |= not ok
    print(f"{'peak memory':40s} {peak:5.1f} MiB (target < 30) {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
