"""The emulator's commands: ``imdsctl emulator serve|profiles`` and ``imdsctl emulate``.

Exit codes: 0 ok; 2 usage error (bad profile, bad fault spec, cannot listen);
``emulate`` exits with its command's code (128+N if killed by signal N, 127
if the command is not found, 126 if it cannot be run).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, Tuple

import click

from .events import SYNTAX as EVENT_SYNTAX
from .events import EventSpec, EventSpecError
from .faults import SYNTAX, Fault, FaultSpecError
from .profiles import DEFAULT_PROFILE, Profile, ProfileError, list_profiles, load_profile
from .throttle import DEFAULT_RATE

if TYPE_CHECKING:
    from .server import Emulator

FAULT_EPILOG = "\b\nFault specs (--fault; a request uses the first matching one):\n" \
    + "\n".join("  " + line for line in SYNTAX.splitlines()) \
    + "\n\n\b\nScheduled events (--event; Scheduled -> Started -> gone):\n" \
    + "\n".join("  " + line for line in EVENT_SYNTAX.splitlines())


class ProfileParam(click.ParamType):
    """A built-in profile name or a JSON file, loaded and validated."""

    name = "profile"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Profile:
        if isinstance(value, Profile):
            return value
        try:
            return load_profile(value)
        except ProfileError as exc:
            self.fail(str(exc), param, ctx)


class FaultParam(click.ParamType):
    """A fault spec such as ``410*3@/metadata/instance``."""

    name = "spec"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Fault:
        if isinstance(value, Fault):
            return value
        try:
            return Fault.parse(value)
        except FaultSpecError as exc:
            self.fail(str(exc), param, ctx)


class EventParam(click.ParamType):
    """A scheduled-event spec such as ``Preempt@30``."""

    name = "event"

    def convert(self, value: Any, param: Optional[click.Parameter],
                ctx: Optional[click.Context]) -> EventSpec:
        if isinstance(value, EventSpec):
            return value
        try:
            return EventSpec.parse(value)
        except EventSpecError as exc:
            self.fail(str(exc), param, ctx)


def emulator_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `serve` and `emulate` share."""
    options = (
        click.option("--profile", type=ProfileParam(), default=DEFAULT_PROFILE, show_default=True,
                     help="Built-in profile (see 'imdsctl emulator profiles') or a JSON file: "
                          "an instance document or {\"instance\": ..., \"loadbalancer\": ...}."),
        click.option("--no-throttle", is_flag=True,
                     help="Do not rate-limit (IMDS answers 429 beyond 5 requests per second)."),
        click.option("--rate", type=click.IntRange(min=1), default=DEFAULT_RATE, show_default=True,
                     help="Requests per second allowed per client before 429."),
        click.option("--fault", "faults", type=FaultParam(), multiple=True, metavar="SPEC",
                     help="Inject a fault; repeatable (syntax below)."),
        click.option("--event", "events", type=EventParam(), multiple=True, metavar="EVENT",
                     help="Schedule a scheduled event; repeatable (syntax below)."),
        click.option("--events-time-factor", type=click.FloatRange(min=0, min_open=True), default=1.0,
                     show_default=True, metavar="FACTOR",
                     help="Scale every scheduled-event time: 0.01 turns 15 minutes into 9 s."),
        click.option("--events-enable-delay", type=click.FloatRange(min=0), default=0.0,
                     metavar="SECONDS",
                     help="Delay the first scheduled-events answer, as IMDS does while enabling "
                          "them (up to 120 s on a VM)."),
        click.option("--control", is_flag=True,
                     help="Serve the control channel on the same port: /_emulator/faults (GET, POST, "
                          "DELETE), /_emulator/requests (GET, DELETE), /_emulator/throttle/reset (POST), "
                          "/_emulator/events (GET, POST, DELETE)."),
        click.option("--attested-ca", type=click.Path(exists=True, dir_okay=False), metavar="CERT.pem",
                     help="Sign attested documents with a leaf issued by this CA certificate "
                          "(with --attested-key) instead of a generated root and intermediate."),
        click.option("--attested-key", type=click.Path(exists=True, dir_okay=False), metavar="KEY.pem",
                     help="The unencrypted private key of --attested-ca."),
        click.option("--attested-validity", type=click.FloatRange(min=0, min_open=True),
                     metavar="SECONDS", help="Validity of attested documents [default: 21600, 6 h]."),
        click.option("--attested-ca-out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
                     help="Write the CA certificates attested documents chain to (PEM), for "
                          "'imdsctl attested verify --ca-file FILE', before serving."),
        click.option("-v", "--verbose", is_flag=True, help="Log every request to stderr."),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _emulator(host: str, port: int, profile: Profile, no_throttle: bool, rate: int,
              faults: Sequence[Fault], events: Sequence[EventSpec], events_time_factor: float,
              events_enable_delay: float, control: bool, verbose: bool, attested_ca: Optional[str],
              attested_key: Optional[str], attested_validity: Optional[float],
              attested_ca_out: Optional[str]) -> Emulator:
    """A started emulator, or exit 2 with one line saying why HOST:PORT cannot be served."""
    from .server import Emulator  # here: `imdsctl --help` need not import http.server

    if (attested_ca is None) != (attested_key is None):
        raise click.UsageError("--attested-ca and --attested-key go together")
    try:
        imds = Emulator(profile, host, port, throttle=not no_throttle, rate=rate, faults=faults,
                        control=control, verbose=verbose, events=events,
                        events_time_factor=events_time_factor, events_enable_delay=events_enable_delay,
                        attested_ca=attested_ca, attested_key=attested_key,
                        attested_validity=attested_validity)
        if attested_ca_out is not None:
            Path(attested_ca_out).write_bytes(imds.attested_ca_pem)
    except ImportError:
        click.echo("imdsctl: signing attested documents needs the 'cryptography' package", err=True)
        click.echo("hint: pip install 'imdsctl[attested]'", err=True)
        raise click.exceptions.Exit(2) from None
    except (ValueError, OSError) as exc:
        click.echo(f"imdsctl: attested CA: {exc}", err=True)
        raise click.exceptions.Exit(2) from None
    try:
        return imds.start()
    except OSError as exc:
        click.echo(f"imdsctl: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise click.exceptions.Exit(2) from None


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def emulator() -> None:
    """Run a local Azure IMDS emulator, for tests and demos."""


@emulator.command(epilog=FAULT_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; keep it a loopback address.")
@click.option("--port", type=click.IntRange(0, 65535), default=8169, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@emulator_options
def serve(host: str, port: int, **options: Any) -> None:
    """Serve IMDS until SIGINT or SIGTERM.

    The first line on stdout is 'IMDS emulator listening on http://HOST:PORT'.
    """
    if not _is_loopback(host):
        click.echo(f"imdsctl: warning: {host} is not a loopback address; "
                   "other machines can reach this emulator", err=True)
    imds = _emulator(host, port, **options)
    try:
        click.echo(f"IMDS emulator listening on {imds.url}")
        _wait_for_signal()
    finally:
        imds.stop()


@emulator.command()
def profiles() -> None:
    """List the built-in profiles: name, tab, description."""
    for name, description in list_profiles().items():
        click.echo(f"{name}\t{description}")


@click.command(epilog=FAULT_EPILOG,
               context_settings={"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]})
@emulator_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def emulate(command: Tuple[str, ...], **options: Any) -> None:
    """Run COMMAND against an emulator on a free loopback port.

    COMMAND runs with IMDSCTL_ENDPOINT and AZURE_POD_IDENTITY_AUTHORITY_HOST
    set to the emulator's URL; its exit code becomes this command's.  SIGINT
    and SIGTERM are passed on to it.  Example:

        imdsctl emulate --profile spot-vmss -- imdsctl compute priority
    """
    imds = _emulator("127.0.0.1", 0, **options)
    try:
        code = _run(command, {**os.environ, **imds.environment})
    finally:
        imds.stop()
    raise click.exceptions.Exit(code)


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    received = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: received.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not received.wait(1.0):  # a timeout keeps Ctrl-C working on Windows
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(command: Sequence[str], env: Dict[str, str]) -> int:
    """Run ``command`` to completion, passing SIGINT and SIGTERM on; its exit code."""
    try:
        child = subprocess.Popen(list(command), env=env)
    except FileNotFoundError:
        click.echo(f"imdsctl: command not found: {command[0]}", err=True)
        return 127
    except OSError as exc:
        click.echo(f"imdsctl: cannot run {command[0]}: {exc.strerror or exc}", err=True)
        return 126

    def forward(signum: int, frame: Any) -> None:
        child.send_signal(signum)

    # Ctrl-C in a terminal already reaches the child (same foreground process
    # group): passing it on as well would interrupt it twice.
    on_sigint = (lambda *_: None) if _terminal_sends_sigint() else forward
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, on_sigint),
                signal.SIGTERM: signal.signal(signal.SIGTERM, forward)}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def _terminal_sends_sigint() -> bool:
    """Whether we are the foreground process group of a controlling terminal."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except (AttributeError, OSError):  # no job control (Windows) or no terminal
            pass
    return False


if __name__ == "__main__":
    emulator(prog_name="imdsctl emulator")
