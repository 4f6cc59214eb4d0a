"""The console-script entry point, with a fast path for cache hits.

A boot script that calls ``imdsctl compute vm-id --max-age 60`` twenty times
should not pay for click and httpx twenty times. When a cache is asked for
(--max-age or IMDSCTL_MAX_AGE) and the command line is a plain
``get``/``compute``/``network`` query, this module answers from the snapshot
with the same code as the CLI (imdsctl.views, imdsctl.output) - importing
neither click nor httpx. Anything else - a miss, an error to report, an
option it does not know (--query, --debug, --help ...) - goes to the full
click CLI, which answers it exactly as it always does; so does any value the
CLI would refuse, so that an exit code never depends on whether a snapshot
exists. tests/test_cache.py checks that both paths print the same bytes, and
that a write error is reported by the same code (terminal.report).
"""

from __future__ import annotations

import os
import sys
from typing import Dict, Iterator, List, Mapping, NamedTuple, Optional, Set, Tuple

#: The options of each command the fast path answers, each taking one value
#: (as the click commands define them: anything else is the CLI's to refuse).
_SHARED = {"--endpoint", "--api-version", "--timeout", "-o", "--output", "--prefix", "--max-age"}
_VALUED = {"get": _SHARED, "compute": _SHARED, "network": _SHARED | {"--nic", "--ip", "--mac"}}


def _parse(argv: List[str]) -> Optional[Tuple[str, List[str], Dict[str, str]]]:
    """(command, positionals, options) for a command line of the plain form;
    shared options may come before the command's name too, the later winning."""
    options: Dict[str, str] = {}
    words = iter(argv)
    for word in words:
        if word in _VALUED:
            command, valued = word, _VALUED[word]
            break
        if not _option(word, words, _SHARED, options):
            return None
    else:
        return None
    positionals: List[str] = []
    for word in words:
        if not word.startswith("-") or word == "-":
            positionals.append(word)
        elif not _option(word, words, valued, options):
            return None
    return command, positionals, options


def _option(word: str, words: Iterator[str], valued: Set[str], options: Dict[str, str]) -> bool:
    """Take ``word`` (and its value) into ``options``; False when it is not one of ``valued``."""
    name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
    if name not in valued:
        return False
    if not eq:
        taken = next(words, None)
        if taken is None:
            return False
        value = taken
    options["--output" if name == "-o" else name] = value
    return True


class _Asked(NamedTuple):
    command: str
    positionals: List[str]
    endpoint: str
    version: str
    timeout: float
    max_age: float
    output: Optional[str]
    prefix: str
    nic: Optional[int]
    ip: int


def _asked(argv: List[str], environ: Mapping[str, str]) -> Optional[_Asked]:
    """What the command line asks, when the fast path can answer it as the CLI
    would: every value valid by the CLI's own rules (anything the CLI would
    refuse is left to it, so that the exit code never depends on a snapshot)."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    command, positionals, options = parsed
    from . import catalog
    from .output import FORMATS, check_env_prefix

    try:
        max_age = float(options.get("--max-age", environ.get("IMDSCTL_MAX_AGE", "0")))
        timeout = float(options.get("--timeout", environ.get("IMDSCTL_TIMEOUT", "30")))
        nic = int(options["--nic"]) if "--nic" in options else None
        ip = int(options.get("--ip", "0"))
        prefix = check_env_prefix(options.get("--prefix", "IMDS_"))
    except ValueError:
        return None
    output = options.get("--output", environ.get("IMDSCTL_OUTPUT")) or None
    version = options.get("--api-version", environ.get("IMDSCTL_API_VERSION", ""))
    if not (0 < timeout <= 86400 and 0 < max_age < float("inf")) or output not in (None, *FORMATS):
        return None
    if version == "latest" or (nic or 0) < 0 or ip < 0 or command == "network" and "--mac" in options:
        return None
    endpoint = options.get("--endpoint", environ.get("IMDSCTL_ENDPOINT", catalog.DEFAULT_ENDPOINT))
    return _Asked(command, positionals, endpoint, version, timeout, max_age, output, prefix, nic, ip)


def answer(argv: List[str], environ: Mapping[str, str]) -> Optional[int]:
    """Exit code when the snapshot answered, None to let the CLI answer."""
    asked = _asked(argv, environ)
    if asked is None:
        return None
    from . import catalog
    from .cache import Cache

    document = Cache(asked.endpoint, asked.version or catalog.DEFAULT_API_VERSION).load(asked.max_age)
    if document is None:
        return None
    from . import terminal, views
    from .errors import ImdsctlError
    from .output import render
    from .session import Session, Settings

    class Snapshot(Session):
        """The snapshot alone: what needs a request (the load balancer) is the CLI's."""

        @property
        def client(self) -> object:
            raise LookupError("not in the snapshot")

    snapshot = Snapshot(Settings(asked.endpoint, asked.version or None, asked.timeout))
    snapshot.use_document(document)
    try:
        if asked.command == "get":
            result = views.get(snapshot, asked.positionals)
        elif asked.command == "compute":
            result = views.compute(snapshot, asked.positionals)
        else:
            result = views.network(snapshot, asked.positionals, asked.nic, asked.ip)
    except (ImdsctlError, LookupError, AttributeError, TypeError):
        return None  # the CLI explains it, from the same snapshot, in the same words
    try:
        return render(result, asked.output, None, env_prefix=asked.prefix)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ImdsctlError as err:  # the output could not be written: reported as the CLI reports it
        return terminal.report(err)


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
