"""The three client settings read from the environment, each with its one parser.

``IMDSCTL_ENDPOINT``, ``IMDSCTL_API_VERSION`` and ``IMDSCTL_TIMEOUT`` mean the
same to the command line (click reads them with these parsers, through
``session.Settings``), to ``Session()`` and to ``ImdsClient()``: a value given
as an argument wins, an empty variable is no variable, and a bad value is a
UsageError naming the variable.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: this module is on the start-up path
    from typing import Callable, Mapping, Optional, TypeVar

    T = TypeVar("T")

ENDPOINT, API_VERSION, TIMEOUT = "IMDSCTL_ENDPOINT", "IMDSCTL_API_VERSION", "IMDSCTL_TIMEOUT"
MAX_TIMEOUT = 86400.0


def check_api_version(value: str) -> str:
    """``value`` when it has an api-version's form (a date, YYYY-MM-DD, or ``latest``); ValueError if not."""
    import re

    from imdsctl import catalog

    if not value.isascii():
        return value  # not UTF-8, or not ASCII: refused by imds/endpoint.py in its own words
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?|latest", value):
        raise ValueError(f"{value!r} is not an api-version: a date, YYYY-MM-DD (e.g. "
                         f"{catalog.DEFAULT_API_VERSION}), or latest")
    return value


def seconds(value: str) -> float:
    """A number of seconds with an optional ``s`` (``30``, ``1.5s``), finite; ValueError if not."""
    text = value.strip()
    text = text[:-1] if text.endswith("s") else text
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds, e.g. 30 or 30s") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not a finite number of seconds")
    return number


def timeout(value: str) -> float:
    """A time budget: seconds() in (0, 86400]; ValueError if not."""
    number = seconds(value)
    if not 0 < number <= MAX_TIMEOUT:
        raise ValueError(f"{value.strip()!r} is not in the range 0 < seconds <= {MAX_TIMEOUT:g}")
    return number


def read(environ: Mapping[str, str], name: str, parse: Callable[[str], T]) -> Optional[T]:
    """The parsed value of the variable ``name`` in ``environ``, None when unset or empty."""
    value = environ.get(name)
    if not value:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        from imdsctl.errors import UsageError

        raise UsageError(f"{name}={value!r}: {exc}", f"set {name} to a valid value, or unset it",
                         cause="bad-environment", detail={"variable": name}) from None


def environment(environ: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    """``environ``, or the process's environment when None."""
    if environ is not None:
        return environ
    import os

    return os.environ
