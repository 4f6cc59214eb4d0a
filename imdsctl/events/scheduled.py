"""Scheduled Events: read and acknowledge them
(https://learn.microsoft.com/azure/virtual-machines/linux/scheduled-events).

Scheduled Events have their own api-versions (catalog.SCHEDULED_EVENTS, whose
rule ignores IMDSCTL_API_VERSION, an *instance* api-version, so that one
environment serves every command). The first request on a VM enables the
feature and may take up to two minutes, hence the 150 s default budget.
The watch loop is imdsctl.events.watch.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from imdsctl import catalog
from imdsctl.errors import ImdsctlError, ImdsNotFoundError, NotFoundError, NotImdsError
from imdsctl.result import Result
from imdsctl.ui.text import span

if TYPE_CHECKING:
    from imdsctl.protocols import Client, Imds

#: The default time budget of every events command: the first call may take ~2 minutes.
BUDGET = 150.0
#: The shortest watch interval: IMDS allows 5 requests per second per VM.
MIN_INTERVAL = 0.2

ENABLING = "reading scheduled events (the first call on a VM can take up to 2 minutes)"


# -- talking to IMDS -------------------------------------------------------------------------------


def api_version(imds: Imds) -> str:
    """The Scheduled Events api-version for this session (catalog.SCHEDULED_EVENTS' rule)."""
    version = imds.settings.api_version_for(catalog.SCHEDULED_EVENTS)
    assert version is not None  # the family has a default of its own: never the instance one
    return version


def fetch(client: Client, version: str) -> Dict[str, Any]:
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


def acknowledge(client: Client, version: str, event_ids: Sequence[str]) -> None:
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


def starts(event: Dict[str, Any], now: float) -> str:
    """When the event starts, for people: ``in 14m 32s (23:26)``, ``started``,
    ``due`` (its NotBefore passed), or NotBefore as sent if unreadable. The
    clock time is shown under a day ahead (the countdown says which day
    ``00:04`` is), the day a day or more ahead (``in 3d 04h (11 Dec)``): the
    cell stays short enough to keep its column at 80 columns."""
    if event.get("EventStatus") == "Started":
        return "started"
    at = not_before(event)
    if at is None:
        return event.get("NotBefore") or ""
    local, today = (datetime.fromtimestamp(t, timezone.utc).astimezone() for t in (at, now))
    clock = local.strftime("%H:%M" if local.date() == today.date() or at - now < 86400 else "%d %b")
    return f"in {span(at - now)} ({clock})" if at - now >= 1 else f"due ({clock})"


def _soonest(event: Dict[str, Any]) -> Tuple[int, float]:
    """Started events first, then by NotBefore (unreadable last)."""
    if event.get("EventStatus") == "Started":
        return (0, 0.0)
    at = not_before(event)
    return (1, at) if at is not None else (2, 0.0)


def rows(events: List[Dict[str, Any]], now: float) -> List[Dict[str, Any]]:
    """The table people read: one row per event, the soonest first, columns by
    importance (a narrow terminal drops them from the right), times for people."""
    return [{
        "EventId": e.get("EventId", ""),
        "Type": e.get("EventType", ""),
        "Status": e.get("EventStatus", ""),
        "Starts": starts(e, now),
        "Resources": e.get("Resources") or [],
        "Description": e.get("Description", ""),
        "Duration": duration(e),
        "Source": e.get("EventSource", ""),
    } for e in sorted(events, key=_soonest)]


def table(events: List[Dict[str, Any]], empty: str) -> Callable[[Any], Any]:
    """The table transformer: the readable rows of ``events``, or ``empty``
    when there are none."""
    return lambda data: rows(events, time.time()) if events else empty


# -- what the commands do ----------------------------------------------------------------------------


def list_events(imds: Imds) -> Result:
    """The scheduled-events document; for people, one row per event."""
    with imds.reporter.spinner(ENABLING):
        document = fetch(imds.client, api_version(imds))
    incarnation = document["DocumentIncarnation"]
    return Result(document, table=table(document["Events"],
                                        f"no scheduled events (DocumentIncarnation {incarnation})"))


def ack(imds: Imds, event_ids: Sequence[str], force: bool = False) -> Result:
    """Acknowledge ``event_ids`` in one POST. Without ``force``, reads the
    document first and refuses (NotFoundError) ids it does not list; ids match
    in any case and are sent as IMDS spells them. What was done: one record
    per event, its type, the status it had and the status a re-read shows."""
    version = api_version(imds)
    wanted = list(dict.fromkeys(event_ids))
    chosen: List[Dict[str, Any]] = [{"EventId": i} for i in wanted]
    if not force:
        with imds.reporter.spinner(ENABLING):
            listed = {e["EventId"].upper(): e for e in fetch(imds.client, version)["Events"]}
        missing = [i for i in wanted if i.upper() not in listed]
        if missing:
            raise NotFoundError(f"no scheduled event {', '.join(missing)} in the current document",
                                "list_events shows the current ids; force=True sends them anyway",
                                cause="unknown-event")
        chosen = list({listed[i.upper()]["EventId"]: listed[i.upper()] for i in wanted}.values())
    acknowledge(imds.client, version, [e["EventId"] for e in chosen])
    try:
        after = {e["EventId"].upper(): e for e in fetch(imds.client, version)["Events"]}
    except ImdsctlError as err:  # acknowledged all the same: say so, and what is not known
        imds.reporter.note(f"acknowledged, but the document could not be read again: {err.message}")
        after = {e["EventId"].upper(): {"EventStatus": "(not read)"} for e in chosen}
    records = [acknowledged(e, after.get(e["EventId"].upper())) for e in chosen]
    return Result(records, table=lambda data: [{
        "EventId": r["EventId"], "Type": r["EventType"] or "",
        "Was": r["StatusBefore"] or "(not read)", "Now": r["StatusAfter"] or "(gone: completed)",
    } for r in data])


def acknowledged(before: Dict[str, Any], after: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The acknowledgement record of one event: StatusAfter is null when the
    re-read document no longer lists it (it ran and completed)."""
    return {
        "EventId": before["EventId"],
        "EventType": before.get("EventType") or (after or {}).get("EventType"),
        "Acknowledged": True,
        "StatusBefore": before.get("EventStatus"),
        "StatusAfter": after.get("EventStatus") if after else None,
    }
