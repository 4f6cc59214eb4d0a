"""Wait at boot until IMDS answers a real request, within a time budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imdsctl import catalog
from imdsctl.result import Result

if TYPE_CHECKING:
    from imdsctl.protocols import Imds

#: The default time budget: cloud-init waits as long for IMDS at boot.
BUDGET = 300


def wait(imds: Imds) -> Result:
    """Ask for compute/vmId until IMDS answers, retrying connection errors,
    dropped answers, 404 (not populated yet), 410, 429 and 5xx for the whole
    budget. A Result that prints only when asked (a boot script wants none)."""
    from imdsctl.imds.client import RETRY_STATUSES

    client = imds.client
    client.connect_attempts = None  # at boot the network may come up late: the whole budget
    with imds.reporter.spinner(f"waiting for IMDS at {client.endpoint} (up to {imds.settings.timeout:g}s)"):
        answer = client.request("GET", f"{catalog.INSTANCE_PATH}/{catalog.compute_field('vmId').path}",
                                params={"format": "text"}, expect="text",
                                retry_statuses=RETRY_STATUSES | {404})
    return Result({"ready": True, "endpoint": client.endpoint, "apiVersion": client.api_version,
                   "attempts": len(client.log), "seconds": round(client.timeout - client.remaining(), 3),
                   "vmId": answer.body}, quiet=True)
