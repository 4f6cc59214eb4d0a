"""What changed between two snapshots of the instance document.

A snapshot is the JSON of ``imdsctl get -o json`` or a bundle written by
``imdsctl collect`` (its instance.json is read). The documents are compared
path by path, in IMDS route syntax (``compute/tagsList/0/value``, list
entries by index), and every difference is a row
``{path, change, old, new}`` with change ``added``, ``removed``,
``changed`` or ``redacted`` (a bundle hid the value, so it cannot be
compared). Sensitive values (the catalog's SENSITIVE) are compared but
shown as <redacted> unless --no-redact.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Iterator, Tuple

from imdsctl import catalog
from imdsctl.errors import UsageError
from imdsctl.imds.answers import Malformed, loads
from imdsctl.result import Result
from imdsctl.support.bundle import MAX_READ, is_archive, read_member
from imdsctl.support.redact import MARKER, reason

#: The exit code of --exit-code when the snapshots differ.
DIFFERENT = 3

Parts = Tuple[str, ...]


def diff(a: str, b: str, exit_code: bool = False, no_redact: bool = False) -> Result:
    """The differences between snapshot files ``a`` and ``b`` ('-': stdin), one
    row each; with ``exit_code``, exit DIFFERENT when they differ."""
    if a == "-" and b == "-":
        raise UsageError("only one of A and B can be '-' (stdin)")
    rows = [_shown(row, no_redact) for row in compare(load(a), load(b))]
    differ = exit_code and any(row["change"] != "redacted" for row in rows)
    from imdsctl.ui.changes import Changes

    return Result(rows, exit_code=DIFFERENT if differ else 0, table=Changes)


def load(name: str) -> Any:
    """The instance document in file ``name`` ('-': stdin): JSON, or a bundle's instance.json."""
    shown = "stdin" if name == "-" else name
    try:
        if name == "-":
            data = sys.stdin.buffer.read(MAX_READ + 1)
        else:
            with open(name, "rb") as source:
                data = source.read(MAX_READ + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if len(data) > MAX_READ:
        raise UsageError(f"{shown} is over {MAX_READ >> 20} MiB: not a snapshot of IMDS")
    if is_archive(data):
        try:
            member = read_member(data, "instance.json")
        except ValueError as exc:
            raise UsageError(f"{shown}: {exc}") from None
        if member is None:
            raise UsageError(f"{shown} holds no instance.json: IMDS did not answer when it was collected",
                             "its manifest.json says why")
        data, shown = member, f"{shown}:instance.json"
    try:
        return loads(data)
    except Malformed as exc:
        raise UsageError(f"{shown} holds JSON that IMDS never sends: {exc}",
                         "write snapshots with 'imdsctl get -o json' or 'imdsctl collect'") from None
    except ValueError as exc:
        raise UsageError(f"{shown} is neither JSON nor an imdsctl bundle ({exc})",
                         "write snapshots with 'imdsctl get -o json' or 'imdsctl collect'") from None


def compare(old: Any, new: Any, parts: Parts = ()) -> Iterator[Dict[str, Any]]:
    """The differences between two JSON documents, in document order."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            here = (*parts, str(key))
            if key not in new:
                yield from _leaves(old[key], here, "removed")
            elif key not in old:
                yield from _leaves(new[key], here, "added")
            else:
                yield from compare(old[key], new[key], here)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            here = (*parts, str(index))
            if index >= len(new):
                yield from _leaves(old[index], here, "removed")
            elif index >= len(old):
                yield from _leaves(new[index], here, "added")
            else:
                yield from compare(old[index], new[index], here)
    elif _is_leaf(old) and _is_leaf(new):
        if MARKER in (old, new):
            yield _row(parts, "redacted", old, new)
        elif old != new:
            yield _row(parts, "changed", old, new)
    else:  # a value became a container, or the reverse
        yield from _leaves(old, parts, "removed")
        yield from _leaves(new, parts, "added")


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, (dict, list)) or not value


def _leaves(value: Any, parts: Parts, change: str) -> Iterator[Dict[str, Any]]:
    if _is_leaf(value):
        yield _row(parts, change, value if change == "removed" else None,
                   value if change == "added" else None)
        return
    children = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in children:
        yield from _leaves(child, (*parts, str(key)), change)


def _row(parts: Parts, change: str, old: Any, new: Any) -> Dict[str, Any]:
    return {"path": "/".join(parts), "change": change, "old": old, "new": new}


def _shown(row: Dict[str, Any], no_redact: bool) -> Dict[str, Any]:
    """The row as printed: sensitive values replaced unless --no-redact."""
    if no_redact or reason(catalog.INSTANCE_PATH, row["path"].split("/")) is None:
        return row
    return {**row, "old": _hidden(row["old"]), "new": _hidden(row["new"])}


def _hidden(value: Any) -> Any:
    return value if value in (None, "") else MARKER
