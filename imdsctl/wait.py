"""`imdsctl wait`: block at boot until IMDS answers, within a time budget."""

from __future__ import annotations

from typing import Any

import click

from . import catalog
from .cli import Quiet, Session, imds_command
from .output import spinner


@click.command()
@imds_command(timeout=300)
def wait(imds: Session) -> Any:
    """Block until IMDS answers a real request, for boot scripts.

    Asks for compute/vmId (not just a TCP connect) and retries connection
    errors, dropped answers, 404 (IMDS not populated yet), 410 (IMDS
    updating), 429 and 5xx with back-off until --timeout (default 300 s, as
    cloud-init waits). Exit 0 when IMDS is ready, 6 when it never answered,
    5 when it answered but kept failing. Prints nothing unless -o or -q asks;
    a spinner on stderr while a person watches.
    """
    from .client import RETRY_STATUSES

    client = imds.client
    client.connect_attempts = None  # at boot the network may come up late: the whole budget
    with spinner(f"waiting for IMDS at {client.endpoint} (up to {client.timeout:g}s)"):
        answer = client.request("GET", f"{catalog.INSTANCE_PATH}/compute/vmId",
                                params={"format": "text"}, expect="text",
                                retry_statuses=RETRY_STATUSES | {404})
    return Quiet({"ready": True, "endpoint": client.endpoint, "apiVersion": client.api_version,
                  "attempts": len(client.log), "seconds": round(client.timeout - client.remaining(), 3),
                  "vmId": answer.body})
