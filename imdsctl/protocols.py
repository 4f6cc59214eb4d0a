"""The seams between the layers, as Protocols: what the domain (instance, wait,
identity, events, attested, support) asks of the IMDS source it is handed
(``Imds``: a Session, or anything shaped like one) and of that source's HTTP
client (``Client``, defined in imdsctl/imds/protocols.py: an ImdsClient, or a
test's stand-in).

For type checkers only: modules import this under ``if TYPE_CHECKING:``, so a
plain read never loads it (nor the typing module on its behalf).
"""

from __future__ import annotations

from typing import Any, List, Protocol

from imdsctl.imds.protocols import Client
from imdsctl.reporter import Reporter
from imdsctl.session import Settings

__all__ = ["Client", "Imds"]


class Imds(Protocol):
    """What a domain function is handed as ``imds`` (imdsctl.session.Session): the settings it
    was asked, a reporter to speak through, the client, and instance reads (IMDS or a snapshot)."""

    settings: Settings
    reporter: Reporter

    @property
    def client(self) -> Client: ...

    @property
    def api_version(self) -> str: ...

    def explain(self, message: str) -> None: ...

    def instance(self, route: str = "") -> Any: ...

    def leaf(self, route: str) -> Any: ...

    def loadbalancer(self) -> Any: ...

    def versions(self) -> List[str]: ...
