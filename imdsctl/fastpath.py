"""The console-script entry point, with a fast path for plain reads.

A boot script reads a value or ten and should not pay for click and httpx
each time (they are most of a cold command). When the command line is a
plain ``get``/``compute``/``network`` read, this module answers it with the
same code as the CLI (imdsctl.instance, imdsctl.ui.render, answers.validate),
importing neither click nor httpx: from a snapshot when --max-age asks for
one (imdsctl.imds.snapshot), else with one request over the standard library
(imdsctl.imds.quick). Anything else goes to the full click CLI, which answers
exactly as it always does, with what is left of the time budget: an option
this parser does not know (--debug, --help, --mac, ...), a value the CLI
would refuse (so that an exit code never depends on the path taken), any
answer but a plain 200 (retries, fall-backs and errors are the full
client's), any error to explain. The test suite runs its end-to-end tests
both ways and compares the bytes.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time: this is the start-up path
    from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

    from imdsctl.imds.handover import Attempt
    from imdsctl.imds.protocols import Client
    from imdsctl.session import Session, Settings

#: The commands the fast path answers, and the options it reads (by the click parameter's
#: name); how they are spelled, which take a value, their variables and defaults are the
#: CLI's, in imdsctl/fastpath_options.py, generated from the click tree (make docs).
#: Any other option on the command line is the CLI's to take or refuse.
COMMANDS = ("get", "compute", "network")
READS = frozenset({"endpoint", "api_version", "timeout", "output", "query", "env_prefix", "max_age",
                   "allow_missing", "everything", "nic", "ip"})


def _parse(argv: List[str]) -> Optional[Tuple[str, List[str], Dict[str, str]]]:
    """(command, positionals, options by name) for a command line of the plain
    form; shared options may come before the command's name too, the later
    winning. A flag is an option with the value ""."""
    from imdsctl.fastpath_options import FLAGS, SHARED, VALUED

    options: Dict[str, str] = {}
    words = iter(argv)
    for word in words:
        if word in VALUED:
            command, valued = word, VALUED[word]
            break
        if not _option(word, words, SHARED, options):
            return None
    else:
        return None
    positionals: List[str] = []
    for word in words:
        if word in FLAGS[command]:
            options[FLAGS[command][word]] = ""
        elif not word.startswith("-") or word == "-":
            positionals.append(word)
        elif not _option(word, words, valued, options):
            return None
    return command, positionals, options


def _option(word: str, words: Iterator[str], valued: Dict[str, str], options: Dict[str, str]) -> bool:
    """Take ``word`` (and its value) into ``options``; False when it is not one of ``valued``."""
    spelling, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
    if spelling not in valued:
        return False
    if not eq:
        taken = next(words, None)
        if taken is None:
            return False
        value = taken
    options[valued[spelling]] = value
    return True


def answer(argv: List[str], environ: Mapping[str, str], began: Optional[float] = None) -> Optional[int]:
    """Exit code when the fast path answered, None to let the CLI answer."""
    return respond(argv, environ, began)[0]


def respond(argv: List[str], environ: Mapping[str, str],
            began: Optional[float] = None) -> Tuple[Optional[int], Optional[Attempt]]:
    """(exit code, None) when the fast path answered; else (None, the attempt
    it made and did not handle, if any), for the CLI to answer with
    (``cli.main(handover=...)``), so that nothing is asked twice."""
    asked = _asked(argv, environ)
    if asked is None:
        return None, None
    from imdsctl import instance
    from imdsctl.errors import ImdsctlError
    from imdsctl.imds.quick import Unusual
    from imdsctl.ui import terminal
    from imdsctl.ui.render import render

    settings, options, command, positionals = asked
    imds = quick_session(settings, (began or time.monotonic()) + settings.timeout)
    flag = options.__contains__
    try:
        imds.use_cache(float(options["max_age"]))
        if command == "get":
            result = instance.get(imds, positionals, flag("allow_missing"))
        elif command == "compute":
            result = instance.compute(imds, positionals, allow_missing=flag("allow_missing"),
                                      everything=flag("everything"))
        else:
            nic = int(options["nic"]) if "nic" in options else None
            result = instance.network(imds, positionals, nic, int(options["ip"]),
                                      allow_missing=flag("allow_missing"))
    except Unusual as unusual:
        return None, unusual.attempt  # the CLI answers it, or explains it, in its own words
    except ImdsctlError:
        return None, None
    try:
        return render(result, options.get("output"), asked.query, env_prefix=options["env_prefix"]), None
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0, None
    except ImdsctlError as err:  # the output could not be written, or the query failed on the data
        return terminal.report(err), None


def quick_session(settings: Settings, deadline: float) -> Session:
    """A Session whose requests take the plain happy path (Unusual otherwise)."""
    from imdsctl.imds.quick import QuickClient
    from imdsctl.session import Session

    class QuickSession(Session):
        @property
        def client(self) -> Client:
            if self._client is None:
                # the reading half of a Client (instance, leaf, request): all a plain read asks
                quick: Any = self.varlink() or QuickClient(self.settings.endpoint,
                                                           self.settings.api_version, deadline)
                self._client = quick
            return self._client

        def close(self) -> None:
            pass

    return QuickSession(settings)


class _Asked(tuple):
    """(settings, options, command, positionals), and the compiled query."""

    query = None


def _asked(argv: List[str], environ: Mapping[str, str]) -> Optional[_Asked]:
    """What the command line asks, when the fast path can answer it as the CLI
    would: every value valid by the CLI's own rules (anything the CLI would
    refuse is left to it, so that the exit code never depends on the path)."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    command, positionals, options = parsed
    from imdsctl.fastpath_options import DEFAULTS, ENVIRONMENT

    for name, variable in ENVIRONMENT.items():
        if name not in options and environ.get(variable):
            options[name] = environ[variable]
    for name, default in DEFAULTS.items():
        options.setdefault(name, default)
    from imdsctl import catalog
    from imdsctl.errors import ImdsctlError
    from imdsctl.session import Settings, check_api_version
    from imdsctl.ui.render import FORMATS, check_env_prefix, compile_query

    try:
        max_age, timeout = float(options["max_age"]), float(options["timeout"])
        nic, ip = int(options.get("nic", "0")), int(options["ip"])
        check_env_prefix(options["env_prefix"])
        query = compile_query(options["query"]) if "query" in options else None
        check_api_version(options.get("api_version") or "latest")
    except ValueError:
        return None
    if any("://" in p or "?" in p for p in positionals):  # a pasted URL or query: the CLI says what it used
        return None
    if not (0 < timeout <= 86400 and 0 <= max_age < float("inf")) or nic < 0 or ip < 0:
        return None
    if options.get("output") not in (None, *FORMATS):
        return None
    via = environ.get("IMDSCTL_VIA") or "auto"
    if via not in ("auto", "imds", "systemd-imds"):
        return None
    try:
        settings = Settings(options.get("endpoint", catalog.DEFAULT_ENDPOINT),
                            options.get("api_version") or None, timeout, via=via)
    except ImdsctlError:  # a bad endpoint: the CLI refuses it in its own words
        return None
    asked = _Asked((settings, options, command, positionals))
    asked.query = query
    return asked


def main() -> None:
    """Console-script entry point: the fast path if it can answer, else the CLI."""
    began = time.monotonic()
    # Start-up is mostly imports, which allocate many objects and trigger the
    # cyclic garbage collector dozens of times for nothing: a larger first
    # generation saves ~8% of a request command (benchmarks/bench_cli.py), and
    # long-running commands (events watch, emulator serve) still collect.
    import gc

    gc.set_threshold(10_000, 10, 10)
    from imdsctl import session

    session.begin(began)  # the budget bounds the whole command, the fast path's attempt included
    code, attempt = respond(sys.argv[1:], os.environ, began)
    if code is None:
        from imdsctl.cli import main as cli_main

        code = cli_main(handover=attempt)
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
