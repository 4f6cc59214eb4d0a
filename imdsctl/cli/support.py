"""collect, doctor, diff: the support-case commands (over imdsctl.support)."""

from __future__ import annotations

from typing import Optional, Tuple

import click

from imdsctl.cli.options import command, imds_command, output_command
from imdsctl.result import Result
from imdsctl.session import Session
from imdsctl.support import bundle
from imdsctl.support import collect as collecting
from imdsctl.support import diff as comparing
from imdsctl.support import doctor as diagnosis


@command(examples=(
    ("A bundle for a support case, in this directory:", "imdsctl collect"),
    ("As a zip, without asking for scheduled events:",
     "imdsctl collect -f /tmp/case-42.zip --skip scheduled-events")))
@click.option("-f", "--file", "target", metavar="FILE", type=click.Path(dir_okay=True),
              help="Where to write the bundle: a new file or a regular one named *.tar.gz, *.tgz or "
                   "*.zip (never a link or a special file), a directory for the default name inside "
                   "it, or '-' for stdout (not a terminal). "
                   "[default: ./imds-<vmId or hostname>-<UTC time>.tar.gz]")
@click.option("--format", "archive_format", type=click.Choice(bundle.FORMATS),
              help="Archive format [default: from FILE's suffix, else tar.gz].")
@click.option("--no-redact", is_flag=True,
              help="Keep userData, customData, publicKeys, adminUsername and the attested signature "
                   "(prints a warning).")
@click.option("--skip", multiple=True, metavar="SOURCE",
              type=click.Choice([s.name for s in collecting.SOURCES]),
              help=f"Do not ask this endpoint ({', '.join(s.name for s in collecting.SOURCES)}); repeatable.")
@imds_command(timeout=collecting.BUDGET)
def collect(imds: Session, target: Optional[str], archive_format: Optional[str], no_redact: bool,
            skip: Tuple[str, ...]) -> Result:
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
    return collecting.collect(imds, target, archive_format, no_redact, skip)


@command(examples=(
    ("Why IMDS does or does not answer, for people:", "imdsctl doctor"),
    ("Only what failed, and what to do about it:",
     "imdsctl doctor -o json -q \"[?verdict=='fail'].remedy\""),
    ("Is waagent's firewall why this user cannot reach WireServer?", "imdsctl doctor --wireserver-as-root")))
@imds_command(timeout=diagnosis.BUDGET)
@click.option("--wireserver-as-root", is_flag=True,
              help="Ask WireServer (168.63.129.16) as root too (sudo -n; as root: also as uid 65534), "
                   "which tells waagent's root-only firewall from a network problem.")
def doctor(imds: Session, wireserver_as_root: bool) -> Result:
    """Explain why IMDS is or is not reachable, one check per row.

    Checks: the endpoint and where it was set; proxy variables that would send
    other tools' IMDS traffic to a proxy (imdsctl ignores them); the route to
    the endpoint; a TCP connect; whether the answer comes from IMDS (Server
    header, JSON, no redirect or HTML page; Docker Desktop's 403
    'unreachable network' recognised); the instance document; api-version
    support; latency; throttling (429) and updates (410); the user (some
    images let only root reach IMDS). Each row has a verdict (ok, warn,
    fail, skip) and, when something is wrong, a remedy.

    Exits 0 when no check fails, else with the code of the most serious
    failure: 6 unreachable, 7 not IMDS, 5 kept failing, 4 refused, 3 not
    found. --timeout (default 10 s) bounds all checks together.
    """
    return diagnosis.doctor(imds, wireserver_as_root)


@command(examples=(
    ("What a redeploy changed:", "imdsctl diff before.json after.json"),
    ("Fail a script when anything changed:", "imdsctl diff --exit-code before.json imds-case-42.tar.gz")))
@click.argument("a", metavar="A", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.argument("b", metavar="B", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--exit-code", is_flag=True,
              help=f"Exit {comparing.DIFFERENT} when the snapshots differ, 0 when they do not (like "
                   "'git diff --exit-code').")
@click.option("--no-redact", is_flag=True,
              help="Show sensitive values (userData, SSH keys, ...) as they are.")
@output_command
def diff(a: str, b: str, exit_code: bool, no_redact: bool) -> Result:
    """What changed between two snapshots of the instance document.

    A and B are files written by 'imdsctl get -o json' or bundles written by
    'imdsctl collect' (tar.gz or zip; their instance.json is compared); '-'
    reads one of them from stdin. Each difference is a row: the path (IMDS
    route syntax, list entries by index: NICs are not guaranteed to keep
    their order), the change (added, removed, changed, or redacted when a
    bundle hid the value), the old and the new value. Sensitive values are
    shown as <redacted> unless --no-redact.

    Exits 0 whether or not the snapshots differ, so that a difference is not
    mistaken for an error; with --exit-code, exits 3 when they differ. Never
    talks to IMDS.
    """
    return comparing.diff(a, b, exit_code, no_redact)
