"""The shapes of data every format reads: a value or a container, a value as
a script wants it, a nested value as (dotted.key[0].path, value) pairs."""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, Iterator, Tuple


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
