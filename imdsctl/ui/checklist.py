"""A list of checks for people (``doctor``): about one line per check.

Each check is ``verdict  name  detail``, the detail wrapped under itself, and
its remedy, if any, below it after ``->``. Text wraps between words; an id, a
path or a URL wraps only after its own separators (ui/layout.py); a command
to copy (a span in quotes, or in parentheses starting with a shell command
such as ``export``) is never cut between its words: it moves to a line of
its own, whole.
"""

from __future__ import annotations

import re
from typing import Dict, List, NamedTuple, Sequence

from imdsctl.ui.layout import wrap

_GAP = "  "
_ARROW = "-> "
#: Spans kept whole: a quoted command, a parenthesised one, a command that starts a remedy.
_WHOLE = re.compile(r"'[^']+'|\"[^\"]+\"|\((?:export|unset|sudo|imdsctl|systemctl) [^)]*\)"
                    r"|^(?:unset|export) \S+")
_KEPT = "\x00"  # a space inside a kept span, while the text is wrapped


class Checks(NamedTuple):
    """Rows of {check, verdict, detail, remedy}, shown as a check list on a terminal."""

    rows: Sequence[Dict[str, str]]


def _keep(text: str) -> str:
    return _WHOLE.sub(lambda m: m.group().replace(" ", _KEPT), text)


def _lines(text: str, width: int) -> List[str]:
    return [line.replace(_KEPT, " ") for line in wrap(_keep(text), width)]


def checklist(checks: Checks, width: int) -> str:
    """The text of ``checks`` at ``width`` columns."""
    rows = list(checks.rows)
    verdicts = max((len(r.get("verdict", "")) for r in rows), default=0)
    names = max((len(r.get("check", "")) for r in rows), default=0)
    indent = verdicts + len(_GAP) + names + len(_GAP)
    if width - indent < 30:  # narrow: the detail and remedy below the name
        indent = 4
    out: List[str] = []
    for row in rows:
        head = f"{row.get('verdict', ''):<{verdicts}}{_GAP}{row.get('check', ''):<{names}}{_GAP}"
        details = _lines(row.get("detail", ""), width - indent)
        if indent == 4:
            out.append(head.rstrip())
            out.extend(" " * indent + line for line in details if line)
        else:
            out.append((head + details[0]).rstrip())
            out.extend(" " * indent + line for line in details[1:])
        remedy = row.get("remedy", "")
        if remedy:
            pieces = _lines(remedy, width - indent - len(_ARROW))
            out.append(" " * indent + _ARROW + pieces[0])
            out.extend(" " * (indent + len(_ARROW)) + piece for piece in pieces[1:])
    return "\n".join(out) + "\n"
