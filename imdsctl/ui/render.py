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

import codecs
import json
import re
import sys

from imdsctl.errors import OutputError, UsageError
from imdsctl.result import ALWAYS, Result
from imdsctl.ui.shapes import flatten, is_scalar, scalar_text
from imdsctl.ui.terminal import STATUS, is_terminal, make_console, note, visible

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

#: Every format, and what it prints (the README and the man page show this table).
FORMAT_HELP = {
    "json": "indented JSON",
    "jsonc": "the same, coloured on a terminal",
    "yaml": "block-style YAML",
    "table": "a table for people: a list of objects becomes rows, an object becomes key/value rows with "
             "nested keys flattened (``a.b[0].c``); the default for a container on a terminal",
    "tsv": "az's rules: a value bare, a list one element per line, an object as its values separated "
           "by tabs (nested lists and objects left out: pick them with -q, e.g. "
           "``-q '[].[nic, privateIps[0]]'``)",
    "text": "a value bare (the default for a value); a container as ``key<TAB>value`` lines, flattened",
    "env": "``NAME='value'`` lines, single-quoted so that ``eval`` in sh, bash, dash and zsh is safe; "
           "``--prefix`` changes ``IMDS_``",
    "none": "nothing",
}
FORMATS = tuple(FORMAT_HELP)


def compile_query(expression: str):
    """Compile a JMESPath expression; ValueError with a readable message if bad."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        from imdsctl.ui.query import jmespath_spelling

        message = " ".join(str(exc).split())
        spelled = jmespath_spelling(expression)
        if spelled is not None:  # jq's habit
            message += f"; --query is JMESPath (as in the az CLI), not jq: try -q {shell_quote(spelled)}"
        raise ValueError(f"invalid JMESPath query {expression!r}: {message}") from None
    except RecursionError:  # a literal nested thousands deep
        raise ValueError(f"invalid JMESPath query {expression[:40]!r}...: nested too deep") from None


def apply_query(query: Any, value: Any) -> Any:
    """Run a compiled JMESPath query; a query that fails on this data is a usage
    error whose message names the function and types, never the value (it may
    be a secret, such as an access token)."""
    from jmespath.exceptions import JMESPathError, JMESPathTypeError

    from imdsctl.imds.answers import Malformed, check

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
    if result.quiet is ALWAYS or (result.quiet and output is None and query is None):
        return result.exit_code
    stream = stream or sys.stdout
    try:
        _write(result, output, query, stream, env_prefix)
    except BrokenPipeError:
        raise
    except OSError as exc:  # a full disk, an I/O error: not a bug, and not IMDS
        raise OutputError(f"cannot write the output: {exc.strerror or exc}",
                          "check the disk or the file the output goes to") from None
    return result.exit_code


def _write(result: Result, output: Optional[str], query: Any, stream: TextIO, env_prefix: str) -> None:
    value, env_base = result.data, result.path
    if isinstance(value, bytes):  # decoded user data: the bytes as they are, whatever -o says
        if output != "none":
            binary: Any = getattr(stream, "buffer", stream)
            binary.write(value)
        stream.flush()
        return
    if result.structured is not None and output in DOCUMENT_FORMATS:
        value, env_base = result.structured, ""
    person = is_terminal(stream)
    if result.terminal is not None and person:
        value = result.terminal(value)
    if query is not None:
        from imdsctl.ui.query import unknown_names

        found = apply_query(query, value)
        for line in unknown_names(query, value, found):  # said, not failed: scripts keep their exit code
            note(line)
        value, env_base = found, ""
    fmt = output or default_format(value, stream)
    if fmt == "table" and query is None:
        value = _people(result, value)
    if person and fmt not in DOCUMENT_FORMATS:  # a value meant to be seen: its controls shown, not obeyed
        value = _visible(value)
    if fmt == "env":
        text = _env(value, env_base, env_prefix)
    else:
        text = _FORMATTERS[fmt](value, stream)
    if text:
        stream.write(encodable(text, stream))
    stream.flush()


def _people(result: Result, value: Any) -> Any:
    """The table view: the result's own, or the one of the path it came from
    (the storage profile as a disks table, however it was asked)."""
    if result.table is not None:
        return result.table(value)
    from imdsctl.ui import disks

    return disks.Disks(value) if result.path == disks.PATH and isinstance(value, dict) else value


def _json_escape(error: UnicodeError) -> Tuple[str, int]:
    """What a stream cannot encode, as JSON's escapes (``\\u20ac``; a surrogate pair past U+FFFF)."""
    assert isinstance(error, UnicodeEncodeError)
    out = []
    for ch in error.object[error.start:error.end]:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), error.end


