"""Exit codes and the typed errors that carry them.

The exit codes are a contract with the scripts that call imdsctl: they appear
in --help, the README and the man page (all generated from EXIT_CODES below)
and each one has a test.
"""

from __future__ import annotations

from enum import IntEnum

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: these modules are on the start-up path
    from typing import Dict, Optional, Tuple


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4
    UNAVAILABLE = 5
    UNREACHABLE = 6
    NOT_IMDS = 7
    OUTPUT = 8
    INTERRUPTED = 130


#: (code, meaning) in the order they are documented.
EXIT_CODES: Tuple[Tuple[ExitCode, str], ...] = (
    (ExitCode.OK, "success"),
    (ExitCode.INTERNAL, "internal error (a bug in imdsctl; please report it)"),
    (ExitCode.USAGE, "usage error: bad option, bad --query, unknown field"),
    (ExitCode.NOT_FOUND, "not found: IMDS answered 404, or the field is absent"),
    (ExitCode.REFUSED, "IMDS refused the request (400, 403, 405 or another 4xx)"),
    (ExitCode.UNAVAILABLE,
     "IMDS kept failing (410, 429, 5xx, dropped or unfinished answers) until the time budget ran out"),
    (ExitCode.UNREACHABLE, "IMDS unreachable or timed out (not on Azure, no route, firewall)"),
    (ExitCode.NOT_IMDS, "something other than IMDS answered (redirect, HTML, malformed or oversized body)"),
    (ExitCode.OUTPUT, "the output could not be written (disk full, I/O error)"),
    (ExitCode.INTERRUPTED, "interrupted (Ctrl-C)"),
)


def exit_code_text(indent: str = "  ") -> str:
    """The exit-code table as plain text, for --help epilogs."""
    return "\n".join(f"{indent}{int(code):<4}{meaning}" for code, meaning in EXIT_CODES)


def one_line(text: str, limit: int = 200) -> str:
    """Words from a server, fit for an error line: one line, no control
    characters (no forged second line, no terminal escapes), ``limit`` at most."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text[:limit] + ("..." if len(text) > limit else "")


class ImdsctlError(Exception):
    """Base of every expected failure. ``str(err)`` is the one-line message;
    ``hint`` an optional second line telling the caller what to try, in words
    that hold for a program as for a person (no command-line option).

    ``cause`` names what a front end may advise in its own words (the command
    line's hints, imdsctl.cli.hints, name its options), with ``detail`` the
    values that advice needs: e.g. ``cause="api-version-too-old"``,
    ``detail={"appeared": "2021-01-01"}``."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, hint: Optional[str] = None, *, cause: str = "",
                 detail: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.cause = cause
        self.detail: Dict[str, str] = dict(detail or {})


class InternalError(ImdsctlError):
    """A bug in imdsctl: an exception nobody expected."""

    exit_code = ExitCode.INTERNAL

    @classmethod
    def of(cls, exc: BaseException, detail: bool = False) -> InternalError:
        """The error for ``exc``. Its text may quote data (even a token): only
        with ``detail`` (--debug) is it shown."""
        return cls(f"internal error: {type(exc).__name__}" + (f": {exc}" if detail else ""),
                   "this is a bug in imdsctl; rerun with --debug and report it")


class UsageError(ImdsctlError):
    exit_code = ExitCode.USAGE


class NotFoundError(ImdsctlError):
    exit_code = ExitCode.NOT_FOUND


class ImdsHttpError(ImdsctlError):
    """IMDS answered with an error status."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str, hint: Optional[str] = None, *, status: int = 0,
                 body: object = None, url: str = "", cause: str = "",
                 detail: Optional[Dict[str, str]] = None):
        super().__init__(message, hint, cause=cause, detail=detail)
        self.status = status
        self.body = body
        self.url = url


class RefusedError(ImdsHttpError):
    exit_code = ExitCode.REFUSED


class ImdsNotFoundError(ImdsHttpError):
    """IMDS answered 404 for the path."""

    exit_code = ExitCode.NOT_FOUND


class UnavailableError(ImdsHttpError):
    """IMDS kept answering 410/429/5xx until the time budget ran out."""

    exit_code = ExitCode.UNAVAILABLE


class UnreachableError(ImdsctlError):
    exit_code = ExitCode.UNREACHABLE


class NotImdsError(ImdsctlError):
    """The answer did not come from IMDS: redirect, HTML, malformed, oversized."""

    exit_code = ExitCode.NOT_IMDS


class OutputError(ImdsctlError):
    """stdout (or a file asked for) could not be written: not a bug, and not IMDS."""

    exit_code = ExitCode.OUTPUT


class Interrupted(ImdsctlError):
    exit_code = ExitCode.INTERRUPTED
