"""emulator serve, emulator profiles, emulate: the IMDS emulator (imdsctl.emulator).

Exit codes: 0 ok; 2 usage error (bad profile, bad fault spec, cannot listen,
no network namespace for --link-local); ``emulate`` exits with its command's
code (128+N if killed by signal N, 127 if the command is not found, 126 if it
cannot be run).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any, Callable, Dict, Sequence, Tuple

import click
from click.shell_completion import CompletionItem

from imdsctl.cli.helptext import fit_block
from imdsctl.cli.options import FiniteRange, Group, Parsed, command
from imdsctl.emulator.events import SYNTAX as EVENT_SYNTAX
from imdsctl.emulator.events import EventSpec, EventSpecError
from imdsctl.emulator.faults import SYNTAX, Fault, FaultSpecError
from imdsctl.emulator.mediators import MODES
from imdsctl.emulator.profiles import DEFAULT_PROFILE, ProfileError, list_profiles, load_profile
from imdsctl.emulator.throttle import DEFAULT_RATE
from imdsctl.errors import UsageError
from imdsctl.result import Result
from imdsctl.ui.render import render
from imdsctl.ui.terminal import note

FAULT_EPILOG = "\b\nFault specs (--fault; a request uses the first matching one):\n" \
    + fit_block("\n".join("  " + line for line in SYNTAX.splitlines())) \
    + "\n\n\b\nScheduled events (--event; Scheduled -> Started -> gone):\n" \
    + fit_block("\n".join("  " + line for line in EVENT_SYNTAX.splitlines()))


class ProfileParam(Parsed):
    """A built-in profile name, a JSON file or a support bundle, loaded and validated."""

    def __init__(self) -> None:
        super().__init__("profile", load_profile, ProfileError)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
        return [CompletionItem(name, help=text) for name, text in list_profiles().items()
                if name.startswith(incomplete)]


#: A fault spec such as ``410*3@/metadata/instance``; a scheduled event such as ``Preempt@30``.
FAULT = Parsed("spec", Fault.parse, FaultSpecError)
EVENT = Parsed("event", EventSpec.parse, EventSpecError)


def _emulator_kwargs(no_throttle: bool, faults: Sequence[Fault], events: Sequence[EventSpec],
                     **options: Any) -> Dict[str, Any]:
    """Emulator keyword arguments from the options of `serve` and `emulate`."""
    return {"throttle": not no_throttle, "faults": faults, "events": events, **options}


def emulator_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `serve` and `emulate` share."""
    options = (
        click.option("--profile", type=ProfileParam(), default=DEFAULT_PROFILE, show_default=True,
                     help="Built-in profile (see 'imdsctl emulator profiles'), a JSON file (an "
                          "instance document or {\"instance\": ..., \"loadbalancer\": ...}), or a "
                          "support bundle from 'imdsctl collect' (tar.gz or zip) to replay."),
        click.option("--no-throttle", is_flag=True,
                     help="Do not rate-limit (IMDS answers 429 beyond 5 requests per second, and "
                          "managed identity beyond 20 per second or 5 in flight)."),
        click.option("--rate", type=click.IntRange(min=1), default=DEFAULT_RATE, show_default=True,
                     help="Requests per second allowed per client before 429."),
        click.option("--fault", "faults", type=FAULT, multiple=True, metavar="SPEC",
                     help="Inject a fault; repeatable (syntax below)."),
        click.option("--event", "events", type=EVENT, multiple=True, metavar="EVENT",
                     help="Schedule a scheduled event; repeatable (syntax below)."),
        click.option("--events-time-factor", type=FiniteRange(min=0, min_open=True, max=1000), default=1.0,
                     show_default=True, metavar="FACTOR",
                     help="Scale every scheduled-event time: 0.01 turns 15 minutes into 9 s."),
        click.option("--events-enable-delay", type=FiniteRange(min=0, max=3600), default=0.0,
                     metavar="SECONDS",
                     help="Delay the first scheduled-events answer, as IMDS does while enabling "
                          "them (up to 120 s on a VM)."),
        click.option("--control", is_flag=True,
                     help="Serve the control channel on the same port: /_emulator/faults (GET, POST, "
                          "DELETE), /_emulator/requests (GET, DELETE), /_emulator/throttle/reset (POST), "
                          "/_emulator/events (GET, POST, DELETE). Every request carries an "
                          "X-Imdsctl-Control header, a POST is application/json; a request with an "
                          "Origin or a foreign Host (a web page's) is refused."),
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
        click.option("--as", "as_", type=click.Choice(MODES), default="imds", show_default=True,
                     help="What answers in front of IMDS: the Guest Proxy Agent in Enforce mode (its "
                          "header on answers, an empty 403 for a uid not allowed) or Audit mode (the "
                          "header, nothing refused), or aad-pod-identity's NMI (its own token refusals)."),
        click.option("--allow-uid", "allow_uids", type=click.IntRange(min=0), multiple=True, default=(0,),
                     show_default=True, metavar="UID",
                     help="With --as gpa-enforce: a uid the Guest Proxy Agent's rules allow (repeatable)."),
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


def check_control_host(host: str, control: bool, anywhere: bool) -> None:
    """Refuse the control channel on an address other machines reach, unless forced."""
    if control and not anywhere and not _is_loopback(host):
        raise UsageError(f"--control on {host}, not a loopback address, lets other machines arm faults "
                         "and schedule events; add --control-anywhere to serve it there anyway")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def emulator() -> None:
    """Run a local Azure IMDS emulator, for tests and demos."""


@emulator.command(epilog=FAULT_EPILOG, examples=(
    ("An IMDS on 127.0.0.1:8169 for your tests:", "imdsctl emulator serve"),
    ("A Spot VM evicted in 30 seconds, with the control channel on:",
     "imdsctl emulator serve --profile spot-vmss --event Preempt@30 --control")))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; keep it a loopback address.")
@click.option("--port", type=click.IntRange(0, 65535), default=8169, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--control-anywhere", is_flag=True,
              help="Allow --control with a --host that is not a loopback address.")
@emulator_options
def serve(host: str, port: int, control_anywhere: bool, **options: Any) -> None:
    """Serve IMDS until SIGINT or SIGTERM.

    The first line on stdout is 'IMDS emulator listening on http://HOST:PORT'.
    """
    from imdsctl.emulator.run import start, wait_for_signal

    check_control_host(host, options["control"], control_anywhere)
    if not _is_loopback(host):
        note(f"warning: {host} is not a loopback address; other machines can reach this emulator")
    imds = start(host, port, **_emulator_kwargs(**options))
    try:  # the URL is printed once SIGINT and SIGTERM are caught
        wait_for_signal(ready=lambda: render(Result(f"IMDS emulator listening on {imds.url}"), "text"))
    finally:
        imds.stop()


@emulator.command(examples=(("The built-in profiles:", "imdsctl emulator profiles"),))
def profiles() -> None:
    """List the built-in profiles: name, tab, description."""
    render(Result(list_profiles()), "text")


@command(epilog=FAULT_EPILOG, examples=(
    ("A boot script, off Azure:", "imdsctl emulate --profile spot-vmss -- ./boot.sh"),
    ("Retries, seen:", "imdsctl emulate --fault '410*3' -- imdsctl compute vm-id --debug"),
    ("A customer's VM, from their support bundle, at IMDS's own address:",
     "imdsctl emulate --link-local --profile case-42.tar.gz -- ./boot.sh")),
               context_settings={"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]})
@click.option("--link-local", is_flag=True,
              help="Serve at http://169.254.169.254 (port 80), IMDS's own address, in a private "
                   "network namespace where COMMAND runs (Linux; unprivileged user namespaces, or root).")
@click.option("--wireserver-root-only", is_flag=True,
              help="With --link-local: let only root reach WireServer (168.63.129.16), as waagent's "
                   "firewall does (its iptables owner-match rule, added in the namespace; needs iptables).")
@emulator_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED,
                shell_complete=lambda ctx, param, incomplete: [CompletionItem(incomplete, type="command")])
def emulate(command: Tuple[str, ...], link_local: bool, wireserver_root_only: bool, **options: Any) -> int:
    """Run COMMAND against an emulator: on a free loopback port, or at 169.254.169.254.

    COMMAND runs with IMDSCTL_ENDPOINT and AZURE_POD_IDENTITY_AUTHORITY_HOST
    set to the emulator's URL; its exit code becomes this command's.  SIGINT
    and SIGTERM are passed on to it.

    With --link-local, COMMAND runs in a new network namespace whose only
    interface, lo, holds 169.254.169.254, where the emulator listens on port
    80: clients that cannot be pointed elsewhere (curl one-liners, SDKs,
    cloud-init) reach it at the real address, and neither variable is set.
    WireServer answers at 168.63.129.16 there too (port 80 /?comp=versions,
    the HostGAPlugin on 32526); --wireserver-root-only drops other uids'
    connections to it, as waagent's firewall does.
    Nothing else is reachable there: no DNS, no other host.  Without a
    namespace, nothing runs (exit 2).  Either way, this installation's
    imdsctl comes first on COMMAND's PATH.
    """
    if link_local:
        return _emulate_link_local(command, _emulator_kwargs(**options), wireserver_root_only)
    if wireserver_root_only:
        raise UsageError("--wireserver-root-only needs --link-local: WireServer is emulated only at "
                         "168.63.129.16, in the namespace")
    from imdsctl.emulator.run import run, start

    imds = start("127.0.0.1", 0, **_emulator_kwargs(**options))
    try:
        return run(command, _child_environment(imds.environment))
    finally:
        imds.stop()


def _child_environment(pointing: Dict[str, str]) -> Dict[str, str]:
    """COMMAND's environment: the variables that point clients at the emulator,
    and PATH led by the directory of this installation's imdsctl, so that
    `imdsctl` in COMMAND (or in a script it runs) is this one, even when it is
    not on PATH (pipx, a virtual environment run by its path)."""
    return {**os.environ, **pointing, "PATH": _path_with_this_imdsctl()}


def _path_with_this_imdsctl() -> str:
    path = os.environ.get("PATH", os.defpath)
    for candidate in (os.path.dirname(sys.executable), os.path.dirname(os.path.abspath(sys.argv[0]))):
        if os.access(os.path.join(candidate, "imdsctl"), os.X_OK):
            return os.pathsep.join([candidate, path])
    return path


def _emulate_link_local(command: Tuple[str, ...], options: Dict[str, Any], root_only: bool = False) -> int:
    """emulate --link-local: the namespace, the emulator in it, COMMAND."""
    from imdsctl.emulator.linklocal import netns
    from imdsctl.emulator.linklocal.serve import PORT, run_command
    from imdsctl.emulator.run import build

    reason = netns.unavailable()
    if reason is None:
        imds = build(netns.LINK_LOCAL, PORT, **options)
        try:
            return run_command(imds, command, {**os.environ, "PATH": _path_with_this_imdsctl()}, root_only)
        except netns.NamespaceError as exc:
            reason = str(exc)
    raise UsageError(f"--link-local: no private network namespace, so nothing ran: {reason}")
