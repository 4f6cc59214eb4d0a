"""The shared options, defined once, and the decorators that run a command.

Every shared option (SHARED) is accepted after the command that uses it and
before its name, as people type them with kubectl, gh or az
(``imdsctl --debug compute vm-id``); the one given after the command wins.
A command is offered only the options it uses, and one given before a
command that does not use it is a usage error.

``imds_command`` gives a command the IMDS options (--endpoint,
--api-version, --timeout, --debug) and the output options (-o, -q,
--prefix), settles once, at parse time, where each setting came from
(session.api_version_for reads it), opens a Session, calls the command's
function with it, and hands what the function returns to output.render().
``output_command`` does the same for a command that never talks to IMDS.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Type

import click
from click.core import ParameterSource

from imdsctl import catalog
from imdsctl.cli.helptext import unbroken_words, write_sections
from imdsctl.cli.hints import hint
from imdsctl.errors import UsageError
from imdsctl.imds.environ import seconds
from imdsctl.imds.handover import Attempt
from imdsctl.session import COMMANDLINE, DEFAULT, ENVIRONMENT, Session, Settings
from imdsctl.session import check_api_version as check_api_version_form
from imdsctl.ui.render import FORMATS, check_env_prefix, compile_query, render
from imdsctl.ui.terminal import TerminalReporter

#: ctx.meta keys: whether --debug was given (the error path reads it), and the
#: shared options given before the command: {name: (option as typed, value)}.
DEBUG = "imdsctl.debug"
GLOBAL = "imdsctl.global"


#: What the command line gives every Session: notes, spinners and --debug lines on
#: stderr, errors with the command line's hints.
REPORTER = TerminalReporter(hint=hint)


API_VERSION_HELP = (f"Instance api-version (default {catalog.DEFAULT_API_VERSION}, "
                    "or 'latest' to ask IMDS).")


class Parsed(click.ParamType):
    """A value that a domain function parses (and checks) at parse time: its
    error is a usage error naming the option."""

    def __init__(self, name: str, parse: Callable[[str], Any], error: Type[Exception] = ValueError):
        self.name, self._parse, self._error = name, parse, error

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):  # a default already parsed, or a value click converted before
            return value
        try:
            return self._parse(value)
        except self._error as exc:
            self.fail(str(exc), param, ctx)


#: A JMESPath expression, compiled at parse time; a prefix for -o env names,
#: which must make valid shell variable names.
QUERY = Parsed("JMESPATH", compile_query)


def check_api_version(value: str, what: str = "--api-version") -> str:
    """``value`` when it is an api-version (check_api_version_form); else a usage error naming ``what``."""
    try:
        return check_api_version_form(value)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}", "pass --api-version YYYY-MM-DD or latest") from None
PREFIX = Parsed("PREFIX", check_env_prefix)


class EnvOption(click.Option):
    """An option that blames its environment variable, not itself, for a bad
    value that came from there (``IMDSCTL_OUTPUT=bogus``)."""

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as exc:
            if ctx.get_parameter_source(self.name) is ParameterSource.ENVIRONMENT and self.envvar:
                exc.param_hint = str(self.envvar)
            raise


class Shared(NamedTuple):
    """A shared option: its declarations, what it is, and what only the
    command form has (environment variable, default)."""

    decls: Tuple[str, ...]
    base: Dict[str, Any]
    own: Dict[str, Any]


class FiniteRange(click.FloatRange):
    """A FloatRange of seconds: a number with an optional ``s`` (``30``, ``1.5s``);
    it also refuses nan and infinities (which compare false to any bound)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str):
            try:  # the one parser of seconds, the library's too (imds/environ.py)
                value = seconds(value)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number


TIMEOUT = FiniteRange(min=0, min_open=True, max=86400)
OUTPUT_HELP = ("Output format [default: text for a value; table on a terminal, else json, for the rest]. "
               "tsv leaves nested lists and objects out, as az does: pick them with -q.")

