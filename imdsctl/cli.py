"""The imdsctl command line: parse, call the client, hand the data to render().

Commands return data; the ``imds_command`` decorator owns everything around
them: the shared options (defined once), the client's life cycle, rendering,
and turning errors into one-line messages and exit codes.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable, Dict, List, NamedTuple, Optional

import click

from . import __version__, catalog
from .errors import ExitCode, ImdsctlError, Interrupted, NotFoundError, UsageError, exit_code_text
from .output import FORMATS, compile_query, render

ENV_VARS = (
    ("IMDSCTL_ENDPOINT", f"IMDS base URL (default {catalog.DEFAULT_ENDPOINT})"),
    ("IMDSCTL_API_VERSION", f"instance api-version (default {catalog.DEFAULT_API_VERSION}, or 'latest')"),
    ("IMDSCTL_TIMEOUT", "total time budget in seconds for all attempts (default 30)"),
    ("IMDSCTL_OUTPUT", "default output format"),
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
    use (so a command that needs no request never imports httpx)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._client: Any = None

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
        return self.client.api_version

    def instance(self, route: str = "") -> Any:
        return self.client.instance(route)

    def leaf(self, route: str) -> str:
        return self.client.leaf(route)

    def versions(self) -> List[str]:
        return self.client.versions()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _debug_line(message: str) -> None:
    click.echo(f"debug: {message}", err=True)


def imds_command(fn: Optional[Callable[..., Any]] = None, *,
                 timeout: float = 30.0) -> Any:
    """Add the shared options to a command whose function takes (imds, **params)
    and returns data, and render that data. ``imds`` is a Session.

    Use as ``@imds_command`` or ``@imds_command(timeout=150)`` for a command
    whose default time budget differs (IMDSCTL_TIMEOUT and --timeout still win).
    """
    if fn is None:
        return functools.partial(imds_command, timeout=timeout)

    @click.option("--endpoint", envvar="IMDSCTL_ENDPOINT", default=catalog.DEFAULT_ENDPOINT,
                  show_default=True, metavar="URL", help="IMDS base URL.")
    @click.option("--api-version", envvar="IMDSCTL_API_VERSION", metavar="VERSION",
                  help=f"Instance api-version (default {catalog.DEFAULT_API_VERSION}, "
                       "or 'latest' to ask IMDS).")
    @click.option("--timeout", envvar="IMDSCTL_TIMEOUT", type=click.FloatRange(min=0, min_open=True),
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
            data, env_base = result if isinstance(result, Result) else (result, "")
            render(data, output, query, env_prefix=env_prefix, env_base=env_base)
        except ImdsctlError as err:
            fail(err, debug)
        except KeyboardInterrupt:
            fail(Interrupted("interrupted"), debug)
        except BrokenPipeError:  # the reader went away (`| head`): not an error
            _silence_stdout()
            raise click.exceptions.Exit(ExitCode.OK) from None
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as exc:  # a bug: say so in one line, traceback only with --debug
            if debug:
                import traceback

                traceback.print_exc()
            fail(ImdsctlError(f"internal error: {type(exc).__name__}: {exc}",
                              "this is a bug in imdsctl; rerun with --debug and report it"), debug)

    return command


class Result(tuple):
    """Data plus the IMDS path it came from (names variables for -o env)."""

    def __new__(cls, data: Any, path: str) -> Result:
        return super().__new__(cls, (data, path))


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
    }

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attr = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

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
        if not standalone_mode:
            return int(code)
        sys.exit(int(code))


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group("imdsctl", cls=ImdsGroup, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="imdsctl", message="%(prog)s %(version)s")
def cli() -> None:
    """Read the Azure Instance Metadata Service (IMDS) from scripts and terminals.

    Every request carries 'Metadata: true', never goes through a proxy, and is
    retried within one time budget. Off Azure, point it at the emulator:
    'imdsctl emulate -- imdsctl compute vm-id'.
    """


def main() -> None:
    """Console-script entry point."""
    # Pay only for what a command uses (measured with python -X importtime):
    # httpx's __init__ imports httpx._main, its own command line, which pulls in
    # rich and pygments whenever they are installed (~35 ms), and httpcore
    # imports anyio for its async primitives (~8 ms); imdsctl runs neither.
    # Both imports are guarded by `except ImportError` in those libraries (for
    # installs without them), and a None entry in sys.modules takes that path.
    # Only the imdsctl process is affected, never a program importing imdsctl.
    for unused in ("httpx._main", "anyio"):
        sys.modules.setdefault(unused, None)  # type: ignore[arg-type]
    cli.main(prog_name="imdsctl")


# -- helpers shared by the commands ----------------------------------------------


def _close(name: str, choices: List[str]) -> str:
    import difflib

    matches = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.5)
    return f"did you mean {', '.join(matches)}?" if matches else f"choose from: {', '.join(choices)}"


def _field(fields: tuple, group: str, name: str) -> catalog.Field:
    field = catalog.lookup(fields, name)
    if field is None:
        raise UsageError(f"unknown {group} field {name!r}; {_close(name, catalog.names(fields))}",
                         f"'imdsctl {group} --help' lists them; 'imdsctl get {group}/<key>' reads any key")
    return field


def _absent(imds: Session, route: str, err: ImdsctlError) -> NotFoundError:
    """A 404 or missing key, explained by the api-version when that is why."""
    appeared = catalog.since(route)
    used = imds.api_version
    if appeared and catalog.version_key(appeared) > catalog.version_key(used):
        return NotFoundError(f"{route} is not in api-version {used}: it appeared in {appeared}",
                             f"pass --api-version {appeared} or newer")
    parent = route.rsplit("/", 1)[0] if "/" in route else ""
    hint = err.hint or (f"keys are case-sensitive, indices 0-based; "
                        f"'imdsctl get {parent} -o json' shows what is there")
    return NotFoundError(f"IMDS has no {route} on this VM ({err.message})" if err.message
                         else f"IMDS has no {route} on this VM", hint)


def _fetch(imds: Session, route: str, leaf: bool) -> Any:
    from .errors import ImdsNotFoundError

    try:
        return imds.leaf(route) if leaf else imds.instance(route)
    except ImdsNotFoundError as err:
        raise _absent(imds, route, err) from None


# -- commands -------------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@imds_command
def get(imds: Session, paths: tuple) -> Any:
    """Read raw paths under /metadata/instance, e.g. compute/vmId.

    PATH walks the instance document with IMDS's own route syntax: keys are
    case-sensitive, list entries are 0-based indices
    (network/interface/0/ipv4/ipAddress/0/publicIpAddress). Without a PATH,
    the whole document. Several PATHs are answered from ONE request, as an
    object keyed by path.
    """
    document = imds.instance()
    if not paths:
        return document
    values: Dict[str, Any] = {}
    for path in paths:
        route = path.strip("/")
        try:
            values[route] = catalog.walk(document, route)
        except LookupError:
            raise _absent(imds, route, NotFoundError("")) from None
    if len(values) == 1 and len(paths) == 1:
        route = next(iter(values))
        return Result(values[route], route)
    return values


def _complete_fields(fields: tuple) -> Callable[..., List[str]]:
    """Shell completion (and the generated completion scripts) for a FIELD argument."""
    return lambda ctx, param, incomplete: [n for n in catalog.names(fields) if n.startswith(incomplete)]


def _fields_help(fields: tuple) -> str:
    lines = [f"  {f.name:<28}{f.help}" for f in fields]
    return "\b\nFields:\n" + "\n".join(lines)


@cli.command(epilog=_fields_help(catalog.COMPUTE_FIELDS))
@click.argument("field", required=False, shell_complete=_complete_fields(catalog.COMPUTE_FIELDS))
@imds_command
def compute(imds: Session, field: Optional[str]) -> Any:
    """The compute facts of this VM, or one FIELD of them.

    FIELD is an IMDS key in any case (vmId, vmid) or kebab-case (vm-id,
    resource-group-name), or a short alias (fault-domain, update-domain,
    resource-group). 'tags' gives the tags as an object.
    """
    if field is None:
        return Result(_fetch(imds, "compute", leaf=False), "compute")
    f = _field(catalog.COMPUTE_FIELDS, "compute", field)
    if f.key == "tags":
        return Result(_tags(imds), f.path)
    return Result(_fetch(imds, f.route(), f.leaf), f.path)


def _tags(imds: Session) -> Dict[str, str]:
    """Tags as an object: from tagsList, or the legacy 'k:v;k:v' string on
    api-versions that have no tagsList."""
    if catalog.version_key(imds.api_version) >= catalog.version_key(catalog.since("compute/tagsList")):
        return {t.get("name", ""): t.get("value", "") for t in _fetch(imds, "compute/tagsList", False)}
    legacy = _fetch(imds, "compute/tags", leaf=True)
    pairs = (item.partition(":") for item in legacy.split(";") if item)
    return {key: value for key, _, value in pairs}


@cli.command(epilog=_fields_help(catalog.NETWORK_FIELDS))
@click.argument("field", required=False, shell_complete=_complete_fields(catalog.NETWORK_FIELDS))
@click.option("--nic", type=click.IntRange(min=0), default=0, show_default=True,
              help="NIC index (IMDS does not guarantee NIC order: prefer --mac).")
@click.option("--ip", type=click.IntRange(min=0), default=0, show_default=True,
              help="IP configuration index on the NIC.")
@click.option("--mac", metavar="MAC", callback=lambda ctx, param, value: _mac(value),
              help="Select the NIC by MAC address, in any notation.")
@imds_command
def network(imds: Session, field: Optional[str], nic: int, ip: int, mac: Optional[str]) -> Any:
    """The network facts of this VM, or one FIELD of one NIC.

    Defaults to the first NIC and its first IP configuration.
    """
    if field is None and mac is None:
        return Result(_fetch(imds, "network", leaf=False), "network")
    f = _field(catalog.NETWORK_FIELDS, "network", field or "interfaces")
    if f.name == "interfaces" and mac is None:
        return _interfaces(_fetch(imds, f.path, leaf=False))
    if mac is not None or f.name in ("subnet", "prefix"):
        interfaces = _fetch(imds, "network/interface", leaf=False)
        if mac is not None:
            nic = _nic_by_mac(interfaces, mac)
            if field is None or f.name == "interfaces":
                return _interfaces(interfaces)[nic]
        return Result(_local_field(imds, interfaces, f, nic, ip), f.route(nic, ip))
    return Result(_fetch(imds, f.route(nic, ip), f.leaf), f.route(nic, ip))


def _normalize_mac(mac: str) -> str:
    return "".join(c for c in mac.upper() if c in "0123456789ABCDEF")


def _mac(value: Optional[str]) -> Optional[str]:
    """Validate --mac before any request: 12 hex digits in any notation."""
    if value is None:
        return None
    if len(_normalize_mac(value)) != 12 or any(c not in "0123456789abcdefABCDEF:-. " for c in value):
        raise click.BadParameter(f"{value!r} is not a MAC address (e.g. 00:0d:3a:1b:2c:3d)")
    return value


def _nic_by_mac(interfaces: List[Dict[str, Any]], mac: str) -> int:
    wanted = _normalize_mac(mac)
    for index, interface in enumerate(interfaces):
        if _normalize_mac(str(interface.get("macAddress", ""))) == wanted:
            return index
    macs = ", ".join(str(i.get("macAddress", "?")) for i in interfaces)
    raise NotFoundError(f"no NIC has MAC {mac}; this VM's NICs: {macs}")


def _local_field(imds: Session, interfaces: List[Any], f: catalog.Field, nic: int, ip: int) -> Any:
    """A network field answered from the interface list already fetched."""
    document = {"network": {"interface": interfaces}}
    if f.name in ("subnet", "prefix"):
        subnets = _walk(imds, document, f"network/interface/{nic}/ipv4/subnet")
        subnet = subnets[ip] if ip < len(subnets) else (subnets[0] if subnets else None)
        if not isinstance(subnet, dict):
            raise NotFoundError(f"NIC {nic} has no IPv4 subnet")
        if f.name == "prefix":
            return subnet.get("prefix", "")
        return f"{subnet.get('address', '')}/{subnet.get('prefix', '')}"
    return _walk(imds, document, f.route(nic, ip))


def _walk(imds: Session, document: Any, route: str) -> Any:
    try:
        return catalog.walk(document, route)
    except LookupError:
        raise _absent(imds, route, NotFoundError("")) from None


def _interfaces(interfaces: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One summary row per NIC, for people and for --query."""
    rows = []
    for index, nic in enumerate(interfaces):
        ipv4 = nic.get("ipv4", {}) or {}
        addresses = ipv4.get("ipAddress", []) or []
        rows.append({
            "nic": str(index),
            "macAddress": nic.get("macAddress", ""),
            "privateIps": [a.get("privateIpAddress", "") for a in addresses],
            "publicIps": [a["publicIpAddress"] for a in addresses if a.get("publicIpAddress")],
            "subnets": [f"{s.get('address', '')}/{s.get('prefix', '')}"
                        for s in ipv4.get("subnet", []) or []],
            "ipv6Ips": [a.get("privateIpAddress", "")
                              for a in (nic.get("ipv6", {}) or {}).get("ipAddress", []) or []],
        })
    return rows


@cli.command()
@imds_command
def versions(imds: Session) -> Any:
    """The api-versions IMDS offers, oldest first."""
    return imds.versions()
