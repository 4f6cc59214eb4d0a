"""Differences for people (``diff`` on a terminal): one line per change when
it fits (``changed  compute/vmSize  Standard_D2s_v5 -> Standard_D4s_v5``),
else the change and its path on a line, the old value after ``-`` and the
new after ``+`` below it. A path wraps only after its ``/``, a value at its
own separators (ui/layout.py): read back from the screen, each is whole."""

from __future__ import annotations

import json
from typing import Any, Dict, List, NamedTuple, Sequence

from imdsctl.ui.layout import wrap

_INDENT = 2


class Changes(NamedTuple):
    """Rows of {path, change, old, new}, shown as a list of changes on a terminal."""

    rows: Sequence[Dict[str, Any]]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _block(mark: str, text: str, width: int) -> List[str]:
    pieces = wrap(text, width - _INDENT - len(mark))
    return [" " * _INDENT + mark + pieces[0]] + [" " * (_INDENT + len(mark)) + p for p in pieces[1:]]


def changes(view: Changes, width: int) -> str:
    """The text of the changes at ``width`` columns."""
    rows = list(view.rows)
    if not rows:
        return "(no differences)\n"
    kind = max(len(str(r.get("change", ""))) for r in rows)
    out: List[str] = []
    for row in rows:
        change, path = f"{row.get('change', ''):<{kind}}", str(row.get("path", ""))
        old, new = row.get("old"), row.get("new")
        said = {"added": _text(new), "removed": _text(old)}.get(change.strip(),
                                                                f"{_text(old)} -> {_text(new)}")
        line = f"{change}  {path}  {said}"
        if len(line) <= width and "\n" not in said:
            out.append(line)
            continue
        head = wrap(path, width - kind - 2)
        out.append(f"{change}  {head[0]}")
        out.extend(" " * (kind + 2) + piece for piece in head[1:])
        if old is not None and change.strip() != "added":
            out.extend(_block("- ", _text(old), width))
        if new is not None and change.strip() != "removed":
            out.extend(_block("+ ", _text(new), width))
    return "\n".join(out) + "\n"
