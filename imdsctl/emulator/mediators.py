"""What may stand in front of IMDS, rehearsed: ``--as gpa-enforce``, ``--as gpa-audit``, ``--as nmi``.

* The Guest Proxy Agent (the Metadata Security Protocol; github.com/Azure/GuestProxyAgent,
  proxy_agent/src/proxy/proxy_server.rs): answers it forwards carry
  ``x-ms-azure-host-authorization``; a request its rules do not allow is refused
  in Enforce mode with an empty-bodied 403 and ``Connection: close`` (in Audit
  mode it is forwarded, and only logged). Its rules here: the uids allowed
  (``allow_uids``, root alone by default), the uid of a loopback client read from
  /proc/net/tcp as the agent reads the process behind a connection.
* aad-pod-identity's NMI (pkg/nmi/server/server.go): it forwards instance
  requests, answers token requests of a pod without an identity with a text/plain
  403 "no AzureAssignedIdentity found for pod:NAMESPACE/NAME in assigned state",
  and a request without the Metadata header with a 400 "metadata header is not
  specified" (its own words, in Go's http.Error form).
"""

from __future__ import annotations

import socket
import struct
from typing import Callable, FrozenSet, Iterable, Optional

from imdsctl.emulator.messages import Request, Response

MODES = ("imds", "gpa-enforce", "gpa-audit", "nmi")
HOST_AUTHORIZATION = "x-ms-azure-host-authorization"
_TEXT = "text/plain; charset=utf-8"
_TOKEN_PARTS = ("metadata", "identity", "oauth2", "token")


def peer_uid(address: str, port: int, tables: Iterable[str] = ("/proc/net/tcp", "/proc/net/tcp6")
             ) -> Optional[int]:
    """The uid owning the local TCP socket bound to ``address``:``port`` (a client on this machine)."""
    try:
        packed = socket.inet_pton(socket.AF_INET, address)
        wanted = f"{struct.unpack('<L', packed)[0]:08X}:{port:04X}"
    except OSError:
        return None
    for table in tables:
        try:
            with open(table, encoding="ascii") as file:
                for line in file.read().splitlines()[1:]:
                    fields = line.split()
                    if len(fields) > 7 and fields[1] == wanted:
                        return int(fields[7])
        except (OSError, ValueError):
            continue
    return None


class Mediator:
    """Answers in front of the emulated IMDS as ``mode`` says."""

    def __init__(self, mode: str, allow_uids: Iterable[int] = (0,),
                 uid_of: Callable[[str, int], Optional[int]] = peer_uid):
        if mode not in MODES:
            raise ValueError(f"unknown --as {mode!r}: one of {', '.join(MODES)}")
        self.mode = mode
        self.allow_uids: FrozenSet[int] = frozenset(allow_uids)
        self._uid_of = uid_of

    def answer(self, req: Request, imds: Callable[[], Response]) -> Response:
        if self.mode.startswith("gpa-"):
            return self._gpa(req, imds)
        if self.mode == "nmi":
            return self._nmi(req, imds)
        return imds()

    def _gpa(self, req: Request, imds: Callable[[], Response]) -> Response:
        uid = self._uid_of(req.client, req.client_port)
        allowed = uid is not None and uid in self.allow_uids
        if not allowed and self.mode == "gpa-enforce":
            return Response(403, b"", content_type=_TEXT, headers=(("Connection", "close"),), server="")
        forwarded = imds()
        return _with_header(forwarded, HOST_AUTHORIZATION, "value")

    def _nmi(self, req: Request, imds: Callable[[], Response]) -> Response:
        if (req.headers.get("Metadata") or "").strip().lower() != "true":
            return Response(400, b"metadata header is not specified\n", content_type=_TEXT, server="")
        if req.parts[:4] == _TOKEN_PARTS:
            said = "no AzureAssignedIdentity found for pod:default/app in assigned state\n"
            return Response(403, said.encode(), content_type=_TEXT, server="")
        return imds()


def _with_header(response: Response, name: str, value: str) -> Response:
    from dataclasses import replace

    return replace(response, headers=response.headers + ((name, value),))
