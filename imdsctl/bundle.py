"""``imdsctl collect``: one archive with everything IMDS says about this VM.

The archive (tar.gz or zip) holds one directory named like the file, with:

* ``<source>.json`` for every endpoint that answered (instance, versions,
  loadbalancer, scheduled-events, attested, identity-info), redacted unless
  --no-redact; never a token: the token endpoint is not called;
* ``requests.json``: for every endpoint, the outcome, status, api-version,
  time taken and every attempt (method, URL, status or error, seconds);
* ``environment.json``: imdsctl, Python and the OS, the uid, the endpoint,
  which proxy and endpoint variables are set (never their values), whether
  NO_PROXY covers 169.254.169.254, and the route to 169.254.169.254;
* ``manifest.json``: the files, every redacted path and why, every failure
  with its message and exit code.

The bundle is built in memory and written to a temporary file in the target
directory, fsynced, then renamed over the target: a failed or interrupted run
leaves no file behind. The file is created with mode 0600.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import click

from . import __version__, catalog, support
from .cli import ENV_VARS, Session, imds_command
from .errors import EXIT_CODES, ImdsctlError, ImdsNotFoundError, UnreachableError, UsageError
from .output import spinner
from .redact import redact

FORMATS = ("tar.gz", "zip")
_SUFFIXES = {".tar.gz": "tar.gz", ".tgz": "tar.gz", ".zip": "zip"}
_MEANINGS = {int(code): meaning for code, meaning in EXIT_CODES}
MAX_READ = 64 << 20  # a bundle is a few KiB; refuse to unpack more than this


class Source(NamedTuple):
    """One endpoint collect asks. ``api_version``: None for the instance
    api-version (and its fall-back), "" for an unversioned endpoint;
    ``if_absent`` explains a 404 that is normal for this endpoint."""

    name: str
    path: str
    api_version: Optional[str]
    if_absent: str = ""

    @property
    def file(self) -> str:
        return f"{self.name}.json"


SOURCES: Tuple[Source, ...] = (
    Source("versions", catalog.VERSIONS_PATH, ""),
    Source("instance", catalog.INSTANCE_PATH, None),
    Source("loadbalancer", catalog.LOADBALANCER_PATH, catalog.LOADBALANCER_API_VERSION,
           "normal when no Standard SKU load balancer serves this VM"),
    Source("scheduled-events", catalog.SCHEDULED_EVENTS_PATH, catalog.SCHEDULED_EVENTS_API_VERSION),
    Source("attested", catalog.ATTESTED_PATH, None),
    Source("identity-info", catalog.IDENTITY_INFO_PATH, catalog.IDENTITY_API_VERSION),
)


class Call(NamedTuple):
    """What asking one source gave: ``body`` when it answered, ``error`` when not."""

    source: Source
    record: Dict[str, Any]
    body: Any = None
    error: Optional[ImdsctlError] = None

    @property
    def ok(self) -> bool:
        return self.record.get("outcome") == "ok"


@click.command()
@click.option("-f", "--file", "target", metavar="FILE", type=click.Path(dir_okay=True),
              help="Where to write the bundle; a directory gets the default name inside it. "
                   "[default: ./imds-<vmId or hostname>-<UTC time>.tar.gz]")
@click.option("--format", "archive_format", type=click.Choice(FORMATS),
              help="Archive format [default: from FILE's suffix, else tar.gz].")
@click.option("--no-redact", is_flag=True,
              help="Keep userData, customData, publicKeys, adminUsername and the attested signature "
                   "(prints a warning).")
@click.option("--skip", multiple=True, type=click.Choice([s.name for s in SOURCES]),
              help="Do not ask this endpoint; repeatable.")
@imds_command(timeout=60)
def collect(imds: Session, target: Optional[str], archive_format: Optional[str], no_redact: bool,
            skip: Tuple[str, ...]) -> Any:
    """Write a support bundle: everything IMDS says about this VM, and why it may not.

    One tar.gz or zip archive with the instance document, api-versions, load
    balancer, scheduled events, attested document and identity info (never a
    token), each call's status, timing and api-version, and the environment:
    imdsctl, Python and OS versions, the uid, which proxy variables are set
    (names only), and the route to 169.254.169.254. userData, customData,
    publicKeys, adminUsername and the attested signature are redacted unless
    --no-redact; manifest.json lists every redacted path and why.

    An endpoint that fails (no load balancer, 410, an HTML page...) is recorded
    in the bundle, not fatal. When no endpoint answers, the bundle is still
    written, for its environment diagnostics, and collect exits with the
    code of that failure (6 when IMDS is unreachable). --timeout bounds the
    whole run; each endpoint gets a fair share of what is left. Note that the
    first scheduled-events request of a VM can take up to 2 minutes and
    enables scheduled events for 24 hours (--skip scheduled-events to avoid).

    Prints a summary: file, size, entries, redactions and failures.
    """
    fmt, path = _target(target, archive_format)
    imds.client  # noqa: B018 - a malformed endpoint is a usage error up front (ImdsClient checks it)
    redacting = not no_redact
    if not redacting:
        support.note("warning: --no-redact: the bundle keeps userData, SSH keys, the admin user "
                     "name and the attested signature; share it only with people you trust")
    with spinner("collecting IMDS data") as status:
        calls = _ask(imds, [s for s in SOURCES if s.name not in skip], status)
    created = datetime.now(timezone.utc)
    if path.is_dir():
        instance = next((c.body for c in calls if c.ok and c.source.name == "instance"), None)
        path = path / _default_name(instance, created, fmt)
    files, manifest = _contents(imds, calls, created, _stem(path.name), redacting)
    data = _archive(fmt, _stem(path.name), files, created)
    _write_atomically(path, data)
    failures = manifest["failures"]
    if failures and not any(c.ok for c in calls):
        worst = min((c.error for c in calls if c.error is not None),
                    key=lambda error: support.severity(int(error.exit_code)))
        raise type(worst)(f"no IMDS endpoint answered ({worst.message}); wrote {path} with the "
                          "environment diagnostics",
                          worst.hint or "attach the bundle to the support case; 'imdsctl doctor' "
                                        "explains what is wrong")
    return {"file": str(path.resolve()), "format": fmt, "bytes": len(data), "entries": len(files),
            "redacted": redacting, "redactions": len(manifest["redactions"]),
            "failures": [{k: f[k] for k in ("source", "exit_code", "error")} for f in failures]}


def _contents(imds: Session, calls: List[Call], created: datetime, stem: str,
              redacting: bool) -> Tuple[Dict[str, bytes], Dict[str, Any]]:
    """The files of the bundle, by name, and its manifest (also among the files)."""
    files: Dict[str, bytes] = {}
    redactions: List[Dict[str, Any]] = []
    for call in calls:
        if call.ok:
            body = call.body
            if redacting:
                body, found = redact(call.source.path, body)
                redactions += [{"file": call.source.file, **r._asdict()} for r in found]
            files[call.source.file] = _json(body)
    files["requests.json"] = _json([c.record for c in calls])
    files["environment.json"] = _json(_environment(imds, created))
    manifest = {
        "bundle": "imdsctl support bundle", "version": 1, "created": created.isoformat(),
        "imdsctl": __version__, "redacted": redacting,
        "files": [{"name": f"{stem}/{name}", "bytes": len(data)} for name, data in files.items()],
        "redactions": redactions,
        "failures": [{"source": c.source.name, "path": c.source.path, "error": c.error.message,
                      "hint": c.record["hint"], "exit_code": int(c.error.exit_code),
                      "meaning": _MEANINGS[int(c.error.exit_code)]}
                     for c in calls if c.error is not None],
    }
    files["manifest.json"] = _json(manifest)
    return files, manifest


# -- asking IMDS -------------------------------------------------------------------------


def _ask(imds: Session, sources: List[Source], status: Any) -> List[Call]:
    """Ask every source with one client; each gets a fair share of the budget
    left. Once IMDS proved unreachable and nothing has answered, the rest are
    skipped instead of each waiting out its share."""
    budget = support.Budget(imds.settings.timeout)
    calls: List[Call] = []
    for index, source in enumerate(sources):
        if status is not None:
            status.update(f"collecting {source.name} ({index + 1}/{len(sources)})")
        if not any(c.ok for c in calls) and any(isinstance(c.error, UnreachableError) for c in calls):
            calls.append(Call(source, {"source": source.name, "path": source.path, "outcome": "skipped",
                                       "reason": "not attempted: IMDS was unreachable"}))
        else:
            calls.append(_call(imds, source, budget.share(len(sources) - index)))
    return calls


def _call(imds: Session, source: Source, share: float) -> Call:
    """Ask one source within ``share`` seconds; record what happened."""
    client = imds.client
    client.reset_budget(max(round(share, 2), 0.01))
    first, started = len(client.log), time.monotonic()
    body, error = None, None
    try:
        body = client.request("GET", source.path, versioned=source.api_version != "",
                              api_version=source.api_version or None).body
    except UsageError:
        raise
    except ImdsctlError as err:
        error = err
    attempts = [{"method": m, "url": u, "outcome": o, "seconds": round(s, 4)}
                for m, u, o, s in client.log[first:]]
    last = attempts[-1]["outcome"] if attempts else ""
    record: Dict[str, Any] = {
        "source": source.name, "path": source.path, "outcome": "ok" if error is None else "failed",
        "status": int(last) if last.isdigit() else None,
        "api_version": _api_version(imds, source, attempts),
        "seconds": round(time.monotonic() - started, 4), "budget_seconds": round(share, 3),
        "file": source.file if error is None else None, "attempts": attempts,
    }
    if error is not None:
        normal = isinstance(error, ImdsNotFoundError) and source.if_absent
        record.update(error=error.message, hint=source.if_absent if normal else error.hint,
                      exit_code=int(error.exit_code))
    return Call(source, record, body, error)


def _api_version(imds: Session, source: Source, attempts: List[Dict[str, Any]]) -> Optional[str]:
    """The api-version the last attempt sent (after any fall-back), else the one meant."""
    if source.api_version == "":
        return None
    for attempt in reversed(attempts):
        sent = parse_qs(urlsplit(attempt["url"]).query).get("api-version")
        if sent:
            return sent[0]
    return source.api_version or imds.settings.api_version or catalog.DEFAULT_API_VERSION


def _environment(imds: Session, created: datetime) -> Dict[str, Any]:
    host, port = support.host_port(imds.settings.endpoint)
    names = [name for name, _ in ENV_VARS if name.startswith("IMDSCTL_")]
    return {
        "created": created.isoformat(),
        **support.platform_facts(),
        "endpoint": f"{urlsplit(imds.settings.endpoint).scheme}://{host}:{port}",
        "api_version": imds.settings.api_version or f"default ({catalog.DEFAULT_API_VERSION})",
        "timeout": imds.settings.timeout,
        "variables_set": support.variables_set(
            support.PROXY_VARIABLES + support.ENDPOINT_VARIABLES + tuple(names)),
        "proxies_capturing_imds": support.proxies_capturing(support.IMDS_ADDRESS),
        "route_to_imds": support.route_to(support.IMDS_ADDRESS),
    }


# -- the archive -----------------------------------------------------------------------------


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _target(target: Optional[str], archive_format: Optional[str]) -> Tuple[str, Path]:
    """The format and the path (or directory) to write, checked before any request."""
    path = Path(target) if target else Path.cwd()
    suffix = next((s for s in _SUFFIXES if path.name.lower().endswith(s)), None)
    implied = _SUFFIXES[suffix] if suffix and not path.is_dir() else None
    if archive_format and implied and archive_format != implied:
        raise UsageError(f"--format {archive_format} does not match the file name {path.name}",
                         f"name the file *.{archive_format.replace('tar.gz', 'tar.gz or *.tgz')}, "
                         "or drop --format")
    directory = path if path.is_dir() else path.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: no directory {directory}")
    return archive_format or implied or "tar.gz", path


def _default_name(instance: Any, created: datetime, fmt: str) -> str:
    vm_id = instance.get("compute", {}).get("vmId") if isinstance(instance, dict) else None
    who = re.sub(r"[^A-Za-z0-9._-]+", "-", str(vm_id or support.platform_facts()["hostname"])).strip("-.")
    return f"imds-{who or 'vm'}-{created.strftime('%Y%m%dT%H%M%SZ')}.{fmt}"


def _stem(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "imds"
    return name


def _archive(fmt: str, stem: str, files: Dict[str, bytes], created: datetime) -> bytes:
    buffer = io.BytesIO()
    mtime = created.timestamp()
    if fmt == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                info = zipfile.ZipInfo(f"{stem}/{name}", created.timetuple()[:6])
                info.external_attr = 0o600 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, data in files.items():
                info = tarfile.TarInfo(f"{stem}/{name}")
                info.size, info.mtime, info.mode = len(data), mtime, 0o600
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, rename over ``path``: readers
    see the whole bundle or nothing, whatever interrupts us."""
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); not possible, nor needed, on Windows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading bundles back (for diff) -----------------------------------------------------------


def is_archive(data: bytes) -> bool:
    return data.startswith((b"\x1f\x8b", b"PK\x03\x04"))


def read_member(data: bytes, name: str) -> Optional[bytes]:
    """The bytes of ``<dir>/name`` (or ``name``) in a bundle, None if absent.
    Raises ValueError when ``data`` is not a readable tar.gz or zip."""
    buffer = io.BytesIO(data)
    try:
        if data.startswith(b"PK"):
            with zipfile.ZipFile(buffer) as archive:
                for info in archive.infolist():
                    if _is(info.filename, name) and info.file_size <= MAX_READ:
                        return archive.read(info)
            return None
        with tarfile.open(fileobj=buffer, mode="r:gz") as archive:
            for member in archive:
                if member.isfile() and _is(member.name, name) and member.size <= MAX_READ:
                    extracted = archive.extractfile(member)
                    return extracted.read() if extracted else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"not a readable archive: {exc}") from None
    return None


def _is(member: str, name: str) -> bool:
    parts = member.replace("\\", "/").strip("/").split("/")
    return parts[-1] == name and len(parts) <= 2
