"""The imdsctl command line: parse, call the client, hand the data to render().

Commands return data; the ``imds_command`` decorator owns everything around
them: the shared options (defined once), the client's life cycle, rendering,
and turning errors into one-line messages and exit codes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from typing import Any, Callable, Iterator, List, NamedTuple, Optional

import click

from . import __version__, catalog, views
from .errors import ExitCode, ImdsctlError, Interrupted, UsageError, exit_code_text
from .output import FORMATS, compile_query, render
from .views import Result

ENV_VARS = (
    ("IMDSCTL_ENDPOINT", f"IMDS base URL (default {catalog.DEFAULT_ENDPOINT})"),
    ("IMDSCTL_API_VERSION", f"instance api-version (default {catalog.DEFAULT_API_VERSION}, or 'latest')"),
    ("IMDSCTL_TIMEOUT", "total time budget in seconds for all attempts (default 30)"),
    ("IMDSCTL_OUTPUT", "default output format"),
    ("IMDSCTL_MAX_AGE", "answer get/compute/network from a snapshot younger than this (seconds)"),
    ("IMDSCTL_CACHE_DIR", "where snapshots are kept (default: a private runtime directory)"),
    ("NO_COLOR", "when set, never colour output"),
)

EPILOG = (
    "\b\nExit codes:\n" + exit_code_text()
    + "\n\n\b\nEnvironment:\n" + "\n".join(f"  {name:<21}{text}" for name, text in ENV_VARS)
)


# -- shared options -----------------------------------------------------------


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


class Settings(NamedTuple):
    """What every IMDS command was asked: the small context object."""

    endpoint: str
    api_version: Optional[str]
    timeout: float
    output: Optional[str]
    query: Any
    debug: bool


class Session:
    """What a command talks to: IMDS through one ImdsClient, created on first
    use (so a command that needs no request never imports httpx), or, after
    use_cache(), a snapshot of the instance document (imdsctl.cache)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.output = settings.output
        self._client: Any = None
        self._document: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from .client import ImdsClient

            s = self.settings
            self._client = ImdsClient(s.endpoint, s.api_version, timeout=s.timeout,
                                      debug=_debug_line if s.debug else None)
        return self._client

    @property
    def api_version(self) -> str:
        if self._document is not None and self.settings.api_version != "latest":
            return self.settings.api_version or catalog.DEFAULT_API_VERSION
        return self.client.api_version

    def explain(self, message: str) -> None:
        """A --debug line about where an answer came from."""
        if self.settings.debug:
            _debug_line(message)

    def use_cache(self, max_age: float) -> None:
        """Answer instance reads from a snapshot younger than max_age seconds,
        taking (and saving) a fresh one with a single request when there is none."""
        if max_age <= 0:
            return
        from .cache import Cache

        cache = Cache(self.settings.endpoint, self.settings.api_version or catalog.DEFAULT_API_VERSION)
        self._document = cache.load(max_age)
        if self._document is not None:
            self.explain(f"answered from the snapshot {cache.path}")
            return
        self.explain(f"cache: {cache.why_not}; fetching the instance document")
        self._document = self.client.instance()
        if not cache.store(self._document):
            self.explain(f"cache: {cache.why_not}")

    def instance(self, route: str = "") -> Any:
        if self._document is None:
            return self.client.instance(route)
        return snapshot_walk(self._document, route)

    def leaf(self, route: str) -> str:
        if self._document is None:
            return self.client.leaf(route)
        return snapshot_walk(self._document, route)

    def loadbalancer(self) -> Any:
        answer = self.client.request("GET", catalog.LOADBALANCER_PATH,
                                     api_version=catalog.LOADBALANCER_API_VERSION)
        body = answer.body
        return body.get("loadbalancer", body) if isinstance(body, dict) else body

    def versions(self) -> List[str]:
        return self.client.versions()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def snapshot_walk(document: Any, route: str) -> Any:
    """A route in a snapshot, failing the way IMDS's 404 does."""
    try:
        return catalog.walk(document, route)
    except LookupError:
        from .errors import ImdsNotFoundError

        raise ImdsNotFoundError(f"the snapshot has no {route}") from None


def _debug_line(message: str) -> None:
    click.echo(f"debug: {message}", err=True)


API_VERSION_HELP = (f"Instance api-version (default {catalog.DEFAULT_API_VERSION}, "
                    "or 'latest' to ask IMDS).")


