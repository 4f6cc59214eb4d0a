"""events list, ack, watch: Scheduled Events (imdsctl.events, imdsctl.watch)."""

from __future__ import annotations

from typing import Optional, Sequence

import click

from .. import catalog, output
from .. import events as domain
from ..output import Result
from ..session import Session
from .options import FiniteRange, Output, imds_command

API_VERSION_HELP = (f"Scheduled Events api-version (default {catalog.SCHEDULED_EVENTS_API_VERSION}; "
                    "IMDSCTL_API_VERSION, an instance version, is ignored).")
BUDGET, MIN_INTERVAL = domain.BUDGET, domain.MIN_INTERVAL


class EventsGroup(click.Group):
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


@events.command("list")
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP)
def list_events(imds: Session) -> Result:
    """The scheduled events document: DocumentIncarnation and Events.

    JSON (and every other -o) gives the document as IMDS sent it; the table
    (the default on a terminal) shows one row per event: type, status,
    resources, NotBefore in local time with a countdown, expected duration,
    source and description.
    """
    return domain.list_events(imds)


@events.command()
@click.argument("event_ids", nargs=-1, required=True, metavar="EVENT_ID...")
@click.option("--force", is_flag=True,
              help="Send the ids without first checking that the current document lists them.")
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP)
def ack(imds: Session, event_ids: Sequence[str], force: bool) -> Result:
    """Acknowledge (approve) events so they may start before NotBefore. Alias: approve.

    Sends one POST with a StartRequest per EVENT_ID. Without --force, reads
    the document first and refuses (exit 3) ids it does not list; ids match
    in any case and are sent as IMDS spells them. Prints the acknowledged
    events (-o json: as the document had them). An approval lets the event
    proceed for every VM it lists in Resources.
    """
    return domain.ack(imds, event_ids, force)


@events.command()
@click.option("--interval", type=FiniteRange(min=MIN_INTERVAL, max=86400), default=1.0, show_default=True,
              metavar="SECONDS", help=f"Seconds between polls (at least {MIN_INTERVAL:g}: IMDS allows "
                                      "5 requests per second).")
@click.option("--exec", "hook", metavar="COMMAND",
              help="Run COMMAND with /bin/sh -c once per new event of this VM.")
@click.option("--hook-timeout", type=FiniteRange(min=0, min_open=True, max=86400), default=300.0,
              show_default=True, metavar="SECONDS",
              help="Kill a hook (and its children) still running after this long; counts as failed.")
@click.option("--ack", "approve", is_flag=True,
              help="Acknowledge each new Scheduled event of this VM once its hook exits 0 "
                   "(without --exec: at once).")
@click.option("--all-resources", is_flag=True,
              help="Run the hook and --ack for every event, not only those listing this VM.")
@click.option("--once", is_flag=True, help="Poll once, handle what is there, exit.")
@click.option("--max-events", type=click.IntRange(min=1), metavar="N",
              help="Exit after N new events.")
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP, with_output=True)
def watch(imds: Session, out: Output, interval: float, hook: Optional[str], hook_timeout: float,
          approve: bool, all_resources: bool, once: bool, max_events: Optional[int]) -> Result:
    """Poll scheduled events and print each change once.

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
    IMDS_DOCUMENT_INCARNATION. Its stdout and stderr go to imdsctl's stderr.
    Polling pauses while it runs. A failing or timed-out hook is logged and
    its event is not acknowledged.

    \b
    Each poll has its own --timeout budget. While watching, 410, 429, 5xx
    and (after a first answer) unreachable IMDS are logged on stderr and
    retried at the next poll. SIGTERM finishes the current step and exits
    0; Ctrl-C exits 130.
    """
    from ..watch import Watcher, human

    emit = output.line_printer(out.format, out.query, human, what="watch")
    watcher = Watcher(imds.client, domain.api_version(imds), interval=interval, hook=hook,
                      hook_timeout=hook_timeout, approve=approve, all_resources=all_resources,
                      once=once, max_events=max_events, emit=emit)
    return Result.streamed(watcher.run())
