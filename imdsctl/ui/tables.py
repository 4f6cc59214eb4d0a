"""The table format: what people see on a terminal (output.render's ``table``).

A list of objects becomes rows (az's shape: a column per scalar key, lists
joined with ", "); anything else becomes Key/Value rows with nested keys
flattened. Fitting a terminal:

* a header never breaks (its column is at least as wide as it);
* a column of short cells (up to 20 characters) or of single words up to 40
  (ids, addresses) is never broken, so that an EventId copy-pastes whole;
* a key/value table is laid out by ui/layout.py: nothing cut, the key wrapped
  at its separators or stacked above its value;
* text wraps between words; a longer word (a resource id) folds;
* a list of objects wider than the terminal even so loses columns from the
  right (they are ordered by importance), and says which.

Box drawing becomes ASCII on a terminal that cannot show it (TERM=dumb, a
non-UTF-8 stream). Values are shown as they are, control characters
escaped by output.render on a terminal.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, TextIO, Tuple

from imdsctl.ui.shapes import flatten, is_scalar, scalar_text
from imdsctl.ui.terminal import can_draw, make_console

_GAP = 3  # between two columns: a space of padding, the (blank) divider, a space of padding
_WHOLE = 40  # a word up to this long is never broken (a GUID is 36); a longer one may fold
_SHORT = 20  # a cell up to this long is never wrapped ("in 14m 32s (23:26)")
_PROSE = 20  # the narrowest a column of text is made before columns are left out
_FOLDED = 12  # the narrowest a column whose long words may fold is made


class Captioned(NamedTuple):
    """A table's data with a line under it (e.g. how to see everything)."""

    data: Any
    caption: str


def table(value: Any, stream: TextIO) -> str:
    """Print ``value`` as a table on ``stream``; the text to write (empty, as
    rich writes the table itself, or a bare value's line)."""
    caption = ""
    if isinstance(value, Captioned):
        value, caption = value
    from imdsctl.ui.changes import Changes, changes
    from imdsctl.ui.checklist import Checks, checklist
    from imdsctl.ui.disks import Disks, disks

    views: Dict[type, Callable[[Any, int], str]] = {Checks: checklist, Disks: disks, Changes: changes}
    if type(value) in views:
        return views[type(value)](value, make_console(stream).width)
    if is_scalar(value):
        return scalar_text(value) + "\n"
    from rich import box
    from rich.table import Table

    columns, rows = _shape(value)
    console = make_console(stream)
    keys = columns == ["Key", "Value"]
    if not rows:  # an empty list or object: said in one line, not an empty table
        return "(no values)\n"
    if keys:  # laid out here, so that no value is ever cut (ui/layout.py)
        from imdsctl.ui.layout import key_value

        bold = console.is_terminal and not console.no_color and console.color_system is not None
        return key_value([(k, v) for k, v in rows], console.width, "─" if can_draw(stream) else "-", caption,
                         bold)
    shown = len(columns) if keys else _fitting(columns, rows, console.width)
    if shown < len(columns):
        left_out = ", ".join(columns[shown:])
        caption = "; ".join(filter(None, [caption, f"left out to fit {console.width} columns: {left_out}"]))
        columns, rows = columns[:shown], [row[:shown] for row in rows]
    drawn = box.SIMPLE_HEAD if can_draw(stream) else box.Box("    \n    \n -- \n" + "    \n" * 5, ascii=True)
    grid = Table(box=drawn, show_edge=False, pad_edge=False, highlight=False,
                 caption=caption or None, caption_justify="left")
    for index, name in enumerate(columns):
        cells = [row[index] for row in rows]
        whole = (keys and index == 0) or _whole(cells)
        grid.add_column(name, min_width=None if whole else _minimum(name, cells), no_wrap=whole,
                        overflow="fold")
    for row in rows:
        grid.add_row(*row)
    console.print(grid)
    return ""


def _longest_word(cells: List[str]) -> int:
    return max((len(word) for cell in cells for word in cell.split()), default=0)


def _whole(cells: List[str]) -> bool:
    """Whether a column is never wrapped: short cells, or single words (ids) up to _WHOLE."""
    longest = max((len(cell) for cell in cells), default=0)
    single_words = all(not any(c.isspace() for c in cell) for cell in cells)
    return longest <= _SHORT or (single_words and longest <= _WHOLE)


def _minimum(name: str, cells: List[str]) -> int:
    """The narrowest a column can be: a column kept whole, its longest cell; a
    column of text, _PROSE; a column whose long words may fold, _FOLDED."""
    if _whole(cells):
        return max([len(name)] + [len(cell) for cell in cells])
    prose = any(any(c.isspace() for c in cell) for cell in cells)
    return max(len(name), _PROSE if prose else _FOLDED)


def _fitting(columns: List[str], rows: List[List[str]], width: int) -> int:
    """How many columns, from the left, fit ``width`` unbroken (at least one)."""
    used = 0
    for index, name in enumerate(columns):
        used += _minimum(name, [row[index] for row in rows]) + _GAP
        if used - _GAP > width and index > 0:
            return index
    return len(columns)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(scalar_text(v) for v in value)
    return scalar_text(value)


def _shape(value: Any) -> Tuple[List[str], List[List[str]]]:
    """Columns and rows: az's shape for a list of objects, key/value otherwise."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns: List[str] = []
        for item in value:
            for key, cell in item.items():
                flat = is_scalar(cell) or (isinstance(cell, list) and all(is_scalar(c) for c in cell))
                if flat and key not in columns:
                    columns.append(key)
        if columns:
            return columns, [[_cell(item.get(c, "")) for c in columns] for item in value]
    if isinstance(value, list) and all(is_scalar(v) for v in value):
        return ["Result"], [[scalar_text(v)] for v in value]
    return ["Key", "Value"], [[k, scalar_text(v)] for k, v in flatten(value)]
