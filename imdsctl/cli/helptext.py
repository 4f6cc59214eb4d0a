"""--help laid out for people at 80 columns (as az and gh print it).

A command's own options, its fields and examples come first, the shared
options after them; text wraps between words only (click would break
``api-version`` at its hyphen, and any word longer than the room); the
preformatted blocks (exit codes, environment, the emulator's spec syntax) are
wrapped to 78 columns when they are built, and an example too long for its
line is continued with `` \\`` between shell words, never inside a quote.
"""

from __future__ import annotations

import contextlib
import re
import textwrap
from typing import Any, Iterator, List, Sequence, Tuple

import click

from imdsctl.errors import EXIT_CODES
from imdsctl.session import VARIABLES

#: The width the preformatted blocks are built for: an 80-column help.
WIDTH = 78


def rows(pairs: Sequence[Tuple[str, str]], width: int = WIDTH) -> str:
    """(term, text) rows as a block that fits ``width`` columns, the text
    wrapped between words under itself."""
    indent = 2 + max(len(term) for term, _ in pairs) + 2
    return "\n".join(textwrap.fill(text, width, initial_indent=f"  {term:<{indent - 2}}",
                                   subsequent_indent=" " * indent, break_on_hyphens=False,
                                   break_long_words=False) for term, text in pairs)


def fit_block(text: str, width: int = WIDTH) -> str:
    """Preformatted lines (a ``\\b`` block) that fit ``width``: a longer line
    wraps between words, under the text of its second column when it has one
    (``Label: text``, or two spaces or more after its first word), else under
    itself."""
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        column = re.match(r"\s*\S+:\s|\s*\S+\s{2,}", line)
        lead = column.end() if column and column.end() < width // 2 else len(line) - len(line.lstrip())
        out.append(textwrap.fill(line, width, subsequent_indent=" " * lead, break_on_hyphens=False,
                                 break_long_words=False))
    return "\n".join(out)


def shell_words(line: str) -> List[str]:
    """``line`` cut at the blanks a shell splits at (none inside quotes), each
    word as typed."""
    words, word, quote = [], "", ""
    for char in line:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == " ":
            if word:
                words.append(word)
            word = ""
            continue
        word += char
    return words + ([word] if word else [])


def example_lines(line: str, indent: int, width: int = WIDTH) -> List[str]:
    """An example command line that fits ``width`` from ``indent``: continued
    with `` \\`` between shell words (the shell reads it back as one line),
    the continuations two columns further in."""
    room = max(width - indent - 2, 20)
    if len(line) <= width - indent:
        return [line]
    pieces: List[str] = []
    for word in shell_words(line):
        if pieces and len(pieces[-1]) + 1 + len(word) <= room - (2 if len(pieces) > 1 else 0):
            pieces[-1] += " " + word
        else:
            pieces.append(word)
    return [p + " \\" for p in pieces[:-1]] + [pieces[-1]]


EPILOG = (
    "\b\nExit codes:\n" + rows([(str(int(code)), meaning) for code, meaning in EXIT_CODES])
    + "\n\n\b\nEnvironment:\n" + rows(VARIABLES)
)


@contextlib.contextmanager
def unbroken_words() -> Iterator[None]:
    """While --help is written: click wraps between words only, never inside
    one. click builds its TextWrapper from ``click._textwrap`` at each call
    (8.1 and newer); it is put back when the help is written."""
    from click import _textwrap

    plain = _textwrap.TextWrapper

    class Whole(plain):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "break_on_hyphens": False, "break_long_words": False})

    _textwrap.TextWrapper = Whole  # type: ignore[misc]
    try:
        yield
    finally:
        _textwrap.TextWrapper = plain  # type: ignore[misc]


def write_sections(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter,
                   shared: Sequence[str], fields: Sequence[Any],
                   examples: Sequence[Tuple[str, str]]) -> None:
    """A command's options, fields, examples, then the options named in
    ``shared``, then (a group) its commands."""
    own: List[Tuple[str, str]] = []
    common: List[Tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is not None:
            (common if param.name in shared else own).append(record)
    if own:
        with formatter.section("Options"):
            formatter.write_dl(own)
    if fields:
        with formatter.section("Fields"):
            formatter.write_dl([(f.name + (f" ({', '.join(f.aliases)})" if f.aliases else ""), f.help)
                                for f in fields])
    if examples:
        with formatter.section("Examples"):
            for text, line in examples:
                formatter.write_text(text)
                indent = formatter.current_indent + 2
                for piece in example_lines(line, indent, formatter.width or 80):
                    formatter.write(f"{'':>{indent}}{piece}\n")
                    indent = formatter.current_indent + 4
    if common:
        with formatter.section("Shared options"):
            formatter.write_dl(common)
    if isinstance(command, click.Group):
        command.format_commands(ctx, formatter)