#: Every shared option, in the order --help lists them.
SHARED: Dict[str, Shared] = {
    "max_age": Shared(("--max-age",), dict(type=FiniteRange(min=0), metavar="SECONDS", help=(
        "Answer from a snapshot of the instance document younger than this, kept per boot in a "
        "private runtime directory (default 0: always ask IMDS).")),
        dict(envvar="IMDSCTL_MAX_AGE", default=0)),
    "endpoint": Shared(("--endpoint",), dict(metavar="URL", help="IMDS base URL."),
                       dict(envvar="IMDSCTL_ENDPOINT", default=catalog.DEFAULT_ENDPOINT, show_default=True)),
    "api_version": Shared(("--api-version",), dict(type=Parsed("VERSION", check_api_version_form),
                                                   metavar="VERSION", help=API_VERSION_HELP),
                          dict(envvar="IMDSCTL_API_VERSION")),
    "timeout": Shared(("--timeout",), dict(type=TIMEOUT, metavar="SECONDS",
                                           help="Total time budget for all attempts and retries."),
                      dict(envvar="IMDSCTL_TIMEOUT", show_default=True)),
    "output": Shared(("-o", "--output"), dict(type=click.Choice(FORMATS), help=OUTPUT_HELP),
                     dict(envvar="IMDSCTL_OUTPUT")),
    "query": Shared(("-q", "--query"), dict(type=QUERY, help=(
        "JMESPath query applied before formatting, as in the az CLI.")), {}),
    "env_prefix": Shared(("--prefix", "env_prefix"), dict(type=PREFIX, metavar="PREFIX",
                                                          help="Variable name prefix for -o env."),
                         dict(default="IMDS_", show_default=True)),
    "via": Shared(("--via",), dict(type=click.Choice(("auto", "imds", "systemd-imds")), help=(
        "The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked "
        "route leaves); auto does so when that route locks IMDS and the socket exists.")),
        dict(envvar="IMDSCTL_VIA", default="auto", show_default=True)),
    "debug": Shared(("--debug",), dict(is_flag=True, help="Log requests, retries and timings to stderr."),
                    {}),
}


def shared_option(name: str, **overrides: Any) -> Callable[[Any], Any]:
    """The command form of a shared option (``overrides``: e.g. its default)."""
    spec = SHARED[name]
    return click.option(*spec.decls, cls=EnvOption, **{**spec.base, **spec.own, **overrides})


def global_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared options on the top-level group: no default, no variable."""
    for spec in reversed(list(SHARED.values())):
        fn = click.option(*spec.decls, **spec.base)(fn)
    return fn


def remember_globals(ctx: click.Context, params: Dict[str, Any]) -> None:
    """Keep the shared options given before the command, for it to take."""
    given = {}
    for name, value in params.items():
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            param = next(p for p in ctx.command.params if p.name == name)
            given[name] = (param.opts[-1], value)
    ctx.meta[GLOBAL] = given


def _foreign_globals(ctx: click.Context) -> None:
    """A usage error for a shared option typed before a command that does not use it."""
    own = {p.name for p in ctx.command.params}
    foreign = [typed for name, (typed, _) in ctx.meta.get(GLOBAL, {}).items() if name not in own]
    if foreign:
        path = " ".join(["imdsctl", *ctx.command_path.split()[1:]])
        raise click.UsageError(f"'{path}' does not take {', '.join(foreign)}", ctx)


def apply_globals(ctx: click.Context, strict: bool = True) -> None:
    """Give the command the shared options typed before its name, unless typed
    after it too; with ``strict``, one it does not use is a usage error."""
    if strict:
        _foreign_globals(ctx)
    own = {p.name for p in ctx.command.params}
    for name, (_, value) in ctx.meta.get(GLOBAL, {}).items():
        if name in own and ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            ctx.params[name] = value
            ctx.set_parameter_source(name, ParameterSource.COMMANDLINE)


class _Documented:
    """A command's help: its own options, its Fields (from the catalog, with
    their aliases, wrapped to the terminal like the options) and Examples
    first, then the shared options (as az and gh print them), then the
    epilog. ``examples`` are (what it shows, command line) pairs, also in the
    man page."""

    def __init__(self, *args: Any, fields: Tuple[Any, ...] = (),
                 examples: Tuple[Tuple[str, str], ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields, self.examples = fields, examples

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with unbroken_words():
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        write_sections(self, ctx, formatter, tuple(SHARED), self.fields, self.examples)  # type: ignore[arg-type]


class Command(_Documented, click.Command):
    """Every command: takes the shared options typed before its name (checked
    before its own arguments, so that the first error named is the right one)."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        _foreign_globals(ctx)
        try:
            rest = super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.ctx = exc.ctx or ctx  # click's parser leaves it out: the hint names this command
            raise
        apply_globals(ctx, strict=False)
        return rest


