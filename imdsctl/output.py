"""One renderer for every command: --query, then a format, then stdout.

Formats (``FORMATS``), with az CLI semantics where the az CLI has them:

* ``json``  indented JSON;  ``jsonc``  the same, coloured on a terminal;
* ``yaml``  block-style YAML;
* ``table`` a rich table for people: a list of objects becomes rows, an
  object becomes key/value rows with nested keys flattened (``a.b[0].c``);
* ``tsv``   az's rules: a scalar bare, a list one element per line, an object
  as its scalar values separated by tabs (nested containers left out);
* ``text``  a scalar bare; a container as ``key<TAB>value`` lines, flattened;
* ``env``   ``NAME='value'`` lines that are safe to ``eval`` in sh/bash/zsh;
* ``none``  nothing.

Without ``-o``, a scalar prints as text (the bare value and one newline), a
container as a table on a terminal and as JSON anywhere else.

This is the only module that builds a rich Console; rich, PyYAML and jmespath
are imported only when a command needs them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, TextIO, Tuple

FORMATS = ("json", "jsonc", "yaml", "table", "tsv", "text", "env", "none")


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


def compile_query(expression: str):
    """Compile a JMESPath expression; ValueError with a readable message if bad."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        message = " ".join(str(exc).split())
        raise ValueError(f"invalid JMESPath query {expression!r}: {message}") from None


def apply_query(query: Any, value: Any) -> Any:
    """Run a compiled JMESPath query; a query that fails on this data is a usage
    error whose message names the function and types, never the value (it may
    be a secret, such as an access token)."""
    from jmespath.exceptions import JMESPathError, JMESPathTypeError

    from .errors import UsageError

    try:
        return query.search(value)
    except JMESPathTypeError as exc:
        raise UsageError(f"--query failed: {exc.function_name}() expects {' or '.join(exc.expected_types)}, "
                         f"got {exc.actual_type}", "fix the --query expression") from None
    except JMESPathError as exc:
        raise UsageError(f"--query failed: {' '.join(str(exc).split())}",
                         "fix the --query expression") from None


def default_format(value: Any, stream: TextIO) -> str:
    if is_scalar(value):
        return "text"
    return "table" if _isatty(stream) else "json"


def render(value: Any, output: Optional[str] = None, query: Any = None, *,
           stream: Optional[TextIO] = None, env_prefix: str = "IMDS_",
           env_base: str = "") -> None:
    """Apply ``query`` (a compiled JMESPath), then write ``value`` in ``output``.

    ``env_base`` is the IMDS path the value came from (``compute/vmId``), which
    names the variables of ``-o env``; after a query, names come from the
    query's result alone.
    """
    stream = stream or sys.stdout
    if isinstance(value, bytes):  # decoded user data: the bytes as they are, whatever -o says
        if output != "none":
            getattr(stream, "buffer", stream).write(value)
        stream.flush()
        return
    if query is not None:
        value = apply_query(query, value)
        env_base = ""
    fmt = output or default_format(value, stream)
    if fmt == "env":
        text = "".join(f"{env_name(k, env_prefix)}={shell_quote(scalar_text(v))}\n"
                       for k, v in flatten(value, env_base))
    else:
        text = _FORMATTERS[fmt](value, stream)
    if text:
        stream.write(text)
    stream.flush()


# -- formatters: each returns the whole text, ending in one newline (or "") ---


def _json(value: Any, stream: TextIO) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _jsonc(value: Any, stream: TextIO) -> str:
    console = make_console(stream)
    if not console.is_terminal or console.no_color:
        return _json(value, stream)
    from rich.json import JSON

    console.print(JSON.from_data(value, indent=2, ensure_ascii=False), soft_wrap=True)
    return ""


def _yaml(value: Any, stream: TextIO) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True)


