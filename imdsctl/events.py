"""`imdsctl events`: read, acknowledge and watch Scheduled Events (reference section 7).

Scheduled Events have their own api-versions (catalog.SCHEDULED_EVENTS_VERSIONS):
``--api-version`` on the command line picks one of them; IMDSCTL_API_VERSION
names an *instance* api-version and is ignored here, so one environment
serves every command.  The first request on a VM enables the feature and
may take up to two minutes, hence the 150 s default budget.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Dict, List, Optional, Sequence

import click
from click.core import ParameterSource

from . import catalog, output
from .cli import Session, imds_command
from .errors import ImdsNotFoundError, NotFoundError, NotImdsError, UsageError

#: The default time budget of every events command: the first call may take ~2 minutes.
BUDGET = 150.0
#: The shortest watch interval: IMDS allows 5 requests per second per VM.
MIN_INTERVAL = 0.2

ENABLING = "reading scheduled events (the first call on a VM can take up to 2 minutes)"


# -- talking to IMDS (no click, no printing) ------------------------------------------------


API_VERSION_HELP = (f"Scheduled Events api-version (default {catalog.SCHEDULED_EVENTS_API_VERSION}; "
                    "IMDSCTL_API_VERSION, an instance version, is ignored).")


def api_version(imds: Session) -> str:
    """The Scheduled Events api-version: the newest this release knows, unless
    --api-version on the command line names another of SCHEDULED_EVENTS_VERSIONS
    ('latest': the newest; any other version is a usage error).
    IMDSCTL_API_VERSION names an instance api-version and is ignored."""
    asked = imds.settings.api_version
    ctx = click.get_current_context(silent=True)
    from_env = ctx is not None and ctx.get_parameter_source("api_version") == ParameterSource.ENVIRONMENT
    if not asked or from_env or asked == "latest":
        return catalog.SCHEDULED_EVENTS_API_VERSION
    if asked not in catalog.SCHEDULED_EVENTS_VERSIONS:
        raise UsageError(f"{asked} is not a Scheduled Events api-version; choose from "
                         f"{', '.join(catalog.SCHEDULED_EVENTS_VERSIONS)}",
                         "scheduled events have their own api-versions: leave --api-version out "
                         f"for {catalog.SCHEDULED_EVENTS_API_VERSION}")
    return asked


def fetch(client: Any, version: str) -> Dict[str, Any]:
    """GET the scheduled-events document, checked: {"DocumentIncarnation", "Events"}."""
    try:
        body = client.request("GET", catalog.SCHEDULED_EVENTS_PATH, api_version=version).body
    except ImdsNotFoundError as err:
        raise NotFoundError(f"IMDS does not serve scheduled events here "
                            f"(GET {catalog.SCHEDULED_EVENTS_PATH}: {err.status})",
                            "classic (non-VNet) VMs and some IMDS imitations lack them") from None
    incarnation = body.get("DocumentIncarnation") if isinstance(body, dict) else None
    events = body.get("Events") if isinstance(body, dict) else None
    if (isinstance(incarnation, bool) or not isinstance(incarnation, int) or not isinstance(events, list)
            or not all(isinstance(e, dict) and isinstance(e.get("EventId"), str) for e in events)):
        raise NotImdsError(f"GET {catalog.SCHEDULED_EVENTS_PATH} returned JSON that is not a "
                           "scheduled-events document (DocumentIncarnation, Events[].EventId)",
                           "something other than IMDS may be answering on " + client.endpoint)
    return body


def acknowledge(client: Any, version: str, event_ids: Sequence[str]) -> None:
    """POST StartRequests for ``event_ids``: IMDS may start them before NotBefore.
    IMDS's answer body is undocumented and ignored."""
    client.request("POST", catalog.SCHEDULED_EVENTS_PATH, api_version=version, expect="any",
                   json_body={"StartRequests": [{"EventId": i} for i in event_ids]})


# -- presenting events to people ----------------------------------------------------------------


