"""Collect a support bundle: everything IMDS says about this VM, and why it may not.

The archive (tar.gz or zip) holds one directory named like the file, with:

* ``<source>.json`` for every endpoint that answered (instance, versions,
  loadbalancer, scheduled-events, attested, identity-info), redacted unless
  --no-redact; never a token: the token endpoint is not called;
* ``requests.json``: for every endpoint, the outcome, status, api-version,
  time taken and every attempt (method, URL, status or error, seconds);
* ``environment.json``: imdsctl, Python and the OS, the uid, the endpoint,
  which proxy and endpoint variables are set (never their values), whether
  NO_PROXY covers 169.254.169.254, and the route to 169.254.169.254;
* ``doctor.json``: every row of ``imdsctl doctor`` (platform, container,
  proxy, route, TCP, IMDS's answers, interceptor, identity-source,
  systemd-imds, WireServer, uid), asked within the last share of collect's
  --timeout, so the whole command keeps to it, and once collect's own
  requests have left IMDS's 5-a-second window;
* ``manifest.json``: the files, every redacted path and why, every failure
  with its message and exit code.

The archive itself (written atomically, read back by diff) is imdsctl.support.bundle.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from imdsctl import __version__, catalog
from imdsctl.errors import EXIT_CODES, ImdsctlError, ImdsNotFoundError, UnreachableError, UsageError
from imdsctl.imds.budget import Budget
from imdsctl.result import Result
from imdsctl.session import VARIABLES
from imdsctl.support import bundle, facts
from imdsctl.support.redact import redact
from imdsctl.ui import terminal

if TYPE_CHECKING:
    from imdsctl.protocols import Imds

_MEANINGS = {int(code): meaning for code, meaning in EXIT_CODES}
#: The default time budget of collect, for every endpoint together.
BUDGET = 60


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


#: IMDS answers 5 requests a second (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#rate-limiting);
#: doctor's checks ask DOCTOR_ASKS of them.
RATE, DOCTOR_ASKS = 5, 2


def _pause(asked: List[float], now: float) -> float:
    """How long to wait (seconds) before doctor's checks so that with collect's own asks (their
    start times) no second holds more than RATE: what doctor.json says of throttling is IMDS's,
    not the echo of collect's burst."""
    keep = RATE - DOCTOR_ASKS  # of collect's asks, this many may still be in the last second
    if len(asked) <= keep:
        return 0.0
    return max(0.0, asked[-keep - 1] + 1.0 - now)


def collect(imds: Imds, target: Optional[str] = None, archive_format: Optional[str] = None,
            no_redact: bool = False, skip: Tuple[str, ...] = ()) -> Result:
    """Write a support bundle to ``target`` (a file, a directory to hold the
    default name, or '-': stdout); a summary of what was written (for stdout,
    the archive itself). When no endpoint answers, the bundle is still
    written and the most telling failure raised (for stdout, reported)."""
    fmt, path = bundle.target(target, archive_format)
    if path is None and terminal.is_terminal():
        raise UsageError("-f - writes a binary archive to stdout, which is a terminal",
                         "redirect it (imdsctl collect -f - > bundle.tar.gz) or pipe it")
    imds.client  # noqa: B018 - a malformed endpoint is a usage error up front (ImdsClient checks it)
    redacting = not no_redact
    if not redacting:
        imds.reporter.note("warning: --no-redact: the bundle keeps userData, SSH keys, the admin user "
                      "name and the attested signature; share it only with people you trust")
    budget = Budget(imds.settings.timeout)
    with imds.reporter.spinner("collecting IMDS data") as status:
        asked: List[float] = []
        calls = _ask(imds, [s for s in SOURCES if s.name not in skip], status, budget, asked)
        if status is not None:
            status.update("running doctor's checks")
        time.sleep(min(_pause(asked, time.monotonic()), budget.left() / 2))
        checks = _doctor(imds, budget.left())
    created = datetime.now(timezone.utc)
    if path is None or path.is_dir():
        instance = next((c.body for c in calls if c.ok and c.source.name == "instance"), None)
        name = _default_name(instance, created, fmt)
        path = path / name if path is not None else None
    else:
        name = path.name
    files, manifest = _contents(imds, calls, checks, created, bundle.stem(name), redacting)
    data = bundle.archive(fmt, bundle.stem(name), files, created)
    failed = _all_failed(calls, "stdout" if path is None else str(path))
    if path is None:  # the archive is the output; a total failure is said on stderr
        return Result(data, exit_code=imds.reporter.problem(failed) if failed else 0)
    bundle.write_atomically(path, data)
    if failed:
        raise failed
    return Result({"file": str(path.resolve()), "format": fmt, "bytes": len(data), "entries": len(files),
                   "redacted": redacting, "redactions": len(manifest["redactions"]),
                   "failures": [{k: f[k] for k in ("source", "exit_code", "error")}
                                for f in manifest["failures"]]})


