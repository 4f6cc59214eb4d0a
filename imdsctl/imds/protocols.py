"""What the domain asks of an IMDS client, as a Protocol (``Client``): an ImdsClient, or a
test's stand-in. Imported only under ``if TYPE_CHECKING:`` (see imdsctl/protocols.py).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Protocol, Tuple

from imdsctl.imds.answers import RETRY_STATUSES, Answer


class Client(Protocol):
    """IMDS over HTTP for one invocation, with one time budget (imdsctl.imds.client.ImdsClient)."""

    endpoint: str
    timeout: float
    #: failed connections that end a request while nothing has answered (None: the whole budget)
    connect_attempts: Optional[int]
    #: (method, url, status or error, seconds) of every attempt
    log: List[Tuple[str, str, str, float]]

    @property
    def api_version(self) -> str: ...

    def remaining(self) -> float: ...

    def reset_budget(self, timeout: Optional[float] = None) -> None: ...

    def request(self, method: str, path: str, *, params: Optional[Dict[str, str]] = None,
                expect: str = "json", versioned: bool = True, api_version: Optional[str] = None,
                json_body: Any = None, retry_statuses: frozenset = RETRY_STATUSES) -> Answer: ...

    def instance(self, route: str = "") -> Any: ...

    def leaf(self, route: str) -> str: ...

    def versions(self) -> List[str]: ...

    def close(self) -> None: ...