def not_before(event: Dict[str, Any]) -> Optional[float]:
    """NotBefore (RFC 1123, GMT) as a POSIX time; None when empty or unreadable."""
    try:
        return parsedate_to_datetime(event.get("NotBefore") or "").timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def span(seconds: float) -> str:
    """``45s``, ``14m 32s``, ``2h 05m``, ``3d 04h``."""
    seconds = int(round(abs(seconds)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def when(event: Dict[str, Any], now: float) -> str:
    """NotBefore in local time with a countdown: ``23:26:58 (in 14m 32s)`` today,
    ``2026-04-12 09:00:00 (in 9h 33m)`` another day; as sent if unreadable."""
    at = not_before(event)
    if at is None:
        return event.get("NotBefore") or ""
    local, today = (datetime.fromtimestamp(t, timezone.utc).astimezone() for t in (at, now))
    shown = local.strftime("%H:%M:%S" if local.date() == today.date() else "%Y-%m-%d %H:%M:%S")
    left = at - now
    return f"{shown} ({'in ' + span(left) if left >= 1 else 'due'})"


def duration(event: Dict[str, Any]) -> str:
    seconds = event.get("DurationInSeconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return ""
    return {-1: "unknown", 0: "none"}.get(seconds) or span(seconds)


def rows(events: List[Dict[str, Any]], now: float) -> List[Dict[str, Any]]:
    """The table people read: one row per event, times local, durations spelled out."""
    return [{
        "EventId": e.get("EventId", ""),
        "Type": e.get("EventType", ""),
        "Status": e.get("EventStatus", ""),
        "Resources": e.get("Resources") or [],
        "NotBefore": when(e, now),
        "Duration": duration(e),
        "Source": e.get("EventSource", ""),
        "Description": e.get("Description", ""),
    } for e in events]


def view(imds: Session, data: Any, events: List[Dict[str, Any]], empty: str) -> Any:
    """``data`` as it is for every format but the table; for the table (no
    --query), the readable rows, or ``empty`` when there are none."""
    settings = imds.settings
    fmt = settings.output or output.default_format(data, sys.stdout)
    if fmt != "table" or settings.query is not None:
        return data
    return rows(events, time.time()) if events else empty


# -- the commands ---------------------------------------------------------------------------------


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
def list_events(imds: Session) -> Any:
    """The scheduled events document: DocumentIncarnation and Events.

    JSON (and every other -o) gives the document as IMDS sent it; the table
    (the default on a terminal) shows one row per event: type, status,
    resources, NotBefore in local time with a countdown, expected duration,
    source and description.
    """
    with output.spinner(ENABLING):
        document = fetch(imds.client, api_version(imds))
    incarnation = document["DocumentIncarnation"]
    return view(imds, document, document["Events"],
                f"no scheduled events (DocumentIncarnation {incarnation})")


@events.command()
@click.argument("event_ids", nargs=-1, required=True, metavar="EVENT_ID...")
@click.option("--force", is_flag=True,
              help="Send the ids without first checking that the current document lists them.")
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP)
def ack(imds: Session, event_ids: Sequence[str], force: bool) -> Any:
    """Acknowledge (approve) events so they may start before NotBefore. Alias: approve.

    Sends one POST with a StartRequest per EVENT_ID. Without --force, reads
    the document first and refuses (exit 3) ids it does not list; ids match
    in any case and are sent as IMDS spells them. Prints the acknowledged
    events (-o json: as the document had them). An approval lets the event
    proceed for every VM it lists in Resources.
    """
    version = api_version(imds)
    wanted = list(dict.fromkeys(event_ids))
    chosen: List[Dict[str, Any]] = [{"EventId": i} for i in wanted]
    if not force:
        with output.spinner(ENABLING):
            listed = {e["EventId"].upper(): e for e in fetch(imds.client, version)["Events"]}
        missing = [i for i in wanted if i.upper() not in listed]
        if missing:
            raise NotFoundError(f"no scheduled event {', '.join(missing)} in the current document",
                                "'imdsctl events list' shows the current ids; --force sends them anyway")
        chosen = list({listed[i.upper()]["EventId"]: listed[i.upper()] for i in wanted}.values())
    acknowledge(imds.client, version, [e["EventId"] for e in chosen])
    return view(imds, chosen, chosen, "")


@events.command()
@click.option("--interval", type=click.FloatRange(min=MIN_INTERVAL), default=1.0, show_default=True,
              metavar="SECONDS", help=f"Seconds between polls (at least {MIN_INTERVAL:g}: IMDS allows "
                                      "5 requests per second).")
@click.option("--exec", "hook", metavar="COMMAND",
              help="Run COMMAND with /bin/sh -c once per new event of this VM.")
@click.option("--hook-timeout", type=click.FloatRange(min=0, min_open=True), default=300.0,
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
@imds_command(timeout=BUDGET, api_version_help=API_VERSION_HELP)
def watch(imds: Session, interval: float, hook: Optional[str], hook_timeout: float, approve: bool,
          all_resources: bool, once: bool, max_events: Optional[int]) -> Any:
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
    from .events_watch import Watcher

    fmt = imds.settings.output or output.default_format({}, sys.stdout)
    if fmt not in ("json", "jsonc", "table", "text", "none"):
        raise UsageError(f"watch prints JSON lines or text lines, not {fmt}", "use -o json, text or none")
    watcher = Watcher(imds.client, api_version(imds), interval=interval, hook=hook,
                      hook_timeout=hook_timeout, approve=approve, all_resources=all_resources,
                      once=once, max_events=max_events, human=fmt in ("table", "text"),
                      quiet=fmt == "none", query=imds.settings.query)
    raise click.exceptions.Exit(watcher.run())
