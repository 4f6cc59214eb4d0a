"""Key/value tables laid out so that nothing is lost, and values wrapped where
they may be: the ``table`` format of an object.

* Both columns fit: two columns, nothing wrapped.
* The value column can be made wide enough (``_VALUE_MIN``): two columns, the
  key wrapped at its own separators (``.`` and ``[``), each value wrapped.
* Else a stacked layout: the key on its own line, its value below, indented.
* In two columns, a one-word value (an id, a path, a URL) too wide for its
  column but not for the line goes whole on a line of its own below its key
  (a bundle's path to copy is never split).

A value is wrapped between words when it is text; an id, a path, a URL or a
command is wrapped only after one of its own separators (``/ - . , : ; = & ?``),
so that the pieces put back together are the value; only a run longer than the
whole line, with no separator in it (a base64 key), is folded. Every character
of every value is on the screen, at any width.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Tuple

_GAP = 3  # between the key and the value column
_VALUE_MIN = 24  # the narrowest value column before the stacked layout is used
_KEY_SHARE = 0.4  # at most this share of the width goes to a wrapped key column
_INDENT = 4  # a stacked value's indentation
_AFTER_SEPARATOR = re.compile(r"(?<=[/\-.,:;=&?|@+])")
_KEY_SEPARATOR = re.compile(r"(?=[.\[])")


def wrap(text: str, width: int) -> List[str]:
    """``text`` as lines of at most ``width``: between words for text, after a
    separator for a word, folded only where a run has no separator."""
    width = max(width, 1)
    lines: List[str] = []
    for line in text.split("\n") or [""]:
        lines.extend(_wrap_line(line, width))
    return lines


def _wrap_line(line: str, width: int) -> List[str]:
    if len(line) <= width:
        return [line]
    out: List[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            out.append(current)
        pieces = pack(_AFTER_SEPARATOR.split(word), width)
        out.extend(pieces[:-1])
        current = pieces[-1]
    out.append(current)
    return out


def pack(tokens: List[str], width: int) -> List[str]:
    """Tokens packed greedily into lines of at most ``width``; a token longer
    than a line is folded (the one place a run is cut)."""
    out: List[str] = []
    current = ""
    for token in tokens:
        while len(token) > width:
            if current:
                out.append(current)
                current = ""
            out.append(token[:width])
            token = token[width:]
        if len(current) + len(token) > width:
            out.append(current)
            current = token
        else:
            current += token
    out.append(current)
    return [piece for piece in out if piece] or [""]


def wrap_key(key: str, width: int) -> List[str]:
    """A flattened key wrapped before its ``.`` and ``[`` (a run with neither folded)."""
    return pack(_KEY_SEPARATOR.split(key), max(width, 1))


def key_value(rows: List[Tuple[str, str]], width: int, rule: str, caption: str = "",
              bold: bool = False) -> str:
    """The text of a key/value table of ``rows`` at ``width`` columns (``bold``: its header in bold)."""
    key_width = max([3] + [len(k) for k, _ in rows])
    value_width = max([5] + [len(line) for _, v in rows for line in v.split("\n")])
    if key_width + _GAP + value_width <= width:
        return _columns(rows, (key_width, value_width), rule, caption, width, bold)
    key_col = min(key_width, max(12, int(width * _KEY_SHARE)))
    if width - key_col - _GAP >= _VALUE_MIN:
        return _columns(rows, (key_col, width - key_col - _GAP), rule, caption, width, bold)
    return _stacked(rows, width, caption)


def _columns(rows: List[Tuple[str, str]], widths: Tuple[int, int], rule: str, caption: str,
             width: int, bold: bool) -> str:
    (key_col, value_col), gap = widths, " " * _GAP
    header = "Key".ljust(key_col) + gap + "Value"
    lines = [f"\x1b[1m{header}\x1b[0m" if bold else header, rule * (key_col + _GAP + value_col)]
    for key, value in rows:
        if _whole_below(value, value_col, width):  # a path to copy: whole, on a line of its own
            lines.extend(wrap_key(key, key_col) + [" " * _INDENT + value])
            continue
        keys, values = wrap_key(key, key_col), wrap(value, value_col)
        for index in range(max(len(keys), len(values))):
            left = keys[index] if index < len(keys) else ""
            right = values[index] if index < len(values) else ""
            lines.append((left.ljust(key_col) + gap + right).rstrip())
    return "\n".join(lines + _caption(caption, width)) + "\n"


def _whole_below(value: str, value_col: int, width: int) -> bool:
    """Whether a one-word value (an id, a path, a URL) too wide for its column
    fits whole on a line of its own, below its key."""
    return len(value) > value_col and len(value) <= width - _INDENT and not any(c.isspace() for c in value)


def _stacked(rows: List[Tuple[str, str]], width: int, caption: str) -> str:
    lines: List[str] = []
    for key, value in rows:
        lines.extend(wrap_key(key, width))
        if value:
            lines.extend((" " * _INDENT + piece).rstrip() for piece in wrap(value, width - _INDENT))
    return "\n".join(lines + _caption(caption, width)) + "\n"


def _caption(caption: str, width: int) -> List[str]:
    return wrap(caption, width) if caption else []
