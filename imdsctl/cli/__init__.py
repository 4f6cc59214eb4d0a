"""The imdsctl command line: the only package that imports click (with _docgen).

    COMMANDS        every top-level command and the module of this package defining it
    options.py      the shared options and ``imds_command``: parse, open a Session,
                    call the domain, render the Result
    instance.py     get, compute, network, loadbalancer, versions
    wait.py         wait
    events.py       events list, ack, watch, unit
    identity.py     identity token, info
    attested.py     attested, attested verify
    support.py      collect, doctor, diff
    emulator.py     emulator serve, emulator profiles, emulate
    completion.py   completion
    manpage.py      man

Commands only parse and raise: the one error path is ``ImdsGroup.main``
(every failure, typed or not, is reported there by terminal.report).
Command modules are imported when their command runs, so that reading a
value never pays for the emulator, events or attested code.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from typing import Any, Dict, Iterator, List, Optional, Tuple

import click

from imdsctl import __version__
from imdsctl.cli import hints
from imdsctl.cli.helptext import EPILOG, unbroken_words
from imdsctl.cli.options import DEBUG, global_options, remember_globals, suggesting
from imdsctl.errors import ExitCode, ImdsctlError, InternalError, Interrupted, UsageError
from imdsctl.imds.handover import Attempt
from imdsctl.ui import terminal

#: Every top-level command: name -> (module of this package, attribute).
COMMANDS: Dict[str, Tuple[str, str]] = {
    "get": ("instance", "get"),
    "compute": ("instance", "compute"),
    "network": ("instance", "network"),
    "loadbalancer": ("instance", "loadbalancer"),
    "versions": ("instance", "versions"),
    "wait": ("wait", "wait"),
    "events": ("events", "events"),
    "identity": ("identity", "identity"),
    "attested": ("attested", "attested"),
    "collect": ("support", "collect"),
    "doctor": ("support", "doctor"),
    "diff": ("support", "diff"),
    "emulator": ("emulator", "emulator"),
    "emulate": ("emulator", "emulate"),
    "completion": ("completion", "completion"),
    "man": ("manpage", "man"),
}


class ImdsGroup(click.Group):
    """The top-level group: the command table, and the one error path."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name in COMMANDS and name not in self.commands:
            module, attr = COMMANDS[name]
            self.add_command(getattr(importlib.import_module(f"{__name__}.{module}"), attr), name)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: click.Context, args: List[str]) -> Any:
        return suggesting(super().resolve_command, self, ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with unbroken_words():
            super().format_help(ctx, formatter)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _quiet_when_the_reader_goes():  # `imdsctl --help | head`
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a failure that is not click's becomes a typed error here."""
        try:
            with _quiet_when_the_reader_goes():  # every subcommand, its --help included
                return super().invoke(ctx)
        except (ImdsctlError, click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        except Exception as exc:  # a bug: say so in one line, traceback only with --debug
            debug = bool(ctx.meta.get(DEBUG))
            if debug:
                traceback.print_exc()
            raise InternalError.of(exc, detail=debug) from None

    def main(self, args: Any = None, prog_name: Optional[str] = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run, and report every failure in one or two lines: typed errors with
        their exit code, usage errors 2, Ctrl-C 130."""
        try:
            # Without standalone mode click returns Exit's code, or the command's return value.
            returned = super().main(args, prog_name or "imdsctl", complete_var,
                                    standalone_mode=False, **extra)
            code = returned if isinstance(returned, int) else ExitCode.OK
        except ImdsctlError as err:
            code = terminal.report(err, hints.hint(err))
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
                # `imdsctl` or `imdsctl events` alone: the help, as click 8.1 and az give it
                click.echo(exc.ctx.get_help())
                return self._exit(ExitCode.OK, standalone_mode)
            path = " ".join(["imdsctl", *exc.ctx.command_path.split()[1:]]) if exc.ctx else "imdsctl"
            message = " ".join(exc.format_message().split())  # click's "Choose from:\n\t..." on one line
            code = terminal.report(UsageError(message, f"see '{path} --help'"))
        except click.ClickException as exc:
            terminal.note(exc.format_message())
            code = exc.exit_code
        except (KeyboardInterrupt, click.exceptions.Abort):
            code = terminal.report(Interrupted("interrupted"))
        return self._exit(code, standalone_mode)

    @staticmethod
    def _exit(code: int, standalone_mode: bool) -> int:
        if not standalone_mode:
            return int(code)
        sys.exit(int(code))


@contextlib.contextmanager
def _quiet_when_the_reader_goes() -> Iterator[None]:
    """A closed stdout pipe (`| head`) ends the command with exit 0, not an error:
    stdout then points at /dev/null so that the final flush is quiet too."""
    try:
        yield
    except BrokenPipeError:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise click.exceptions.Exit(ExitCode.OK) from None


def version_message() -> str:
    """What --version prints: the version, and the archive when imdsctl runs from its zipapp."""
    import imdsctl

    archive = getattr(getattr(imdsctl, "__loader__", None), "archive", None)  # a zipimporter's
    return "%(prog)s %(version)s" + (f" (zipapp {archive.replace('%', '%%')})" if archive else "")


@click.group("imdsctl", cls=ImdsGroup, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="imdsctl", message=version_message())
@global_options
@click.pass_context
def cli(ctx: click.Context, **shared: Any) -> None:
    """Read the Azure Instance Metadata Service (IMDS) from scripts and terminals.

    Every request carries 'Metadata: true', never goes through a proxy, and is
    retried within one time budget. Off Azure, point it at the emulator:
    'imdsctl emulate -- imdsctl compute vm-id'.

    The options below are those of the commands, accepted before the
    command's name too; given both ways, the one after the name wins.
    """
    remember_globals(ctx, shared)


def main(handover: Optional[Attempt] = None) -> int:
    """Run the CLI on sys.argv and return its exit code; ``handover`` is the
    fast path's attempt at this command's request (imdsctl.imds.handover), for
    the command's client to take as its own."""
    # Pay only for what a command uses (measured with python -X importtime):
    # httpx's __init__ imports httpx._main, its own command line, which pulls in
    # rich and pygments whenever they are installed (~35 ms), and httpcore
    # imports anyio for its async primitives (~8 ms); imdsctl runs neither.
    # Both imports are guarded by `except ImportError` in those libraries (for
    # installs without them), and a None entry in sys.modules takes that path.
    # Only the imdsctl process is affected, never a program importing imdsctl.
    for unused in ("httpx._main", "anyio"):
        sys.modules.setdefault(unused, None)  # type: ignore[arg-type]
    return cli.main(prog_name="imdsctl", standalone_mode=False, obj=handover)