def _all_failed(calls: List[Call], where: str) -> Optional[ImdsctlError]:
    """When no endpoint answered, the most telling failure (of the same type), else None."""
    if any(c.ok for c in calls) or not any(c.error is not None for c in calls):
        return None
    worst = min((c.error for c in calls if c.error is not None),
                key=lambda error: facts.severity(int(error.exit_code)))
    return type(worst)(f"no IMDS endpoint answered ({worst.message}); wrote {where} with the "
                       "environment diagnostics",
                       worst.hint or "attach the bundle to the support case; 'imdsctl doctor' "
                                     "explains what is wrong")


def _contents(imds: Imds, calls: List[Call], checks: List[Dict[str, str]], created: datetime, stem: str,
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
    files["doctor.json"] = _json(checks)
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


def _doctor(imds: Imds, seconds: float) -> List[Dict[str, str]]:
    """Every row of doctor's, asked within ``seconds`` (what collect's budget has left);
    should doctor itself fail, the rows that need no request and one that says why."""
    from imdsctl.support.doctor import doctor, environment_rows

    saved = imds.settings
    imds.settings = saved._replace(timeout=max(round(seconds, 2), 0.05))
    try:
        rows = doctor(imds).data
        return list(rows) if isinstance(rows, list) else environment_rows()
    except ImdsctlError as err:
        return environment_rows() + [{"check": "doctor", "verdict": "fail", "detail": err.message,
                                      "remedy": err.hint or ""}]
    finally:
        imds.settings = saved


# -- asking IMDS -------------------------------------------------------------------------


def _ask(imds: Imds, sources: List[Source], status: Any, budget: Budget, asked: List[float]) -> List[Call]:
    """Ask every source with one client; each gets a fair share of the budget
    left, and one share is left for doctor's checks (``asked``: when each began). Once IMDS proved
    unreachable and nothing has answered, the rest are skipped instead of each
    waiting out its share."""
    calls: List[Call] = []
    for index, source in enumerate(sources):
        if status is not None:
            status.update(f"collecting {source.name} ({index + 1}/{len(sources)})")
        if not any(c.ok for c in calls) and any(isinstance(c.error, UnreachableError) for c in calls):
            calls.append(Call(source, {"source": source.name, "path": source.path, "outcome": "skipped",
                                       "reason": "not attempted: IMDS was unreachable"}))
        else:
            asked.append(time.monotonic())
            calls.append(_call(imds, source, budget.share(len(sources) + 1 - index)))
    return calls


def _call(imds: Imds, source: Source, share: float) -> Call:
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
    attempts: List[Dict[str, Any]] = [{"method": m, "url": u, "outcome": o, "seconds": round(s, 4)}
                for m, u, o, s in client.log[first:]]
    answered = [a["outcome"] for a in attempts if a["outcome"].isdigit()]
    record: Dict[str, Any] = {
        "source": source.name, "path": source.path, "outcome": "ok" if error is None else "failed",
        "status": int(answered[-1]) if answered else None,  # the last IMDS answered, if any did
        "api_version": _version_sent(imds, source, attempts),
        "seconds": round(time.monotonic() - started, 4), "budget_seconds": round(share, 3),
        "file": source.file if error is None else None, "attempts": attempts,
    }
    if error is not None:
        normal = isinstance(error, ImdsNotFoundError) and source.if_absent
        record.update(error=error.message, hint=source.if_absent if normal else error.hint,
                      exit_code=int(error.exit_code))
    return Call(source, record, body, error)


def _version_sent(imds: Imds, source: Source, attempts: List[Dict[str, Any]]) -> Optional[str]:
    """The api-version the last attempt sent (after any fall-back), else the one meant."""
    if source.api_version == "":
        return None
    for attempt in reversed(attempts):
        sent = parse_qs(urlsplit(attempt["url"]).query).get("api-version")
        if sent:
            return sent[0]
    return source.api_version or imds.settings.api_version or catalog.DEFAULT_API_VERSION


def _environment(imds: Imds, created: datetime) -> Dict[str, Any]:
    host, port = facts.host_port(imds.settings.endpoint)
    names = [name for name, _ in VARIABLES if name.startswith("IMDSCTL_")]
    return {
        "created": created.isoformat(),
        **facts.platform_facts(),
        "endpoint": f"{urlsplit(imds.settings.endpoint).scheme}://{host}:{port}",
        "api_version": imds.settings.api_version or f"default ({catalog.DEFAULT_API_VERSION})",
        "timeout": imds.settings.timeout,
        "variables_set": facts.variables_set(
            facts.PROXY_VARIABLES + facts.SDK_ENDPOINT_VARIABLES + tuple(names)),
        "proxies_capturing_imds": facts.proxies_capturing(catalog.IMDS_ADDRESS),
        "route_to_imds": facts.route_to(catalog.IMDS_ADDRESS),
    }


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _default_name(instance: Any, created: datetime, fmt: str) -> str:
    vm_id = instance.get("compute", {}).get("vmId") if isinstance(instance, dict) else None
    who = re.sub(r"[^A-Za-z0-9._-]+", "-", str(vm_id or facts.platform_facts()["hostname"])).strip("-.")
    return f"imds-{who or 'vm'}-{created.strftime('%Y%m%dT%H%M%SZ')}.{fmt}"
