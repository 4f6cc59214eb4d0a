"""The console-script entry point, with a fast path for cache hits.

A boot script that calls ``imdsctl compute vm-id --max-age 60`` twenty times
should not pay for click and httpx twenty times. When a cache is asked for
(--max-age or IMDSCTL_MAX_AGE) and the command line is a plain
``get``/``compute``/``network`` query, this module answers from the snapshot
with the same code as the CLI (imdsctl.views, imdsctl.output) - importing
neither click nor httpx. Anything else - a miss, an error to report, an
option it does not know (--query, --debug, --help ...) - goes to the full
click CLI, which answers it exactly as it always does. tests/test_cache.py
checks that both paths print the same bytes.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, List, Mapping, Optional, Tuple

#: The options of each command the fast path answers, each taking one value
#: (as the click commands define them: anything else is the CLI's to refuse).
_SHARED = {"--endpoint", "--api-version", "--timeout", "-o", "--output", "--prefix", "--max-age"}
_VALUED = {"get": _SHARED, "compute": _SHARED, "network": _SHARED | {"--nic", "--ip", "--mac"}}


def _parse(argv: List[str]) -> Optional[Tuple[str, List[str], Dict[str, str]]]:
    """(command, positionals, options) for a command line of the plain form."""
    if not argv or argv[0] not in _VALUED:
        return None
    valued = _VALUED[argv[0]]
    positionals: List[str] = []
    options: Dict[str, str] = {}
    words = iter(argv[1:])
    for word in words:
        if not word.startswith("-") or word == "-":
            positionals.append(word)
            continue
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name not in valued:
            return None
        if not eq:
            value = next(words, None)
            if value is None:
                return None
        options["--output" if name == "-o" else name] = value
    return argv[0], positionals, options


def answer(argv: List[str], environ: Mapping[str, str]) -> Optional[int]:
    """Exit code when the snapshot answered, None to let the CLI answer."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    command, positionals, options = parsed
    try:
        max_age = float(options.get("--max-age", environ.get("IMDSCTL_MAX_AGE", "0")))
        timeout = float(options.get("--timeout", environ.get("IMDSCTL_TIMEOUT", "30")))
        nic, ip = int(options.get("--nic", "0")), int(options.get("--ip", "0"))
    except ValueError:
        return None
    if timeout <= 0:
        return None
    from . import catalog
    from .output import FORMATS, is_env_prefix

    endpoint = options.get("--endpoint", environ.get("IMDSCTL_ENDPOINT", catalog.DEFAULT_ENDPOINT))
    version = options.get("--api-version", environ.get("IMDSCTL_API_VERSION", ""))
    output = options.get("--output", environ.get("IMDSCTL_OUTPUT")) or None
    if max_age <= 0 or version == "latest" or output not in (None, *FORMATS) or nic < 0 or ip < 0 \
            or not is_env_prefix(options.get("--prefix", "IMDS_")):  # the CLI refuses a bad prefix
        return None
    if command != "get" and len(positionals) > 1 or command == "network" and "--mac" in options:
        return None
    from .cache import Cache

    document = Cache(endpoint, version or catalog.DEFAULT_API_VERSION).load(max_age)
    if document is None:
        return None
    from . import views
    from .errors import ImdsctlError
    from .output import render
    from .session import Session, Settings

    class Snapshot(Session):
        """The snapshot alone: what needs a request (the load balancer) is the CLI's."""

        @property
        def client(self) -> object:
            raise LookupError("not in the snapshot")

    snapshot = Snapshot(Settings(endpoint, version or None, timeout))
    snapshot.use_document(document)
    field = positionals[0] if positionals else None
    try:
        if command == "get":
            result = views.get(snapshot, tuple(positionals))
        elif command == "compute":
            result = views.compute(snapshot, field)
        else:
            result = views.network(snapshot, field, nic, ip, None)
    except (ImdsctlError, LookupError, AttributeError, TypeError):
        return None
    try:
        render(result, output, None, env_prefix=options.get("--prefix", "IMDS_"))
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def main() -> None:
    """Console-script entry point: the snapshot if it can answer, else the CLI."""
    # Start-up is mostly imports, which allocate many objects and trigger the
    # cyclic garbage collector dozens of times for nothing: a larger first
    # generation saves ~8% of a request command (benchmarks/bench_cli.py), and
    # long-running commands (events watch, emulator serve) still collect.
    import gc

    gc.set_threshold(10_000, 10, 10)
    code = answer(sys.argv[1:], os.environ)
    if code is None:
        from .cli import main as cli_main

        code = cli_main()
    _exit(code)


def _exit(code: int) -> None:
    """Flush what the command wrote and end the process without tearing the
    interpreter down module by module: with click and httpx loaded that
    teardown costs ~15 ms, more than the request. Every command has closed
    its files, connections, servers and child processes by the time it
    returns, and imdsctl registers no atexit handler."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to say
            pass
    os._exit(code)
