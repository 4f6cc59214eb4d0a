"""A support bundle as a profile: the VM that ``imdsctl collect`` captured, replayed.

``--profile case-42.tar.gz`` (or ``load_profile("case-42.zip")``) serves:

* ``instance.json``: the instance document, as it was collected (at the
  api-version collect used; older api-versions see it gated as usual);
* ``versions.json``: the instance api-versions that VM's IMDS offered, which
  become the emulator's (/metadata/versions and every version check);
* ``loadbalancer.json``: the load balancer metadata (absent: 404, no
  Standard load balancer);
* ``scheduled-events.json``: the events pending then, each with its EventId,
  type, resources, description, source and duration, and the notice it had
  left when the bundle was written (a Started event is Started at once);
* ``identity-info.json``: the tenant. collect never asks for a token, so
  the bundle does not say which identities the VM had: the replayed VM has
  its tenant and no identity (tokens answer 400 ``Identity not found``).

Values redacted when the bundle was collected are served as their
placeholder, ``<redacted>``; ``Profile.redacted`` names them.  The attested
document is signed afresh from the instance document.  Archive members are
read with imdsctl.support.bundle.read_member, the one reader of bundles.  This module
turns a bundle into a profile document; profiles.py validates it as any other.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import Any, Dict, Iterator, List, Optional, Tuple

from imdsctl.imds.answers import loads
from imdsctl.support.bundle import read_member
from imdsctl.support.redact import MARKER

#: The bundle's members a replay serves from.
MEMBERS = ("instance.json", "versions.json", "loadbalancer.json", "scheduled-events.json",
           "identity-info.json", "manifest.json")


def bundle_document(data: bytes, name: str) -> Tuple[Dict[str, Any], List[str]]:
    """The profile document (extended form) of the VM a support bundle (tar.gz
    or zip bytes) was collected on, and the paths it serves redacted.  Raises
    ValueError naming the bundle and what is wrong."""
    found = {member: _member(data, member, name) for member in MEMBERS}
    instance = found["instance.json"]
    if instance is None:
        raise ValueError(f"{name}: the bundle holds no instance.json: IMDS did not answer when it "
                           "was collected (its manifest.json says why)")
    manifest = found["manifest.json"] if isinstance(found["manifest.json"], dict) else {}
    created = _created(manifest)
    document: Dict[str, Any] = {
        "description": f"the VM of support bundle {name}, collected {created.isoformat()}",
        "instance": instance,
    }
    versions = found["versions.json"]
    if isinstance(versions, dict) and "apiVersions" in versions:
        document["apiVersions"] = versions["apiVersions"]
    balancer = found["loadbalancer.json"]
    if isinstance(balancer, dict) and "loadbalancer" in balancer:
        document["loadbalancer"] = balancer["loadbalancer"]
    info = found["identity-info.json"]
    if isinstance(info, dict) and "tenantId" in info:
        document["identity"] = {"tenantId": info["tenantId"], "systemAssigned": None, "userAssigned": []}
    events = found["scheduled-events.json"]
    if isinstance(events, dict) and isinstance(events.get("Events"), list):
        document["scheduledEvents"] = [_event(e, created) for e in events["Events"]]
    return document, redacted(document)


def _member(data: bytes, member: str, name: str) -> Any:
    """A member's JSON, None when the bundle does not hold it."""
    try:
        raw = read_member(data, member)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if raw is None:
        return None
    try:
        return loads(raw)  # the one reader of answers: no NaN, no depth bomb, no lone surrogate
    except ValueError as exc:
        raise ValueError(f"{name}: {member}: not valid JSON: {exc}") from None


def _created(manifest: Dict[str, Any]) -> dt.datetime:
    """When the bundle was written (its manifest), else now."""
    try:
        created = dt.datetime.fromisoformat(str(manifest["created"]))
    except (KeyError, ValueError):
        return dt.datetime.now(dt.timezone.utc)
    return created if created.tzinfo else created.replace(tzinfo=dt.timezone.utc)


def _event(event: Any, created: dt.datetime) -> Any:
    """A captured event as the profile section ``scheduledEvents`` writes it
    (events.EventSpec's JSON form); what is not an event is left to its check."""
    if not isinstance(event, dict):
        return event
    spec: Dict[str, Any] = {"type": event.get("EventType"), "notice": _notice(event, created)}
    for field, key in (("id", "EventId"), ("resources", "Resources"), ("description", "Description"),
                       ("source", "EventSource"), ("duration", "DurationInSeconds")):
        if key in event:
            spec[field] = event[key]
    return spec


def _notice(event: Dict[str, Any], created: dt.datetime) -> float:
    """Seconds from the bundle's creation to the event's NotBefore (0 when Started)."""
    if event.get("EventStatus") == "Started" or not event.get("NotBefore"):
        return 0.0
    try:
        not_before = parsedate_to_datetime(str(event["NotBefore"]))
    except (TypeError, ValueError):
        return 0.0
    if not_before.tzinfo is None:
        not_before = not_before.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (not_before - created).total_seconds())


def redacted(document: Dict[str, Any]) -> List[str]:
    """The paths served as MARKER: instance routes (``compute/userData``), and
    the other sections' under their name (``loadbalancer/...``)."""
    paths = [path for path, _ in _leaves(document.get("instance"), ())]
    for section in ("loadbalancer", "identity", "scheduledEvents"):
        paths += [path for path, _ in _leaves(document.get(section), (section,))]
    return paths


def _leaves(node: Any, parts: Tuple[str, ...]) -> Iterator[Tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*parts, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*parts, str(index)))
    elif node == MARKER:
        yield "/".join(parts), node


def describe(profile: Any) -> Optional[str]:
    """The one line saying which values a replayed bundle (a Profile) serves as placeholders."""
    if not profile.redacted:
        return None
    shown = ", ".join(profile.redacted[:8]) + (f" and {len(profile.redacted) - 8} more"
                                               if len(profile.redacted) > 8 else "")
    return f"{profile.name}: redacted when collected, served as {MARKER}: {shown}"
