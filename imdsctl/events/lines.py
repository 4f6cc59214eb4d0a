"""How a person reads the events watch: one line per change (``human_line``),
or, at a terminal too narrow for it, the change and its EventId on one line and
the rest below (``human_lines``). Scripts get the records themselves."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Dict, List, Optional

from imdsctl.events import scheduled

Record = Dict[str, Any]


def human(record: Record) -> str:
    """A change record (what ``emit`` gets) as a line for people, now."""
    return human_line(record["change"], record["event"], time.time())


def human_line(change: str, event: Record, now: float) -> str:
    """``12:00:01  new      Reboot    Scheduled  ID  vm1, vm2  not before ... (in 14m 32s)``."""
    stamp = datetime.fromtimestamp(now).strftime("%H:%M:%S")
    resources = ", ".join(str(r) for r in event.get("Resources") or [])
    status = "" if change == "gone" else event.get("EventStatus", "")
    kind = event.get("EventType", "")
    line = f"{stamp}  {change:<7}  {kind:<9}  {status:<9}  {event['EventId']}  {resources}"
    if change == "gone":
        return line + "  (completed or cancelled)"
    at = scheduled.when(event, now)
    return line + (f"  not before {at}" if at else "")


def human_lines(record: Record, width: int, now: Optional[float] = None) -> List[str]:
    """A change record for a person at a terminal ``width`` columns wide: the
    line of ``human_line`` when it fits; else its change, type, status and
    EventId on one line (77 columns) and the resources and the time below it,
    indented, wrapped between words (an EventId, a resource name never split)."""
    from imdsctl.ui.layout import wrap

    change, event = record["change"], record["event"]
    now = time.time() if now is None else now
    line = human_line(change, event, now)
    if len(line) <= width:
        return [line]
    stamp = datetime.fromtimestamp(now).strftime("%H:%M:%S")
    status = "" if change == "gone" else event.get("EventStatus", "")
    first = f"{stamp}  {change:<7}  {event.get('EventType', ''):<9}  {status:<9}  {event['EventId']}".rstrip()
    rest = [", ".join(str(r) for r in event.get("Resources") or [])]
    at = "" if change == "gone" else scheduled.when(event, now)
    rest.append("(completed or cancelled)" if change == "gone" else (f"not before {at}" if at else ""))
    indent = len(stamp) + 2
    below = wrap("  ".join(filter(None, rest)), max(width - indent, 20))
    return [first] + [" " * indent + piece for piece in below if piece]
