"""wait: block at boot until IMDS answers (imdsctl.wait)."""

from __future__ import annotations

from imdsctl import wait as boot
from imdsctl.cli.options import command, imds_command
from imdsctl.result import Result
from imdsctl.session import Session


@command(examples=(
    ("At boot: wait up to two minutes, and stop the script if IMDS never answers:",
     "imdsctl wait --timeout 120 || exit $?"),
    ("How long it took, for a log:", "imdsctl wait -q seconds -o tsv")))
@imds_command(timeout=boot.BUDGET)
def wait(imds: Session) -> Result:
    """Block until IMDS answers a real request, for boot scripts.

    Asks for compute/vmId (not just a TCP connect) and retries connection
    errors, dropped answers, 404 (IMDS not populated yet), 410 (IMDS
    updating), 429 and 5xx with back-off until --timeout (default 300 s, as
    cloud-init waits). Exit 0 when IMDS is ready, 6 when it never answered,
    5 when it answered but kept failing. Prints nothing unless -o or -q asks;
    a spinner on stderr while a person watches.
    """
    return boot.wait(imds)