def suggesting(resolve: Callable[..., Any], group: click.Group, ctx: click.Context, args: List[str]) -> Any:
    """``resolve(ctx, args)``, a mistyped command name answered with the
    nearest of the group's commands (every level, on click 8.1 too)."""
    try:
        return resolve(ctx, args)
    except click.UsageError as exc:
        name = args[0] if args else ""
        if not name or name.startswith("-") or group.get_command(ctx, name) is not None:
            raise
        import difflib

        near = difflib.get_close_matches(name, group.list_commands(ctx), n=3, cutoff=0.6)
        if not near:
            raise
        raise click.UsageError(f"No such command {name!r}. Did you mean {' or '.join(map(repr, near))}?",
                               ctx) from exc


class Group(_Documented, click.Group):
    """A command group; its commands are Commands."""

    command_class = Command

    def resolve_command(self, ctx: click.Context, args: List[str]) -> Any:
        return suggesting(super().resolve_command, self, ctx, args)


def command(name: Optional[str] = None, **attrs: Any) -> Callable[[Any], click.Command]:
    """click.command, as a Command."""
    return click.command(name, cls=Command, **attrs)


class Output(NamedTuple):
    """How a command's result is to be shown: -o, -q and --prefix."""

    format: Optional[str]
    query: Any
    env_prefix: str


_SOURCES = {ParameterSource.COMMANDLINE: COMMANDLINE, ParameterSource.ENVIRONMENT: ENVIRONMENT}


def _source(ctx: click.Context, name: str) -> str:
    return _SOURCES.get(ctx.get_parameter_source(name), DEFAULT)  # type: ignore[arg-type]


def _output_options(fn: Callable[..., Any], env: bool = True) -> Callable[..., Any]:
    names = ("output", "query", "env_prefix") if env else ("output", "query")
    for name in reversed(names):
        fn = shared_option(name)(fn)
    return fn


def imds_command(fn: Optional[Callable[..., Any]] = None, *, timeout: float = catalog.DEFAULT_TIMEOUT,
                 api_version_help: str = API_VERSION_HELP, with_output: bool = False,
                 env: bool = True) -> Any:
    """Add the shared options to a command whose function takes (imds, **params)
    - or (imds, out, **params) with ``with_output`` - and returns a Result (or
    bare data), and render it.

    ``timeout`` is the command's default time budget (IMDSCTL_TIMEOUT and
    --timeout still win); ``api_version_help`` is --api-version's help where it
    means another version set; ``env=False`` leaves --prefix out (a command
    that cannot print -o env).
    """
    if fn is None:
        return functools.partial(imds_command, timeout=timeout, api_version_help=api_version_help,
                                 with_output=with_output, env=env)

    @functools.wraps(fn)
    def run(endpoint: str, api_version: Optional[str], timeout: float, output: Optional[str],
            query: Any, debug: bool, env_prefix: str = "IMDS_", via: str = "auto", **params: Any) -> int:
        ctx = click.get_current_context()
        ctx.meta[DEBUG] = debug
        settings = Settings(endpoint, api_version, timeout, debug,
                            _source(ctx, "endpoint"), _source(ctx, "api_version"), via)
        out = Output(output, query, env_prefix)
        handover = ctx.find_object(Attempt)  # the fast path's attempt at this request, if it made one
        with Session(settings, reporter=REPORTER, handover=handover) as imds:
            result = fn(imds, out, **params) if with_output else fn(imds, **params)
        return render(result, output, query, env_prefix=env_prefix)

    decorated = shared_option("debug")(run)
    decorated = shared_option("via")(decorated)
    decorated = _output_options(decorated, env)
    decorated = shared_option("timeout", default=timeout)(decorated)
    decorated = shared_option("api_version", help=api_version_help)(decorated)
    return shared_option("endpoint")(decorated)


def output_command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the output options to a command that never talks to IMDS; its
    function takes (**params) and returns a Result."""

    @functools.wraps(fn)
    def run(output: Optional[str], query: Any, env_prefix: str, **params: Any) -> int:
        return render(fn(**params), output, query, env_prefix=env_prefix)

    return _output_options(run)


def complete_words(words: Callable[[], Dict[str, str]]) -> Callable[..., Any]:
    """Shell completion (and the generated completion scripts) from {word: description}."""
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> List[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(word, help=help or None) for word, help in words().items()
                if word.startswith(incomplete)]
    return complete


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