def imds_command(fn: Optional[Callable[..., Any]] = None, *, timeout: float = 30.0,
                 api_version_help: str = API_VERSION_HELP) -> Any:
    """Add the shared options to a command whose function takes (imds, **params)
    and returns data, and render that data. ``imds`` is a Session.

    Use as ``@imds_command`` or ``@imds_command(timeout=150)`` for a command
    whose default time budget differs (IMDSCTL_TIMEOUT and --timeout still win),
    and with ``api_version_help`` where --api-version means another version set.
    """
    if fn is None:
        return functools.partial(imds_command, timeout=timeout, api_version_help=api_version_help)

    @click.option("--endpoint", envvar="IMDSCTL_ENDPOINT", default=catalog.DEFAULT_ENDPOINT,
                  show_default=True, metavar="URL", help="IMDS base URL.")
    @click.option("--api-version", envvar="IMDSCTL_API_VERSION", metavar="VERSION",
                  help=api_version_help)
    @click.option("--timeout", envvar="IMDSCTL_TIMEOUT",
                  type=click.FloatRange(min=0, min_open=True, max=86400),
                  default=timeout, show_default=True, metavar="SECONDS",
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
                query: Any, env_prefix: str, debug: bool, **params: Any) -> None:
        imds = Session(Settings(endpoint, api_version, timeout, output, query, debug))
        try:
            try:
                result = fn(imds, **params)
            finally:
                imds.close()
            code = 0
            if isinstance(result, Verdict):
                result, code = result.data, result.exit_code
            if isinstance(result, Quiet):
                if output is None and query is None:
                    return
                result = result.data
            data, env_base = result if isinstance(result, Result) else (result, "")
            render(data, output, query, env_prefix=env_prefix, env_base=env_base)
            if code:
                raise click.exceptions.Exit(code)
        except ImdsctlError as err:
            fail(err, debug)
        except KeyboardInterrupt:
            fail(Interrupted("interrupted"), debug)
        except (click.ClickException, click.exceptions.Exit, BrokenPipeError):
            raise
        except Exception as exc:  # a bug: say so in one line, traceback only with --debug
            if debug:
                import traceback

                traceback.print_exc()
            # The exception's text may quote data (even a token): only --debug shows it.
            fail(ImdsctlError(f"internal error: {type(exc).__name__}" + (f": {exc}" if debug else ""),
                              "this is a bug in imdsctl; rerun with --debug and report it"), debug)

    return command


class Verdict:
    """Data to render, then an exit code: a check that ran and found a problem
    (doctor, attested verify, diff --exit-code) still shows its findings."""

    def __init__(self, data: Any, exit_code: int):
        self.data, self.exit_code = data, int(exit_code)


class Quiet:
    """Data a command prints only when -o asks for it (e.g. `wait` in a boot script)."""

    def __init__(self, data: Any):
        self.data = data


def fail(err: ImdsctlError, debug: bool = False) -> None:
    """Print an expected failure as one or two lines on stderr and exit."""
    click.echo(f"imdsctl: {err.message}", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)
    raise click.exceptions.Exit(int(err.exit_code))


# -- the group ----------------------------------------------------------------


