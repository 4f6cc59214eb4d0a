"""The terminal and stderr: whether a stream is a terminal, the rich Console,
the spinner, and every line imdsctl writes to stderr.

Data goes to stdout through imdsctl.output; everything else a person reads
goes through here: an error and its hint (``report``), a note while working
(``note``), a ``--debug`` line (``debug``). Commands never print themselves.
rich is imported only when a Console is needed.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional, TextIO

from .errors import ImdsctlError


def is_terminal(stream: Optional[TextIO] = None) -> bool:
    """Whether ``stream`` (default stdout) is a terminal a person reads."""
    stream = stream if stream is not None else sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_console(stream: Optional[TextIO] = None, stderr: bool = False) -> Any:
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


def spinner(message: str) -> Any:
    """A spinner on stderr while a person watches (stderr a terminal); a no-op
    context otherwise, so scripts and logs see nothing."""
    if not is_terminal(sys.stderr):
        import contextlib

        return contextlib.nullcontext()
    return make_console(stderr=True).status(message, spinner="dots")


def _line(text: str) -> None:
    stream = sys.stderr
    stream.write(text + "\n")
    stream.flush()


def note(message: str) -> None:
    """A line for people on stderr: ``imdsctl: message``."""
    _line(f"imdsctl: {message}")


def debug(message: str) -> None:
    """A --debug line on stderr: ``debug: message``."""
    _line(f"debug: {message}")


def report(err: ImdsctlError) -> int:
    """An expected failure as one line on stderr (and a ``hint:`` line when
    there is something to try); returns its exit code."""
    note(err.message)
    if err.hint:
        _line(f"hint: {err.hint}")
    return int(err.exit_code)
