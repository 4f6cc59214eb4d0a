"""One renderer for every command: --query, then a format, then stdout.

The formats, with az CLI semantics where the az CLI has them, are FORMAT_HELP
(which the README and the man page show). Without -o, a value prints as text
(the bare value and one newline), a container as a table on a terminal and as
JSON anywhere else.

Commands return a Result (the data and how to show it); render() makes every
format decision. rich, PyYAML and jmespath are imported only when a command
needs them.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, TextIO, Tuple

from .terminal import is_terminal, make_console

#: Every format, and what it prints (the README and the man page show this table).
FORMAT_HELP = {
    "json": "indented JSON",
    "jsonc": "the same, coloured on a terminal",
    "yaml": "block-style YAML",
    "table": "a table for people: a list of objects becomes rows, an object becomes key/value rows with "
             "nested keys flattened (``a.b[0].c``); the default for a container on a terminal",
    "tsv": "az's rules: a value bare, a list one element per line, an object as its values separated "
           "by tabs (nested containers left out)",
    "text": "a value bare (the default for a value); a container as ``key<TAB>value`` lines, flattened",
    "env": "``NAME='value'`` lines, single-quoted so that ``eval`` in sh, bash, dash and zsh is safe; "
           "``--prefix`` changes ``IMDS_``",
    "none": "nothing",
}
FORMATS = tuple(FORMAT_HELP)


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
    except RecursionError:  # a literal nested thousands deep
        raise ValueError(f"invalid JMESPath query {expression[:40]!r}...: nested too deep") from None


def apply_query(query: Any, value: Any) -> Any:
    """Run a compiled JMESPath query; a query that fails on this data is a usage
    error whose message names the function and types, never the value (it may
    be a secret, such as an access token)."""
    from jmespath.exceptions import JMESPathError, JMESPathTypeError

    from .answers import Malformed, check
    from .errors import UsageError

    try:
        found = query.search(value)
        check(found)  # a literal or a sum can make what no output can hold (1e999, "\ud800")
        return found
    except Malformed as exc:
        raise UsageError(f"--query made a value no output can hold: {exc}",
                         "fix the --query expression") from None
    except JMESPathTypeError as exc:
        raise UsageError(f"--query failed: {exc.function_name}() expects {' or '.join(exc.expected_types)}, "
                         f"got {exc.actual_type}", "fix the --query expression") from None
    except JMESPathError as exc:
        raise UsageError(f"--query failed: {' '.join(str(exc).split())}",
                         "fix the --query expression") from None


class Result:
    """What a command returns: the data, and how to show it (after knack's
    CommandResultItem). render() reads it; a command never prints.

    * ``exit_code``: the exit code after the data is shown (a check that ran
      and found a problem still shows its findings);
    * ``quiet``: print only when -o or -q asks (``wait`` in a boot script);
      ``Result.streamed(code)`` prints nothing at all: the data went out as it
      came (``events watch``, through line_printer);
    * ``path``: the IMDS path the data came from, which names -o env variables;
    * ``table``: the view for people, applied only to table output without
      --query (knack's table_transformer);
    * ``structured``: what the document formats (json, jsonc, yaml) show
      instead of the data, when a plain value has more to say;
    * ``terminal``: applied to the data when stdout is a terminal (a secret
      masked), before --query.
    """

    __slots__ = ("data", "exit_code", "quiet", "path", "table", "structured", "terminal")

    def __init__(self, data: Any, *, exit_code: int = 0, quiet: Any = False, path: str = "",
                 table: Optional[Callable[[Any], Any]] = None, structured: Any = None,
                 terminal: Optional[Callable[[Any], Any]] = None):
        self.data, self.exit_code, self.quiet, self.path = data, int(exit_code), quiet, path
        self.table, self.structured, self.terminal = table, structured, terminal

    @classmethod
    def streamed(cls, exit_code: int = 0) -> Result:
        """The end of a command that wrote its data as it went: only an exit code."""
        return cls(None, exit_code=exit_code, quiet=_ALWAYS)

    def __repr__(self) -> str:
        return f"Result({self.data!r}, exit_code={self.exit_code}, path={self.path!r})"


_ALWAYS = "always"

#: The formats that show a whole document rather than a value.
DOCUMENT_FORMATS = ("json", "jsonc", "yaml")


def default_format(value: Any, stream: Optional[TextIO] = None) -> str:
    if is_scalar(value):
        return "text"
    return "table" if is_terminal(stream) else "json"


def render(result: Any, output: Optional[str] = None, query: Any = None, *,
           stream: Optional[TextIO] = None, env_prefix: str = "IMDS_") -> int:
    """Write ``result`` (a Result, or bare data) to ``stream`` (stdout): every
    format decision is made here. ``query`` (a compiled JMESPath) runs before
    the format. Returns the result's exit code."""
    if not isinstance(result, Result):
        result = Result(result)
    if result.quiet is _ALWAYS or (result.quiet and output is None and query is None):
        return result.exit_code
    stream = stream or sys.stdout
    value, env_base = result.data, result.path
    if isinstance(value, bytes):  # decoded user data: the bytes as they are, whatever -o says
        if output != "none":
            getattr(stream, "buffer", stream).write(value)
        stream.flush()
        return result.exit_code
    if result.structured is not None and output in DOCUMENT_FORMATS:
        value, env_base = result.structured, ""
    if result.terminal is not None and is_terminal(stream):
        value = result.terminal(value)
    if query is not None:
        value = apply_query(query, value)
        env_base = ""
    fmt = output or default_format(value, stream)
    if fmt == "table" and query is None and result.table is not None:
        value = result.table(value)
    if fmt == "env":
        check_env_prefix(env_prefix)
        text = "".join(f"{env_name(k, env_prefix)}={shell_quote(scalar_text(v))}\n"
                       for k, v in flatten(value, env_base))
    else:
        text = _FORMATTERS[fmt](value, stream)
    if text:
        stream.write(text)
    stream.flush()
    return result.exit_code


#: The formats a stream of records can be written in, one line per record.
LINE_FORMATS = ("json", "jsonc", "table", "text", "none")


def line_printer(output: Optional[str], query: Any = None, human: Optional[Callable[[Any], str]] = None,
                 *, what: str = "this command",
                 stream: Optional[TextIO] = None) -> Optional[Callable[[Any], None]]:
    """How a stream of records (``events watch``) is shown: None for -o none,
    else a function writing one line per record: the query's result (a string
    bare, anything else compact JSON), ``human(record)`` for people (a
    terminal, or -o text/table), or the record as JSON."""
    from .errors import UsageError

    fmt = output or default_format({}, stream)
    if fmt not in LINE_FORMATS:
        raise UsageError(f"{what} prints JSON lines or text lines, not {fmt}", "use -o json, text or none")
    if fmt == "none":
        return None
    people = human if fmt in ("table", "text") else None

    def write(record: Any) -> None:
        if query is not None:
            value = apply_query(query, record)
            line = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        else:
            line = people(record) if people is not None else json.dumps(record, ensure_ascii=False)
        out = stream or sys.stdout
        out.write(line + "\n")
        out.flush()

    return write


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


_ENV_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_env_prefix(prefix: str) -> bool:
    """Whether ``prefix`` starts shell variable names: ASCII letters, digits and
    ``_``, not starting with a digit (or nothing)."""
    return not prefix or bool(_ENV_PREFIX.fullmatch(prefix))


def check_env_prefix(prefix: str) -> str:
    """``prefix`` when it starts shell variable names, else UsageError: a name is
    not quoted, so ``eval`` would run whatever else it held."""
    if not is_env_prefix(prefix):
        from .errors import UsageError

        raise UsageError(f"--prefix {ascii(prefix)} does not start a shell variable name: use letters, "
                         "digits and _, not starting with a digit", "e.g. --prefix VM_")
    return prefix


def shell_quote(value: str) -> str:
    """Single-quote a value for sh/bash/dash/zsh: nothing inside is expanded."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


# -- plumbing -----------------------------------------------------------------


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


_FORMATTERS: Dict[str, Callable[[Any, TextIO], str]] = {
    "json": _json,
    "jsonc": _jsonc,
    "yaml": _yaml,
    "table": _table,
    "tsv": _tsv,
    "text": _text,
    "none": _none,
}