class ImdsGroup(click.Group):
    """The top-level group: lazy subcommands and the exit-code contract."""

    lazy = {
        "emulator": "imdsctl.emulator.cli:emulator",
        "emulate": "imdsctl.emulator.cli:emulate",
        "attested": "imdsctl.attested:attested",
        "collect": "imdsctl.bundle:collect",
        "doctor": "imdsctl.doctor:doctor",
        "diff": "imdsctl.diff:diff",
        "events": "imdsctl.events:events",
        "identity": "imdsctl.identity:identity",
        "wait": "imdsctl.wait:wait",
    }

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attr = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _quiet_when_the_reader_goes():  # `imdsctl --help | head`
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _quiet_when_the_reader_goes():  # every subcommand, its --help included
            return super().invoke(ctx)

    def main(self, args: Any = None, prog_name: Optional[str] = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run with one-line errors: usage errors exit 2, Ctrl-C exits 130."""
        try:
            # Without standalone mode click returns Exit's code, or the command's None.
            returned = super().main(args, prog_name or "imdsctl", complete_var,
                                    standalone_mode=False, **extra)
            code = returned if isinstance(returned, int) else ExitCode.OK
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
                # `imdsctl` or `imdsctl events` alone: the help, as click 8.1 and az give it
                click.echo(exc.ctx.get_help())
                return self._exit(ExitCode.OK, standalone_mode)
            path = " ".join(["imdsctl", *exc.ctx.command_path.split()[1:]]) if exc.ctx else "imdsctl"
            hint = f"see '{path} --help'"
            click.echo(f"imdsctl: {exc.format_message()}", err=True)
            click.echo(f"hint: {hint}", err=True)
            code = ExitCode.USAGE
        except click.ClickException as exc:
            click.echo(f"imdsctl: {exc.format_message()}", err=True)
            code = exc.exit_code
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("imdsctl: interrupted", err=True)
            code = ExitCode.INTERRUPTED
        return self._exit(code, standalone_mode)

    @staticmethod
    def _exit(code: int, standalone_mode: bool) -> int:
        if not standalone_mode:
            return int(code)
        sys.exit(int(code))


@contextlib.contextmanager
def _quiet_when_the_reader_goes() -> Iterator[None]:
    """A closed stdout pipe (`| head`) ends the command with exit 0, not an error:
    stdout then points at /dev/null so that the final flush is quiet too."""
    try:
        yield
    except BrokenPipeError:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise click.exceptions.Exit(ExitCode.OK) from None


@click.group("imdsctl", cls=ImdsGroup, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="imdsctl", message="%(prog)s %(version)s")
def cli() -> None:
    """Read the Azure Instance Metadata Service (IMDS) from scripts and terminals.

    Every request carries 'Metadata: true', never goes through a proxy, and is
    retried within one time budget. Off Azure, point it at the emulator:
    'imdsctl emulate -- imdsctl compute vm-id'.
    """


def main() -> int:
    """Run the CLI on sys.argv and return its exit code."""
    # Pay only for what a command uses (measured with python -X importtime):
    # httpx's __init__ imports httpx._main, its own command line, which pulls in
    # rich and pygments whenever they are installed (~35 ms), and httpcore
    # imports anyio for its async primitives (~8 ms); imdsctl runs neither.
    # Both imports are guarded by `except ImportError` in those libraries (for
    # installs without them), and a None entry in sys.modules takes that path.
    # Only the imdsctl process is affected, never a program importing imdsctl.
    for unused in ("httpx._main", "anyio"):
        sys.modules.setdefault(unused, None)  # type: ignore[arg-type]
    return cli.main(prog_name="imdsctl", standalone_mode=False)


# -- the instance commands (their meaning is in imdsctl.views) --------------------------


def _complete_fields(fields: tuple) -> Callable[..., List[str]]:
    """Shell completion (and the generated completion scripts) for a FIELD argument."""
    return lambda ctx, param, incomplete: [n for n in catalog.names(fields) if n.startswith(incomplete)]


def _fields_help(fields: tuple) -> str:
    lines = [f"  {f.name:<28}{f.help}" for f in fields]
    return "\b\nFields:\n" + "\n".join(lines)


max_age_option = click.option(
    "--max-age", envvar="IMDSCTL_MAX_AGE", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
    help="Answer from a snapshot of the instance document younger than this, kept per boot in a "
         "private runtime directory (default 0: always ask IMDS).")


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@max_age_option
@imds_command
def get(imds: Session, paths: tuple, max_age: float) -> Any:
    """Read raw paths under /metadata/instance, e.g. compute/vmId.

    PATH walks the instance document with IMDS's own route syntax: keys are
    case-sensitive, list entries are 0-based indices
    (network/interface/0/ipv4/ipAddress/0/publicIpAddress). Without a PATH,
    the whole document. Several PATHs are answered from ONE request, as an
    object keyed by path.
    """
    imds.use_cache(max_age)
    return views.get(imds, paths)


@cli.command(epilog=_fields_help(catalog.COMPUTE_FIELDS))
@click.argument("field", required=False, shell_complete=_complete_fields(catalog.COMPUTE_FIELDS))
@click.option("--decode", is_flag=True,
              help="Base64-decode user-data or custom-data and write the bytes as they are.")
@max_age_option
@imds_command
def compute(imds: Session, field: Optional[str], decode: bool, max_age: float) -> Any:
    """The compute facts of this VM, or one FIELD of them.

    FIELD is an IMDS key in any case (vmId, vmid) or kebab-case (vm-id,
    resource-group-name), or a short alias (fault-domain, update-domain,
    resource-group). 'tags' gives the tags as an object.
    """
    if decode and imds.settings.query is not None:
        raise UsageError("--decode writes raw bytes: it does not combine with --query")
    imds.use_cache(max_age)
    return views.compute(imds, field, decode)


def _mac(value: Optional[str]) -> Optional[str]:
    """Validate --mac before any request: 12 hex digits in any notation."""
    if value is None:
        return None
    if len(views.normalize_mac(value)) != 12 or any(c not in "0123456789abcdefABCDEF:-. " for c in value):
        raise click.BadParameter(f"{value!r} is not a MAC address (e.g. 00:0d:3a:1b:2c:3d)")
    return value


@cli.command(epilog=_fields_help(catalog.NETWORK_FIELDS))
@click.argument("field", required=False, shell_complete=_complete_fields(catalog.NETWORK_FIELDS))
@click.option("--nic", type=click.IntRange(min=0), default=0, show_default=True,
              help="NIC index (IMDS does not guarantee NIC order: prefer --mac).")
@click.option("--ip", type=click.IntRange(min=0), default=0, show_default=True,
              help="IP configuration index on the NIC.")
@click.option("--mac", metavar="MAC", callback=lambda ctx, param, value: _mac(value),
              help="Select the NIC by MAC address, in any notation.")
@max_age_option
@imds_command
def network(imds: Session, field: Optional[str], nic: int, ip: int, mac: Optional[str],
            max_age: float) -> Any:
    """The network facts of this VM, or one FIELD of one NIC.

    Defaults to the first NIC and its first IP configuration. public-ip falls
    back to the Standard load balancer's frontend address when the VM has no
    instance-level one (--debug, or -o json, says which).
    """
    imds.use_cache(max_age)
    return views.network(imds, field, nic, ip, mac)


@cli.command()
@imds_command
def loadbalancer(imds: Session) -> Any:
    """The Standard load balancer's view of this VM: public IPs, inbound and
    outbound rules (api-version 2020-10-01; none for a Basic SKU)."""
    return views.loadbalancer(imds)


@cli.command()
@imds_command
def versions(imds: Session) -> Any:
    """The api-versions IMDS offers, oldest first."""
    return imds.versions()
