"""The terminal and stderr: whether a stream is a terminal, what it can show,
the rich Console, the spinner, and every line imdsctl writes to stderr.

Data goes to stdout through imdsctl.ui.render; everything else a person reads
goes through here: an error and its hint (``report``), a note while working
(``note``), a ``--debug`` line (``debug``). Commands never print themselves.

Manners: a stderr line always starts at column 0, even while the spinner
turns (it is printed through the spinner's console); it is one line, its
control characters shown escaped (``visible``), whatever the data in it
said, and at most LINE_LIMIT characters (longer is cut: imdsctl.ui.text.cut).
NO_COLOR (set and not empty, as https://no-color.org says) removes colour, not
the spinner; TERM=dumb removes the spinner and box drawing; a stream that
cannot encode UTF-8 gets ASCII rules. rich is imported only when a Console is
needed.
"""

from __future__ import annotations

import os
import re
import sys

from imdsctl.errors import ImdsctlError
from imdsctl.reporter import Reporter
from imdsctl.ui.text import cut

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Any, Callable, List, Optional, TextIO

#: Characters a terminal would act on rather than show: C0 controls, DEL, C1
#: controls (an 8-bit CSI among them) and the bidirectional overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The same, but for text that is shown over several lines (a value on stdout).
_CONTROL_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, lines: bool = False) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\u202e``):
    safe to show on a terminal. With ``lines``, newlines and tabs are kept."""
    return (_CONTROL_IN_LINES if lines else _CONTROL).sub(_escape, text)


def is_terminal(stream: Optional[TextIO] = None) -> bool:
    """Whether ``stream`` (default stdout) is a terminal a person reads."""
    stream = stream if stream is not None else sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def no_color() -> bool:
    """Whether NO_COLOR asks for no colour (set to a non-empty value)."""
    return bool(os.environ.get("NO_COLOR"))


def dumb() -> bool:
    """Whether TERM says the terminal can only print text (no spinner, no box drawing)."""
    return os.environ.get("TERM") == "dumb"


def can_draw(stream: Optional[TextIO] = None) -> bool:
    """Whether box-drawing characters may be written to ``stream``."""
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    return not dumb() and encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")


def make_console(stream: Optional[TextIO] = None, stderr: bool = False) -> Any:
    """The project's rich Console: no markup, no highlighting, and with NO_COLOR
    set no escape codes at all (no colour, no bold)."""
    from rich.console import Console

    plain = no_color()
    return Console(
        color_system=None if plain else "auto",
        file=stream if stream is not None else (sys.stderr if stderr else sys.stdout),
        markup=False,
        highlight=False,
        emoji=False,
        no_color=plain,
        soft_wrap=False,
    )


#: The consoles of the spinners turning now (innermost last): stderr lines go through them.
_SPINNING: List[Any] = []


class spinner:  # noqa: N801 - used as a function: `with spinner("..."):`
    """A spinner on stderr while a person watches (stderr a terminal that can
    move its cursor); nothing otherwise, so scripts and logs see nothing. The
    value of ``with`` is the status (``.update(text)``) or None."""

    def __init__(self, message: str):
        self.message = message
        self._status: Any = None
        self._console: Any = None

    def __enter__(self) -> Any:
        if not is_terminal(sys.stderr) or dumb():
            return None
        self._console = make_console(stderr=True)
        self._status = self._console.status(visible(self.message), spinner="dots")
        status = self._status.__enter__()
        _SPINNING.append(self._console)
        return status

    def __exit__(self, *exc: Any) -> None:
        if self._status is not None:
            _SPINNING.remove(self._console)
            self._status.__exit__(*exc)


class _StatusLine:
    """The one status line on stderr (``events watch``'s last poll): shown in
    place while stdout and stderr are both a terminal that can move its
    cursor (never on a pipe, never in a log), erased before any other line is
    written to the terminal, then drawn again below it."""

    def __init__(self) -> None:
        self.text = ""

    def set(self, text: str) -> None:
        """Show ``text`` (one line, cut to the terminal); ``""`` erases it."""
        if not text:
            self.erase()
            self.text = ""
            return
        if not (is_terminal(sys.stderr) and is_terminal(sys.stdout)) or dumb():
            return
        import shutil

        width = shutil.get_terminal_size().columns - 1  # never the last column: no wrap, no scroll
        self.text = visible(" ".join(text.split()))[:max(width, 0)]
        self.draw()

    def draw(self) -> None:
        if self.text:
            self._write("\r\x1b[2K" + self.text)

    def erase(self) -> None:
        if self.text:
            self._write("\r\x1b[2K")

    @staticmethod
    def _write(text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr is gone: nowhere left to show it
            pass


#: The status line showing now, if any (TerminalReporter.status sets it).
STATUS = _StatusLine()


def _line(text: str) -> None:
    STATUS.erase()
    _say(cut(visible(text)))
    STATUS.draw()


def _say(text: str) -> None:
    try:
        if _SPINNING:  # above the spinner, from column 0
            _SPINNING[-1].print(text, markup=False, highlight=False, soft_wrap=True)
            return
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr is gone or full: nowhere left to say it
        pass


def note(message: str) -> None:
    """A line for people on stderr: ``imdsctl: message``."""
    _line(f"imdsctl: {message}")


def debug(message: str) -> None:
    """A --debug line on stderr: ``debug: message``."""
    _line(f"debug: {message}")


def report(err: ImdsctlError, hint: Optional[str] = None) -> int:
    """An expected failure as one line on stderr (and a ``hint:`` line when
    there is something to try: ``hint``, else the error's own); returns its
    exit code."""
    note(err.message)
    hint = hint if hint is not None else err.hint
    if hint:
        _line(f"hint: {hint}")
    return int(err.exit_code)


class TerminalReporter(Reporter):
    """The reporter of a person at a terminal: notes and --debug lines on
    stderr, the spinner while stderr is a terminal, errors with their hint
    (``hint``: the hint to give for an error, e.g. the command line's)."""

    def __init__(self, hint: Optional[Callable[[ImdsctlError], Optional[str]]] = None):
        self._hint = hint

    def note(self, text: str) -> None:
        note(text)

    def debug(self, text: str) -> None:
        debug(text)

    def spinner(self, text: str) -> Any:
        return spinner(text)

    def status(self, text: str) -> None:
        STATUS.set(text)

    def problem(self, err: Any) -> int:
        return report(err, self._hint(err) if self._hint is not None else None)
