"""The shared options, defined once, and the decorator that runs a command.

``imds_command`` gives a command the IMDS options (--endpoint,
--api-version, --timeout, --debug) and the output options (-o, -q,
--prefix), settles once, at parse time, where each setting came from
(session.api_version_for reads it), opens a Session, calls the command's
function with it, and hands what the function returns to output.render().
A command's function only parses what is its own and calls the domain.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple, Optional

import click
from click.core import ParameterSource

from .. import catalog
from ..errors import exit_code_text
from ..output import FORMATS, compile_query, render
from ..session import COMMANDLINE, DEFAULT, ENVIRONMENT, VARIABLES, Session, Settings

#: ctx.meta key: whether --debug was given (the top-level error path reads it).
DEBUG = "imdsctl.debug"

EPILOG = (
    "\b\nExit codes:\n" + exit_code_text()
    + "\n\n\b\nEnvironment:\n" + "\n".join(f"  {name:<21}{text}" for name, text in VARIABLES)
)

API_VERSION_HELP = (f"Instance api-version (default {catalog.DEFAULT_API_VERSION}, "
                    "or 'latest' to ask IMDS).")


class QueryType(click.ParamType):
    """A JMESPath expression, compiled at parse time: a bad one is a usage error."""

    name = "JMESPATH"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return compile_query(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class FiniteRange(click.FloatRange):
    """A FloatRange that also refuses nan and the infinities: nan passes every
    range check (it compares false with everything) and fails later, in a sleep
    or a date; give a range a finite max, so that 1e308 does not either."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Output(NamedTuple):
    """How a command's result is to be shown: -o, -q and --prefix."""

    format: Optional[str]
    query: Any
    env_prefix: str


_SOURCES = {ParameterSource.COMMANDLINE: COMMANDLINE, ParameterSource.ENVIRONMENT: ENVIRONMENT}


def _source(ctx: click.Context, name: str) -> str:
    return _SOURCES.get(ctx.get_parameter_source(name), DEFAULT)  # type: ignore[arg-type]


def imds_command(fn: Optional[Callable[..., Any]] = None, *, timeout: float = 30.0,
                 api_version_help: str = API_VERSION_HELP, with_output: bool = False,
                 hide_imds_options: bool = False) -> Any:
    """Add the shared options to a command whose function takes (imds, **params)
    - or (imds, out, **params) with ``with_output`` - and returns a Result (or
    bare data), and render it.

    ``timeout`` is the command's default time budget (IMDSCTL_TIMEOUT and
    --timeout still win); ``api_version_help`` is --api-version's help where it
    means another version set; ``hide_imds_options`` hides --endpoint,
    --api-version and --timeout (a command that reads files, not IMDS).
    """
    if fn is None:
        return functools.partial(imds_command, timeout=timeout, api_version_help=api_version_help,
                                 with_output=with_output, hide_imds_options=hide_imds_options)

    hidden = hide_imds_options

    @click.option("--endpoint", envvar="IMDSCTL_ENDPOINT", default=catalog.DEFAULT_ENDPOINT,
                  show_default=True, metavar="URL", hidden=hidden, help="IMDS base URL.")
    @click.option("--api-version", envvar="IMDSCTL_API_VERSION", metavar="VERSION", hidden=hidden,
                  help=api_version_help)
    @click.option("--timeout", envvar="IMDSCTL_TIMEOUT",
                  type=FiniteRange(min=0, min_open=True, max=86400),
                  default=timeout, show_default=True, metavar="SECONDS", hidden=hidden,
                  help="Total time budget for all attempts and retries.")
    @click.option("-o", "--output", envvar="IMDSCTL_OUTPUT", type=click.Choice(FORMATS),
                  help="Output format [default: text for a value; table on a terminal, "
                       "else json, for the rest].")
    @click.option("-q", "--query", type=QueryType(),
                  help="JMESPath query applied before formatting, as in the az CLI.")
    @click.option("--prefix", "env_prefix", default="IMDS_", show_default=True, metavar="PREFIX",
                  help="Variable name prefix for -o env.")
    @click.option("--debug", is_flag=True, help="Log requests, retries and timings to stderr.")
    @functools.wraps(fn)
    def command(endpoint: str, api_version: Optional[str], timeout: float, output: Optional[str],
                query: Any, env_prefix: str, debug: bool, **params: Any) -> int:
        ctx = click.get_current_context()
        ctx.meta[DEBUG] = debug
        settings = Settings(endpoint, api_version, timeout, debug,
                            _source(ctx, "endpoint"), _source(ctx, "api_version"))
        out = Output(output, query, env_prefix)
        with Session(settings) as imds:
            result = fn(imds, out, **params) if with_output else fn(imds, **params)
        return render(result, output, query, env_prefix=env_prefix)

    return command


def complete_words(words: Callable[[], Any]) -> Callable[..., Any]:
    """Shell completion (and the generated completion scripts) from a list of words."""
    return lambda ctx, param, incomplete: [w for w in words() if w.startswith(incomplete)]


def checked(check: Callable[[str], Any]) -> Callable[..., Any]:
    """A click callback from a domain check that raises ValueError: a usage error."""
    def callback(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Any:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return callback
