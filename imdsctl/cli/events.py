"""events list, ack, watch, unit: Scheduled Events (imdsctl.events.scheduled, imdsctl.events.watch*)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
from typing import Any, Iterator, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import click

from imdsctl import catalog
from imdsctl.cli.options import FiniteRange, Group, Output, imds_command
from imdsctl.events import scheduled as domain
from imdsctl.events.hook import FLOOR, HOOK_TIMEOUT
from imdsctl.events.kube import DRAIN_ON, drain_types
from imdsctl.events.notify import FORMATS
from imdsctl.events.state import default_path
from imdsctl.events.unit import ENVIRONMENT_FILE
from imdsctl.events.unit import STATE as UNIT_STATE
from imdsctl.result import Result
from imdsctl.session import Session
from imdsctl.ui import render as output
from imdsctl.ui import terminal
from imdsctl.ui.render import render

API_VERSION_HELP = (f"Scheduled Events api-version (default {catalog.SCHEDULED_EVENTS_API_VERSION}; "
                    "IMDSCTL_API_VERSION, an instance version, is ignored).")
BUDGET, MIN_INTERVAL = domain.BUDGET, domain.MIN_INTERVAL


class EventsGroup(Group):
    """The events group; ``approve`` is a hidden alias of ``ack``."""

    aliases = {"approve": "ack"}

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        return super().get_command(ctx, self.aliases.get(name, name))


@click.group(cls=EventsGroup, context_settings={"help_option_names": ["-h", "--help"]})
def events() -> None:
    """Scheduled Events: maintenance, evictions and deletions coming to this VM.

    IMDS announces a Freeze, Reboot, Redeploy, Preempt (Spot eviction) or
    Terminate (scale-set deletion) with some notice; acknowledging an event
    lets it start early. Scheduled Events have their own api-versions
    (2017-03-01 ... 2020-07-01, default the newest): --api-version on the
    command line picks one; IMDSCTL_API_VERSION, an instance api-version, is
    ignored here. The first call on a VM enables the feature and can take up
    to 2 minutes, hence the default --timeout of 150 s.
    """


@events.command("list", examples=(
    ("What is coming, for people:", "imdsctl events list"),
    ("The ids of the events still Scheduled, one per line:",
     "imdsctl events list -q \"Events[?EventStatus=='Scheduled'].EventId\" -o tsv")))
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP)
def list_events(imds: Session) -> Result:
    """The scheduled events document: DocumentIncarnation and Events.

    JSON (and every other -o) gives the document as IMDS sent it; the table
    (the default on a terminal) shows one row per event: type, status,
    resources, NotBefore in local time with a countdown, expected duration,
    source and description.
    """
    return domain.list_events(imds)


@events.command(examples=(
    ("Let an event start now:", "imdsctl events ack C7061BAC-AFDC-4513-B24B-AA5F13A16123"),))
@click.argument("event_ids", nargs=-1, required=True, metavar="EVENT_ID...")
@click.option("--force", is_flag=True,
              help="Send the ids without first checking that the current document lists them.")
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP)
def ack(imds: Session, event_ids: Sequence[str], force: bool) -> Result:
    """Acknowledge (approve) events so they may start before NotBefore. Alias: approve.

    Sends one POST with a StartRequest per EVENT_ID. Without --force, reads
    the document first and refuses (exit 3) ids it does not list; ids match
    in any case and are sent as IMDS spells them. Then reads the document
    again and prints what was done: for each event its id, type, the status
    it had and the status it has now (-o json: EventId, EventType,
    Acknowledged, StatusBefore, StatusAfter; StatusBefore is null with
    --force, StatusAfter null once the event is gone). An approval lets the
    event proceed for every VM it lists in Resources.
    """
    return domain.ack(imds, event_ids, force)


def _webhook(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError for a port that is not a number, or past 65535
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter("a webhook is an http:// or https:// URL with a host")
    if port == 0:
        raise click.BadParameter(f"{value!r}: port 0 is no port to send to (1 to 65535)")
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(parts.hostname.split("%")[0])
        except ValueError:
            raise click.BadParameter(f"{value!r}: {parts.hostname} in brackets is not an IPv6 address") \
                from None
    return value


def _state(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    if value is not None and not value.strip():
        raise click.BadParameter("an empty path names no file (leave --state out for the default)")
    return value


def _listen(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[Tuple[str, int]]:
    """HOST:PORT, [IPv6]:PORT, :PORT or PORT (host 127.0.0.1) as (host, port)."""
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (":" in host and not value.startswith("[")):
        raise click.BadParameter("give HOST:PORT, [IPv6]:PORT or PORT (e.g. 127.0.0.1:9108)")
    return host or "127.0.0.1", int(port)


@contextlib.contextmanager
def _metrics(imds: Session, at: Optional[Tuple[str, int]], path: Optional[str],
             interval: float) -> Iterator[Any]:
    """The watch's observer for --metrics and --metrics-file (None without them),
    serving while the watch runs; prometheus_client is imported only here."""
    if at is None and path is None:
        yield None
        return
    try:
        from imdsctl.events import metrics
    except ImportError as err:
        if not (err.name or "").startswith("prometheus_client"):
            raise
        raise click.UsageError("--metrics and --metrics-file need prometheus_client: "
                               "pip install 'imdsctl[metrics]'") from None
    observer = metrics.Metrics(interval=interval, timeout=imds.settings.timeout, path=path,
                               log=imds.reporter.note)
    server = None
    if at is not None:
        try:
            server = metrics.serve(observer, *at)
        except OSError as err:
            raise click.BadParameter(f"cannot listen on {at[0]}:{at[1]}: {err.strerror or err}",
                                     param_hint="'--metrics'") from None
        host, port = str(server.server_address[0]), int(server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        imds.reporter.note(f"metrics at http://{shown}:{port}/metrics")
    try:
        yield observer
    finally:
        observer.close()
        if server is not None:
            server.shutdown()
            server.server_close()


def handler_options(environment: bool) -> Any:
    """The options `events watch` and `events unit` share: how events are handled.
    ``environment``: whether IMDSCTL_NOTIFY_URL and IMDSCTL_NOTIFY_FORMAT apply
    (not to `events unit`, which must not copy a secret into a unit file)."""
    notify_url = "IMDSCTL_NOTIFY_URL" if environment else None
    notify_format = "IMDSCTL_NOTIFY_FORMAT" if environment else None
    options = [
        click.option("--interval", type=FiniteRange(min=MIN_INTERVAL, max=86400), default=1.0,
                     show_default=True,
                     metavar="SECONDS", help=f"Seconds between polls (at least {MIN_INTERVAL:g}: IMDS "
                                             "allows 5 requests per second)."),
        click.option("--exec", "hook", metavar="COMMAND",
                     help="Run COMMAND with /bin/sh -c once per new event of this VM."),
        click.option("--hook-timeout", type=FiniteRange(min=0, min_open=True, max=86400),
                     default=HOOK_TIMEOUT, show_default=True, metavar="SECONDS",
                     help="Kill a hook (and its children) still running after this long, or "
                          "after the time left before its event's NotBefore if that is shorter, "
                          f"but never before {FLOOR:g}s (an event already due); a killed hook "
                          "counts as failed."),
        click.option("--ack", "approve", is_flag=True,
                     help="Acknowledge each new Scheduled event of this VM once its hook exits 0 "
                          "(without --exec: at once)."),
        click.option("--all-resources", is_flag=True,
                     help="Run the hook and --ack for every event, not only those listing this VM."),
        click.option("--notify", metavar="URL", envvar=notify_url, callback=_webhook,
                     help="POST each change, and how each handled event ended, as JSON to this "
                          "webhook (or IMDSCTL_NOTIFY_URL); proxies from the environment apply."
                     if environment else
                     "The watch's --notify. The unit file is readable by every user: a secret URL "
                     f"belongs in {ENVIRONMENT_FILE} instead, as IMDSCTL_NOTIFY_URL=URL."),
        click.option("--notify-format", type=click.Choice(FORMATS), default="json", show_default=True,
                     envvar=notify_format,
                     help="json: the change record with host and text; slack: {\"text\": ...}"
                          + (" (or IMDSCTL_NOTIFY_FORMAT)." if environment else ".")),
    ]

    def decorate(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return decorate


def _drain_on(ctx: click.Context, param: click.Parameter, value: str) -> Sequence[str]:
    try:
        return drain_types(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


kubernetes_options = (
    click.option("--kubernetes-node", metavar="NAME", is_flag=False, flag_value="", default=None,
                 help="Cordon, annotate and drain Kubernetes node NAME (alone: $NODE_NAME) through kubectl "
                      "before an event of this VM, and uncordon it once the event is gone if this watch "
                      "cordoned it; see docs/kubernetes.md."),
    click.option("--kubectl", metavar="PATH", help="The kubectl to run [default: kubectl on PATH]."),
    click.option("--drain-on", metavar="TYPES", default=",".join(DRAIN_ON), show_default=True,
                 callback=_drain_on,
                 help="The event types that drain the node (comma-separated; add Freeze only if a "
                      "few seconds' pause warrants a drain); others only annotate it."),
)


def _kubernetes(fn: Any) -> Any:
    for option in reversed(kubernetes_options):
        fn = option(fn)
    return fn


WATCH_HELP = """Poll scheduled events and print each change once.

    \b
    Prints one line per change: a new event, an event that changed (e.g.
    Scheduled -> Started) and an event that is gone (completed or cancelled).
    On a terminal a line for people; otherwise (or -o json) one JSON object
    per line: {"change": "new"|"changed"|"gone", "DocumentIncarnation": N,
    "event": {...}}; -q applies to each object; -o none prints nothing.

    \b
    The hook (--exec) runs once per new event that lists this VM (its
    compute name) in Resources, with the event as JSON on stdin and in
    IMDS_EVENT_ID, IMDS_EVENT_TYPE, IMDS_EVENT_STATUS, IMDS_EVENT_RESOURCES
    (comma-separated), IMDS_EVENT_RESOURCE_TYPE, IMDS_EVENT_NOTBEFORE,
    IMDS_EVENT_DESCRIPTION, IMDS_EVENT_SOURCE, IMDS_EVENT_DURATION and
    IMDS_DOCUMENT_INCARNATION; IMDS_EVENT_SECONDS_LEFT is the whole seconds
    left before NotBefore (0 once due or Started), IMDS_HOOK_TIMEOUT the
    seconds it is given, IMDS_HOOK_ATTEMPT 1, or 2 when it runs again. Its
    stdout and stderr go to imdsctl's stderr. Polling pauses while it runs.
    A failing or timed-out hook is logged and its event is not acknowledged.

    \b
    With --kubernetes-node, before the hook: the node is cordoned (unless
    already cordoned), annotated with the event and drained within its
    notice, or for types not in --drain-on only annotated; an undrained
    node's event is not acknowledged (see docs/kubernetes.md).

    \b
    Once across restarts: a watch that handles events records in --state
    when each hook started, how it ended and what it acknowledged. Restarted,
    it does not run again a hook that finished (exit 0 or not), and it
    acknowledges an event whose hook exited 0 if that was not done yet. A
    hook that never finished (the watch was killed while it ran) runs again,
    once, with IMDS_HOOK_ATTEMPT=2: a drain that may not have finished is
    safer repeated than skipped, so hooks should be safe to repeat. An
    unsafe state file (a symbolic link, not ours, open to others) or one
    that is not a state file is not used (one line on stderr); events gone
    for a day are forgotten.

    \b
    Each poll has its own --timeout budget. While watching, 410, 429, 5xx
    and (after a first answer) unreachable IMDS are logged on stderr and
    retried at the next poll. A notification (--notify) never holds the
    watch up: each has 10 s of retries, then a failure is one line on
    stderr. SIGTERM or SIGHUP finishes the current step and exits 0 (at once
    while waiting or polling); SIGUSR1, SIGUSR2 and SIGALRM are ignored (a
    line on stderr), so a hook is never orphaned; Ctrl-C exits 130.
    `imdsctl events unit` runs this as a systemd service. --metrics serves
    Prometheus series of it all and /healthz (see docs/fleet-metrics.md).
    """


@events.command(help=WATCH_HELP, examples=(
    ("The usual node handler: drain, then let the event start:",
     "imdsctl events watch --exec /usr/local/bin/drain-node --ack"),
    ("Rehearse it off Azure, against the emulator:",
     "imdsctl emulate --event Preempt@30 --events-time-factor 0.1 -- "
     "imdsctl events watch --exec ./drain.sh --ack --max-events 1"),
    ("On a Kubernetes node (the DaemonSet in deploy/kubernetes/): drain it, then acknowledge:",
     "imdsctl events watch --kubernetes-node --ack")))
@handler_options(environment=True)
@_kubernetes
@click.option("--state", "state_path", metavar="FILE", type=click.Path(dir_okay=False), callback=_state,
              help="Where a watch that handles events (--exec, --ack) records what it did, "
                   "to do it once across restarts [default: events-*.json in the private runtime "
                   "directory of snapshots: IMDSCTL_CACHE_DIR, else $XDG_RUNTIME_DIR/imdsctl, else "
                   "/run/imdsctl for root, else <tmp>/imdsctl-UID].")
@click.option("--once", is_flag=True, help="Poll once, handle what is there, exit.")
@click.option("--max-events", type=click.IntRange(min=1), metavar="N",
              help="Exit after N new events.")
@click.option("--metrics", "metrics_at", metavar="HOST:PORT", callback=_listen,
              help="Serve Prometheus metrics at http://HOST:PORT/metrics (text or OpenMetrics) and "
                   "/healthz; PORT alone listens on 127.0.0.1. Needs imdsctl[metrics].")
@click.option("--metrics-file", metavar="PATH", type=click.Path(dir_okay=False),
              help="Write the same series to PATH after every poll, atomically and mode 0644, for "
                   "node_exporter's textfile collector. Needs imdsctl[metrics].")
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP, with_output=True, env=False)
def watch(imds: Session, out: Output, state_path: Optional[str], notify: Optional[str],
          notify_format: str, metrics_at: Optional[Tuple[str, int]], metrics_file: Optional[str],
          **options: Any) -> Result:
    from imdsctl.events.watch import human, human_lines
    from imdsctl.events.watch import watch as run

    emit = output.line_printer(out.format, out.query, human, what="watch", fitted=human_lines)
    default = state_path is None
    path = default_path(imds.settings.endpoint) if default else state_path
    with _metrics(imds, metrics_at, metrics_file, options["interval"]) as observer:
        if observer is not None:
            options["observer"] = observer
        return Result.streamed(run(imds.client, domain.api_version(imds), state_path=path,
                                   default_state=default, notify_url=notify, notify_format=notify_format,
                                   emit=emit, reporter=imds.reporter, **options))


@events.command(examples=(
    ("Install it (as root); then systemctl daemon-reload, systemctl enable --now imdsctl-events.service:",
     "imdsctl events unit --exec /usr/local/bin/drain-node --ack "
     "> /etc/systemd/system/imdsctl-events.service"),
    ("Check it where systemd is installed:",
     "imdsctl events unit > imdsctl-events.service && systemd-analyze verify imdsctl-events.service")))
@handler_options(environment=False)
@click.option("--state", "state_path", metavar="FILE", default=UNIT_STATE, show_default=True,
              type=click.Path(dir_okay=False), callback=_state,
              help="The watch's --state; systemd makes the default's directory (StateDirectory, 0700).")
def unit(state_path: str, **options: Any) -> int:
    """Print a systemd unit that runs `events watch` as a service.

    \b
    ExecStart runs this installation's imdsctl (its absolute path) with
    `events watch -o json` and these options: one JSON line per change
    and one line per note in the journal, no spinner. Restart=on-failure
    (SIGTERM exits 0, after the current hook and acknowledgement), SIGTERM
    to the watch alone (KillMode=mixed) with the hook's timeout and 30 s
    to finish, the state in /var/lib/imdsctl (it survives reboots), and
    /etc/imdsctl/events.env read for secrets such as IMDSCTL_NOTIFY_URL
    (the unit file is world-readable). Install it in three commands: the
    unit into /etc/systemd/system/imdsctl-events.service, then systemctl
    daemon-reload and systemctl enable --now imdsctl-events.service.
    """
    from imdsctl.events.unit import absolute_hook
    from imdsctl.events.unit import unit as unit_text

    here = os.getcwd()
    if not os.path.isabs(state_path):
        absolute = os.path.abspath(state_path)
        terminal.note(f"--state {state_path} written as {absolute} (the service runs from /)")
        state_path = absolute
    if options.get("hook"):
        options["hook"], relative = absolute_hook(options["hook"], here)
        if relative is not None:
            terminal.note(f"--exec's {relative} written as {os.path.normpath(os.path.join(here, relative))} "
                          "(the service runs from /)")
    return render(Result(unit_text(state=state_path, **options)), "text")
