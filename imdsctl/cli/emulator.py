"""emulator serve, emulator profiles, emulate: the IMDS emulator (imdsctl.emulator).

Exit codes: 0 ok; 2 usage error (bad profile, bad fault spec, cannot listen);
``emulate`` exits with its command's code (128+N if killed by signal N, 127
if the command is not found, 126 if it cannot be run).
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import click

from ..emulator.events import SYNTAX as EVENT_SYNTAX
from ..emulator.events import EventSpec, EventSpecError
from ..emulator.faults import SYNTAX, Fault, FaultSpecError
from ..emulator.profiles import DEFAULT_PROFILE, Profile, ProfileError, list_profiles, load_profile
from ..emulator.throttle import DEFAULT_RATE
from ..output import Result, render
from ..terminal import note
from .options import FiniteRange

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


def _emulator_kwargs(no_throttle: bool, faults: Sequence[Fault], events: Sequence[EventSpec],
                     **options: Any) -> Dict[str, Any]:
    """Emulator keyword arguments from the options of `serve` and `emulate`."""
    return {"throttle": not no_throttle, "faults": faults, "events": events, **options}


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
        click.option("--events-time-factor", type=FiniteRange(min=0, min_open=True, max=1000), default=1.0,
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
        click.option("--attested-validity", type=FiniteRange(min=0, min_open=True, max=366 * 86400),
                     metavar="SECONDS", help="Validity of attested documents [default: 21600, 6 h]."),
        click.option("--attested-ca-out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
                     help="Write the CA certificates attested documents chain to (PEM), for "
                          "'imdsctl attested verify --ca-file FILE', before serving."),
        click.option("-v", "--verbose", is_flag=True, help="Log every request to stderr."),
    )
    for option in reversed(options):
        command = option(command)
    return command




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
    from ..emulator.run import start, wait_for_signal

    if not _is_loopback(host):
        note(f"warning: {host} is not a loopback address; other machines can reach this emulator")
    imds = start(host, port, **_emulator_kwargs(**options))
    try:
        render(Result(f"IMDS emulator listening on {imds.url}"), "text")
        wait_for_signal()
    finally:
        imds.stop()


@emulator.command()
def profiles() -> None:
    """List the built-in profiles: name, tab, description."""
    render(Result(list_profiles()), "text")


@click.command(epilog=FAULT_EPILOG,
               context_settings={"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]})
@emulator_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def emulate(command: Tuple[str, ...], **options: Any) -> int:
    """Run COMMAND against an emulator on a free loopback port.

    COMMAND runs with IMDSCTL_ENDPOINT and AZURE_POD_IDENTITY_AUTHORITY_HOST
    set to the emulator's URL; its exit code becomes this command's.  SIGINT
    and SIGTERM are passed on to it.  Example:

        imdsctl emulate --profile spot-vmss -- imdsctl compute priority
    """
    from ..emulator.run import run, start

    imds = start("127.0.0.1", 0, **_emulator_kwargs(**options))
    try:
        return run(command, {**os.environ, **imds.environment})
    finally:
        imds.stop()