def encodable(text: str, stream: Any) -> str:
    """``text`` as ``stream`` can write it: what its encoding (latin-1, a C
    locale's ASCII) cannot carry becomes ``\\uXXXX`` escapes, which JSON reads
    back as the same characters, and one note says so (once per stream)."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return text
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:
        return text
    codecs.register_error("imdsctl-json-escape", _json_escape)
    if not getattr(stream, "_imdsctl_noted", False):
        note(f"stdout's encoding ({encoding}) cannot encode some characters: written as \\uXXXX escapes "
             "(a UTF-8 locale or PYTHONIOENCODING=utf-8 writes them as they are)")
        try:
            stream._imdsctl_noted = True
        except AttributeError:
            pass
    return text.encode(encoding, "imdsctl-json-escape").decode(encoding)


def _visible(value: Any) -> Any:
    """``value`` with the control characters of every string (keys too) escaped."""
    if isinstance(value, str):
        return visible(value, lines=True)
    if isinstance(value, dict):
        return {_visible(k): _visible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_visible(v) for v in value]
    if isinstance(value, tuple):  # a Captioned table
        return type(value)(*(_visible(v) for v in value))
    return value


#: The formats a stream of records can be written in, one line per record.
LINE_FORMATS = ("json", "jsonc", "table", "text", "none")


def line_printer(output: Optional[str], query: Any = None, human: Optional[Callable[[Any], str]] = None,
                 *, what: str = "this command", stream: Optional[TextIO] = None,
                 fitted: Optional[Callable[[Any, int], List[str]]] = None) -> Optional[Callable[[Any], None]]:
    """How a stream of records (``events watch``) is shown: None for -o none,
    else a function writing one line per record: the query's result (a string
    bare, anything else compact JSON), ``human(record)`` for people (a
    terminal, or -o text/table), or the record as JSON. On a terminal,
    ``fitted(record, columns)`` gives a person's lines instead, to fit its
    width (above the status line, if one shows). A line's control characters
    are escaped, on a terminal or not: a record is one line (or, fitted, the
    lines it was given)."""
    fmt = output or default_format({}, stream)
    if fmt not in LINE_FORMATS:
        raise UsageError(f"{what} prints JSON lines or text lines, not {fmt}", "use -o json, text or none")
    if fmt == "none":
        return None
    people = human if fmt in ("table", "text") else None

    def write(record: Any) -> None:
        out = stream or sys.stdout
        if query is not None:
            value = apply_query(query, record)
            lines = [value if isinstance(value, str) else dump_json(value, indent=None)]
        elif people is not None and fitted is not None and is_terminal(out):
            import shutil

            lines = fitted(record, shutil.get_terminal_size().columns)
        else:
            lines = [people(record) if people is not None else dump_json(record, indent=None)]
        STATUS.erase()
        try:
            out.write(encodable("".join(visible(line) + "\n" for line in lines), out))  # whatever they hold
            out.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # a full disk, an I/O error, as render says it
            raise OutputError(f"cannot write the output: {exc.strerror or exc}",
                              "check the disk or the file the output goes to") from None
        STATUS.draw()

    return write


# -- formatters: each returns the whole text, ending in one newline (or "") ---


#: What JSON with ensure_ascii=False leaves raw but a terminal would act on: DEL, the C1
#: controls and the bidirectional overrides (json.dumps escapes the C0 controls itself).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def dump_json(value: Any, indent: Optional[int] = 2) -> str:
    """JSON for people and programs alike: UTF-8 as it is, every control escaped."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _json(value: Any, stream: TextIO) -> str:
    return dump_json(value) + "\n"


def _jsonc(value: Any, stream: TextIO) -> str:
    console = make_console(stream)
    if not console.is_terminal or console.no_color:
        return _json(value, stream)
    from rich.json import JSON

    console.print(JSON(dump_json(value)), soft_wrap=True)
    return ""


def _yaml(value: Any, stream: TextIO) -> str:
    import yaml

    # A string holding what a terminal would act on (PyYAML writes some of them raw) is
    # written with YAML's escapes instead: the same document, with nothing hidden in it.
    plain = not _JSON_UNSAFE.search(json.dumps(value, ensure_ascii=False))
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=plain)
    return text[:-4] if is_scalar(value) and text.endswith("\n...\n") else text  # no document end marker


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
    from imdsctl.ui.tables import table

    return table(value, stream)


# -- env: NAME='value' lines ----------------------------------------------------

_NAME_BAD = re.compile(r"[^A-Za-z0-9]+")


_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|")


def check_env_prefix(prefix: str) -> str:
    """``prefix`` when it makes valid shell variable names (letters, digits and
    underscores, not starting with a digit); ValueError otherwise."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"{prefix!r} does not make shell variable names: use letters, digits and _, "
                         "not starting with a digit (e.g. VM_)")
    return prefix


def _env(value: Any, base: str, prefix: str) -> str:
    """``NAME='value'`` lines; two values whose names come out the same is an error."""
    lines: List[str] = []
    seen: Dict[str, str] = {}
    for key, item in flatten(value, base):
        name = env_name(key, prefix)
        if name in seen:
            raise UsageError(f"-o env would name both {seen[name]} and {key} {name}",
                             "pick one with --query, or use -o json")
        seen[name] = key
        lines.append(f"{name}={shell_quote(scalar_text(item))}\n")
    return "".join(lines)


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


_FORMATTERS: Dict[str, Callable[[Any, TextIO], str]] = {
    "json": _json,
    "jsonc": _jsonc,
    "yaml": _yaml,
    "table": _table,
    "tsv": _tsv,
    "text": _text,
    "none": _none,
}
