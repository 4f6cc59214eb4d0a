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
    from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

#: The options of each command the fast path answers, taking one value, and its flags
#: (as the click commands define them: anything else is the CLI's to take or refuse).
_SHARED = {"--endpoint", "--api-version", "--timeout", "-o", "--output", "-q", "--query", "--prefix",
           "--max-age"}
_VALUED = {"get": _SHARED, "compute": _SHARED, "network": _SHARED | {"--nic", "--ip"}}
_FLAGS = {"get": {"--allow-missing"}, "compute": {"--allow-missing", "--all"},
          "network": {"--allow-missing"}}


def _parse(argv: List[str]) -> Optional[Tuple[str, List[str], Dict[str, str]]]:
    """(command, positionals, options) for a command line of the plain form;
    shared options may come before the command's name too, the later winning.
    A flag is an option with the value ""."""
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
        if word in _FLAGS[command]:
            options[word] = ""
        elif not word.startswith("-") or word == "-":
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
    options[{"-o": "--output", "-q": "--query"}.get(name, name)] = value
    return True


def answer(argv: List[str], environ: Mapping[str, str], began: Optional[float] = None) -> Optional[int]:
    """Exit code when the fast path answered, None to let the CLI answer."""
    asked = _asked(argv, environ)
    if asked is None:
        return None
    from imdsctl import instance
    from imdsctl.errors import ImdsctlError
    from imdsctl.imds.quick import Unusual
    from imdsctl.ui import terminal
    from imdsctl.ui.render import render

    settings, options, command, positionals = asked
    imds = quick_session(settings, (began or time.monotonic()) + settings.timeout)
    flag = options.__contains__
    try:
        imds.use_cache(float(options.get("--max-age", environ.get("IMDSCTL_MAX_AGE", "0"))))
        if command == "get":
            result = instance.get(imds, positionals, flag("--allow-missing"))
        elif command == "compute":
            result = instance.compute(imds, positionals, allow_missing=flag("--allow-missing"),
                                   everything=flag("--all"))
        else:
            nic = int(options["--nic"]) if "--nic" in options else None
            result = instance.network(imds, positionals, nic, int(options.get("--ip", "0")),
                                   allow_missing=flag("--allow-missing"))
    except (Unusual, ImdsctlError):
        return None  # the CLI answers it, or explains it, in its own words
    try:
        return render(result, options.get("--output"), asked.query,
                      env_prefix=options.get("--prefix", "IMDS_"))
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ImdsctlError as err:  # the output could not be written, or the query failed on the data
        return terminal.report(err)


def quick_session(settings: Any, deadline: float) -> Any:
    """A Session whose requests take the plain happy path (Unusual otherwise)."""
    from imdsctl.imds.quick import QuickClient
    from imdsctl.session import Session

    class QuickSession(Session):
        @property
        def client(self) -> Any:
            if self._client is None:
                self._client = self.varlink() or QuickClient(self.settings.endpoint,
                                                             self.settings.api_version, deadline)
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
    for name, variable in (("--endpoint", "IMDSCTL_ENDPOINT"), ("--api-version", "IMDSCTL_API_VERSION"),
                           ("--timeout", "IMDSCTL_TIMEOUT"), ("--output", "IMDSCTL_OUTPUT"),
                           ("--max-age", "IMDSCTL_MAX_AGE")):
        if name not in options and environ.get(variable):
            options[name] = environ[variable]
    from imdsctl import catalog
    from imdsctl.session import Settings, check_api_version
    from imdsctl.ui.render import FORMATS, check_env_prefix, compile_query

    try:
        max_age, timeout = float(options.get("--max-age", "0")), float(options.get("--timeout", "30"))
        nic, ip = int(options.get("--nic", "0")), int(options.get("--ip", "0"))
        check_env_prefix(options.get("--prefix", "IMDS_"))
        query = compile_query(options["--query"]) if "--query" in options else None
        check_api_version(options.get("--api-version") or "latest")
    except ValueError:
        return None
    if any("://" in p or "?" in p for p in positionals):  # a pasted URL or query: the CLI says what it used
        return None
    if not (0 < timeout <= 86400 and 0 <= max_age < float("inf")) or nic < 0 or ip < 0:
        return None
    if options.get("--output") not in (None, *FORMATS):
        return None
    via = environ.get("IMDSCTL_VIA") or "auto"
    if via not in ("auto", "imds", "systemd-imds"):
        return None
    settings = Settings(options.get("--endpoint", catalog.DEFAULT_ENDPOINT),
                        options.get("--api-version") or None, timeout, via=via)
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
    code = answer(sys.argv[1:], os.environ, began)
    if code is None:
        from imdsctl.cli import main as cli_main

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