def _text(value: Any, stream: TextIO) -> str:
    if is_scalar(value):
        return _line(scalar_text(value))
    if isinstance(value, list) and all(is_scalar(v) for v in value):
        return "".join(_line(scalar_text(v)) for v in value)
    return "".join(_line(f"{k}\t{scalar_text(v)}") for k, v in flatten(value))


def _tsv(value: Any, stream: TextIO) -> str:
    if isinstance(value, list):
        return "".join(_line(_tsv_row(v)) for v in value)
    return _line(_tsv_row(value))


def _tsv_row(value: Any) -> str:
    if isinstance(value, dict):
        cells = [v for v in value.values() if is_scalar(v)]
    elif isinstance(value, list):
        cells = [v for v in value if is_scalar(v)]
    else:
        cells = [value]
    return "\t".join(scalar_text(c) for c in cells)


def _none(value: Any, stream: TextIO) -> str:
    return ""


def _table(value: Any, stream: TextIO) -> str:
    if is_scalar(value):
        return _line(scalar_text(value))
    from rich import box
    from rich.table import Table

    columns, rows = _table_shape(value)
    console = make_console(stream)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False)
    for name, whole in zip(columns, _whole_columns(columns, rows, console.width)):
        table.add_column(name, overflow="fold", no_wrap=whole)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return ""


def _whole_columns(columns: List[str], rows: List[List[str]], width: int) -> List[bool]:
    """Which columns never wrap: long single words (ids, resource ids,
    addresses), left to right, while they fit beside a little room for every
    other column - so that an EventId copy-pastes whole. rich shares what is
    left among the others, which wrap at spaces."""
    widths = [max([len(name)] + [len(row[i]) for row in rows]) + 2 for i, name in enumerate(columns)]
    long_word = [w > 14 and all(not any(c.isspace() for c in row[i]) for row in rows)
                 for i, w in enumerate(widths)]
    room = width - sum(min(w, 12) for w, one in zip(widths, long_word) if not one)
    whole = []
    for w, one in zip(widths, long_word):
        keep = one and w <= room
        room -= w if keep else min(w, 12)
        whole.append(keep)
    return whole


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(scalar_text(v) for v in value)
    return scalar_text(value)


def _table_shape(value: Any) -> Tuple[List[str], List[List[str]]]:
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


# -- env: NAME='value' lines ----------------------------------------------------

_NAME_BAD = re.compile(r"[^A-Za-z0-9]+")


def env_name(path: str, prefix: str = "IMDS_") -> str:
    """``compute/vmId`` -> ``IMDS_COMPUTE_VMID``: upper-case, non-alphanumerics as ``_``."""
    name = prefix + _NAME_BAD.sub("_", path).strip("_").upper()
    if not re.match(r"[A-Za-z_]", name):
        name = "_" + name
    return name


def shell_quote(value: str) -> str:
    """Single-quote a value for sh/bash/dash/zsh: nothing inside is expanded."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


# -- plumbing -----------------------------------------------------------------


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_console(stream: Optional[TextIO] = None, stderr: bool = False):
    """The project's rich Console: no markup, no highlighting, and with NO_COLOR
    set no escape codes at all (no colour, no bold)."""
    from rich.console import Console

    no_color = "NO_COLOR" in os.environ
    return Console(
        color_system=None if no_color else "auto",
        file=stream if stream is not None else (sys.stderr if stderr else sys.stdout),
        markup=False,
        highlight=False,
        emoji=False,
        no_color=no_color,
        soft_wrap=False,
    )


def spinner(message: str):
    """A spinner on stderr while a person watches (stderr a terminal); a no-op
    context otherwise, so scripts and logs see nothing."""
    if not _isatty(sys.stderr):
        import contextlib

        return contextlib.nullcontext()
    return make_console(stderr=True).status(message, spinner="dots")


_FORMATTERS: Dict[str, Callable[[Any, TextIO], str]] = {
    "json": _json,
    "jsonc": _jsonc,
    "yaml": _yaml,
    "table": _table,
    "tsv": _tsv,
    "text": _text,
    "none": _none,
}
