"""Leaf reads through systemd-imds's Varlink socket, for when its locked route stops direct access.

The interface (systemd v261, src/shared/varlink-io.systemd.InstanceMetadata.c):
method ``io.systemd.InstanceMetadata.Get`` takes ``key`` (a string, the path
below the vendor's data URL), optional ``wellKnown``, ``interface``,
``refreshUSec``, ``cache``, ``firewallMark``, ``wait``, and answers ``data``
(the value, Base64) and ``interface``; its errors are
``io.systemd.InstanceMetadata.{KeyNotFound, WellKnownKeyUnset, NotAvailable,
NotSupported, CommunicationFailure, Timeout}``. Varlink messages are JSON
objects, each ended by a NUL byte, on a Unix stream socket
(/run/systemd/io.systemd.InstanceMetadata). Assumed here: on Azure the data
URL is IMDS's ``/metadata/instance`` with ``format=text``, so the key of
``compute/vmId`` is ``/compute/vmId``.

Only leaves travel: JSON containers, scheduled events, tokens and the attested
document are refused (exit 4) with the remedy, as Varlink's Get cannot carry them.
Errors map onto the exit-code contract: KeyNotFound and WellKnownKeyUnset 3,
NotAvailable, NotSupported and Timeout 6, CommunicationFailure 5, polkit's refusal 4.
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
import time
from typing import Any, Dict, Optional, Type

from imdsctl import catalog
from imdsctl.errors import (
    ImdsctlError,
    NotFoundError,
    NotImdsError,
    RefusedError,
    UnavailableError,
    UnreachableError,
)
from imdsctl.imds.answers import Answer

INTERFACE = "io.systemd.InstanceMetadata"
MAX_MESSAGE = 1 << 20

_ERRORS: Dict[str, Type[ImdsctlError]] = {
    "KeyNotFound": NotFoundError, "WellKnownKeyUnset": NotFoundError,
    "NotAvailable": UnreachableError, "NotSupported": UnreachableError, "Timeout": UnreachableError,
    "CommunicationFailure": UnavailableError,
}
_REFUSALS = ("org.varlink.service.PermissionDenied", "io.systemd.InteractiveAuthenticationRequired")


class VarlinkClient:
    """The part of ImdsClient's interface instance reads use, over systemd-imds's Varlink socket."""

    def __init__(self, path: str, deadline: float, api_version: Optional[str] = None):
        self.path = path
        self.deadline = deadline
        self.api_version = api_version or catalog.DEFAULT_API_VERSION
        self.endpoint = f"varlink:{path}"

    def leaf(self, route: str) -> str:
        key = "/" + route.strip("/")
        reply = self.call("Get", {"key": key})
        data = reply.get("data")
        try:
            return base64.b64decode(data, validate=True).decode("utf-8") if isinstance(data, str) else \
                _bad(f"systemd-imds answered Get {key} without data")
        except (binascii.Error, UnicodeDecodeError):
            return _bad(f"systemd-imds answered Get {key} with data that is not Base64 UTF-8 text")

    def instance(self, route: str = "") -> Any:
        raise unsupported(f"the JSON of {catalog.INSTANCE_PATH}/{route.strip('/')}".rstrip("/"))

    def versions(self) -> Any:
        raise unsupported(catalog.VERSIONS_PATH)

    def request(self, method: str, path: str, **ignored: Any) -> Answer:
        raise unsupported(f"{method} {path}")

    def close(self) -> None:
        pass

    def call(self, method: str, parameters: Dict[str, Any]) -> Dict[str, Any]:
        """One Varlink call: its reply's parameters, or the error it maps to."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise UnreachableError(f"no time left to ask systemd-imds at {self.path}")
        message = json.dumps({"method": f"{INTERFACE}.{method}", "parameters": parameters}).encode() + b"\0"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(left)
                conn.connect(self.path)
                conn.sendall(message)
                raw = _read_message(conn)
        except socket.timeout:
            raise UnreachableError(f"systemd-imds at {self.path} did not answer {method} in time",
                                   cause="varlink-timeout") from None
        except OSError as exc:
            raise UnreachableError(f"cannot reach systemd-imds at {self.path}: {exc.strerror or exc}",
                                   "is systemd-imds.socket running?") from None
        return _reply(method, parameters, raw)


def _read_message(conn: socket.socket) -> bytes:
    received = b""
    while b"\0" not in received:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionResetError("systemd-imds closed the connection without a reply")
        received += chunk
        if len(received) > MAX_MESSAGE:
            raise ConnectionResetError("systemd-imds's reply is over 1 MiB")
    return received.split(b"\0", 1)[0]


def _reply(method: str, parameters: Dict[str, Any], raw: bytes) -> Dict[str, Any]:
    try:
        reply = json.loads(raw)
    except ValueError:
        return _bad(f"systemd-imds's reply to {method} is not JSON")
    if not isinstance(reply, dict):
        return _bad(f"systemd-imds's reply to {method} is not a JSON object")
    error = reply.get("error")
    where = f"{method} {parameters.get('key', '')}".strip()
    if isinstance(error, str):
        name = error[len(INTERFACE) + 1:] if error.startswith(INTERFACE + ".") else ""
        if name in _ERRORS:
            hint = {"KeyNotFound": "keys are case-sensitive, indices 0-based"}.get(name)
            raise _ERRORS[name](f"systemd-imds: {error} for {where}", hint, cause=f"varlink-{name}")
        if error in _REFUSALS:
            raise RefusedError(f"systemd-imds refused {where}: {error} (polkit)",
                               "run as root, or allow io.systemd.InstanceMetadata.Get in polkit",
                               cause="varlink-polkit")
        raise UnavailableError(f"systemd-imds failed {where}: {error}")
    answer = reply.get("parameters", {})
    return answer if isinstance(answer, dict) else _bad(f"systemd-imds's reply to {method} has no parameters")


def _bad(message: str) -> Any:
    raise NotImdsError(message, "something other than systemd-imds may listen on its socket")


def unsupported(what: str) -> RefusedError:
    return RefusedError(f"systemd-imds's Varlink interface serves leaf values only, not {what}",
                        "reach IMDS directly, as a process systemd-imds lets through (its firewall mark), "
                        "or read a leaf", cause="varlink-unsupported")
