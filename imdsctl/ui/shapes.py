"""The shapes of data every format reads: a value or a container, a value as
a script wants it, a nested value as (dotted.key[0].path, value) pairs; and
back: any path imdsctl prints, or people paste, as an IMDS route."""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, Iterator, List, Tuple


def is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def scalar_text(value: Any) -> str:
    """A scalar as a script wants it: strings bare, others in JSON spelling."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def flatten(value: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """(dotted.key[0].path, scalar) pairs of a nested value."""
    if isinstance(value, dict):
        if not value and prefix:
            yield prefix, ""
        for key, child in value.items():
            yield from flatten(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if not value and prefix:
            yield prefix, ""
        for index, child in enumerate(value):
            yield from flatten(child, f"{prefix}[{index}]")
    else:
        yield prefix or "value", value


#: A list index in a flattened key (``dataDisks[0]``).
_INDEX = "["


def route(path: str, top: str = "metadata/instance") -> str:
    """A path in any form imdsctl prints or people paste, as an IMDS route below
    ``top``: ``compute/vmId``, ``/compute/vmId/``, the flattened key of a table
    or ``-o text`` (``compute.storageProfile.dataDisks[0].name``), the form of
    Microsoft's documentation (``/metadata/instance/compute/vmId?...``), or a
    whole URL (its host and query left out: see ``pasted``)."""
    parts: List[str] = []
    for segment in pasted(path)[0].split("/"):
        if segment.strip(".") and not segment.endswith("."):  # "." and "..": for imds/endpoint.py to refuse
            segment = segment.replace("]", "").replace(_INDEX, "/").replace(".", "/")
        parts.extend(part for part in segment.split("/") if part)
    words = top.split("/")
    if parts[:len(words)] == words:
        parts = parts[len(words):]
    return "/".join(parts)


def pasted(path: str) -> Tuple[str, str, str]:
    """(path, query, origin) of what was typed: a whole URL's scheme and host
    are its origin (``http://169.254.169.254``), a query string is what
    follows ``?``; either may be empty."""
    origin = ""
    if "://" in path.split("?", 1)[0]:
        scheme, _, rest = path.partition("://")
        host, slash, path = rest.partition("/")
        origin, path = f"{scheme}://{host}", slash + path
    path, _, query = path.partition("?")
    return path, query.partition("#")[0], origin


def query_value(query: str, name: str) -> str:
    """The value of ``name`` in a URL query string (``api-version=2019-06-01&format=text``), or ""."""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return ""


def in_section(document: Any, route: str) -> str:
    """A key as a section's table prints it (``vmId`` in ``compute --all``) as a
    route in the one section of ``document`` that has it; else ``route``."""
    first = route.split("/", 1)[0]
    if not isinstance(document, dict) or not first or first in document:
        return route
    owners = [key for key, section in document.items() if isinstance(section, dict) and first in section]
    return f"{owners[0]}/{route}" if len(owners) == 1 else route
