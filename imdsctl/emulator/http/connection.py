"""One HTTP/1.1 connection of the emulator, as an asyncio Protocol: bytes in,
requests parsed (wire.py) and answered by the Service, answers out, in order
(keep-alive and pipelining).

A delayed answer (the ``delay`` fault) holds its connection, and only it,
until the delay ends or the server stops; a ``truncate`` answer closes after
half its body; a ``reset`` closes with SO_LINGER 0 (the peer sees a RST). A
connection silent for ``idle_timeout`` seconds is closed; a peer that stops
reading its answers is not read either, nor one waiting for a delayed answer.

``server`` is the transport's Server (transport.py): its ``loop``,
``service``, ``verbose``, ``idle_timeout``, ``connections`` (the set this
connection joins while open), ``stopping``, ``date()`` and ``log()``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from dataclasses import replace
from typing import Any, List, Optional, Tuple

from imdsctl.emulator.http import wire
from imdsctl.emulator.messages import Response, error

#: Answers to pipelined requests are written in batches of at most this many.
BATCH = 32
#: How long a connection the emulator ends waits for its peer to close too.
LINGER = 2.0


class Connection(asyncio.Protocol):
    """One client connection: requests in, answers out, in order."""

    def __init__(self, server: Any):
        self.server = server
        self.transport: Any = None
        self.client = ""
        self.client_port = 0
        self.buffer = b""
        self.scanned = 0                       #: bytes of ``buffer`` searched for a head's end
        self.head: Optional[wire.Head] = None  #: parsed, waiting for its body
        self.continued = False                 #: whether ``100 Continue`` was sent for ``head``
        self.pending: Optional[asyncio.TimerHandle] = None  #: a delayed answer
        self.blocked = False                   #: the peer is not reading our answers
        self.closing = False
        self.eof = False
        self.last = 0.0                        #: when bytes last came or went (loop time)
        self.idle_check: Optional[asyncio.TimerHandle] = None
        self.linger: Optional[asyncio.TimerHandle] = None

    # -- asyncio's callbacks ------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self.server.stopping:  # accepted as the server stopped
            transport.abort()
            return
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        self.client_port = int(peer[1]) if peer and len(peer) > 1 else 0
        self.last = self.server.loop.time()
        self.server.connections.add(self)
        self.idle_check = self.server.loop.call_later(self.server.idle_timeout, self._check_idle)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.closing = True
        self.server.connections.discard(self)
        for handle in (self.pending, self.idle_check, self.linger):
            if handle is not None:
                handle.cancel()

    def data_received(self, data: bytes) -> None:
        if self.closing:  # after our last answer: dropped
            return
        self.last = self.server.loop.time()
        self.buffer = self.buffer + data if self.buffer else data
        if self.pending is None and not self.blocked:
            self.process()

    def eof_received(self) -> bool:
        self.eof = True
        # keep the write side for what is owed (not when lingering: the peer has read our end)
        return not self.closing and (self.pending is not None or self.blocked)

    def pause_writing(self) -> None:
        self.blocked = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.blocked = False
        self._resume()

    # -- requests and answers ---------------------------------------------------------------------

    def process(self) -> None:
        """Answer every complete request in the buffer, in order, until one must wait."""
        out: List[bytes] = []
        while (self.buffer or self.head) and not self.closing and self.pending is None and not self.blocked:
            head = self.head or self._next_head(out)
            if head is None:
                break
            if len(self.buffer) < head.length:
                if head.expect_continue and not self.continued:
                    self.continued = True
                    out.append(wire.CONTINUE)
                break
            body, self.buffer = self.buffer[: head.length], self.buffer[head.length:]
            self.head, self.continued = None, False
            response, close = self._respond(head, body)
            self._answer(head, response, close, out)
            if len(out) >= BATCH:
                self._flush(out)  # may pause writing: a peer must read what it asked for
        self._flush(out)
        if self.closing:
            self._close()
        elif self.eof and self.pending is None and not self.blocked:
            self.transport.close()

    def _flush(self, out: List[bytes]) -> None:
        if out:
            self.transport.write(b"".join(out))
            out.clear()

    def _next_head(self, out: List[bytes]) -> Optional[wire.Head]:
        if self.buffer[:1] in (b"\r", b"\n"):  # empty lines before a request are ignored
            self.buffer, self.scanned = self.buffer.lstrip(b"\r\n"), 0
        end = wire.head_end(self.buffer, self.scanned)
        try:
            if end < 0:
                self.scanned = len(self.buffer)
                refusal = wire.incomplete(self.buffer)
                if refusal is not None:
                    raise refusal
                return None
            data, self.buffer, self.scanned = self.buffer[:end], self.buffer[end:], 0
            self.head = wire.parse_head(data)
            return self.head
        except wire.BadRequest as exc:
            self._refuse(exc, out)
            return None

    def _refuse(self, exc: wire.BadRequest, out: List[bytes]) -> None:
        if self.server.verbose:
            self.server.log(self.client, f"code {exc.status}, message {exc}")
        self._write(out, exc.response(), close=True)

    def _respond(self, head: wire.Head, body: bytes) -> Tuple[Response, bool]:
        """The Service's answer and whether the connection ends after it."""
        try:
            request = wire.request(head, body, self.client, self.client_port)
        except wire.BadRequest as exc:
            if self.server.verbose:
                self.server.log(self.client, f"code {exc.status}, message {exc}")
            return exc.response(), True
        try:
            response = self.server.service.handle(request)
            return response, head.close or ("Connection", "close") in response.headers
        except Exception as exc:  # a bug in the emulator: say so in one line
            sys.stderr.write(f"imdsctl emulator: internal error: {type(exc).__name__}: {exc}\n")
            return error(500, "Internal emulator error"), head.close

    def _answer(self, head: wire.Head, response: Response, close: bool, out: List[bytes]) -> None:
        if response.reset:
            self._flush(out)
            if self.server.verbose:
                self.server.log(self.client, f'"{head.requestline}" reset')
            self.reset()
        elif response.delay:
            self.pending = self.server.loop.call_later(response.delay, self._delayed, head, response, close)
            self.transport.pause_reading()
        else:
            size = self._write(out, response, close=close, head_only=head.method == "HEAD")
            if self.server.verbose:
                self.server.log(self.client, f'"{head.requestline}" {response.status} {size}')

    def _write(self, out: List[bytes], response: Response, *, close: bool, head_only: bool = False) -> int:
        """Add the answer's bytes to ``out``; the size of the body sent, as logged."""
        out.append(wire.encode(response, date=self.server.date(), head_only=head_only, close=close))
        self.closing = self.closing or close or response.truncate
        return len(response.body) // 2 if response.truncate else len(response.body)

    def _delayed(self, head: wire.Head, response: Response, close: bool) -> None:
        self.pending = None
        self.last = self.server.loop.time()
        out: List[bytes] = []
        self._answer(head, replace(response, delay=0.0), close, out)
        self._flush(out)
        self._resume()

    def _resume(self) -> None:
        if self.closing:
            self._close()
        else:
            self.transport.resume_reading()
            self.process()

    def _check_idle(self) -> None:
        wait = self.last + self.server.idle_timeout - self.server.loop.time()
        if self.pending is not None or wait > 0:
            self.idle_check = self.server.loop.call_later(max(wait, 0.05), self._check_idle)
        elif self.blocked:
            self.transport.abort()
        else:
            self.transport.close()

    # -- how a connection ends ----------------------------------------------------------------------

    def idle(self, since: float) -> bool:
        """Whether this connection waits for a next request, silent since ``since`` (loop time)."""
        return (not self.buffer and self.head is None and self.pending is None and not self.blocked
                and self.last <= since)

    def _close(self) -> None:
        """End after what was written: our FIN now, then drop what the peer still
        sends until it closes too (at most LINGER s), so that it reads our last
        answer rather than a reset (which unread data would cause)."""
        self.closing = True
        if self.linger is not None or self.transport.is_closing():
            return
        if self.eof or self.blocked or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.transport.resume_reading()
        self.linger = self.server.loop.call_later(LINGER, self.transport.close)

    def reset(self) -> None:
        """Close with SO_LINGER 0: the peer sees a reset (RST), not an orderly close."""
        self.closing = True
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def end(self) -> None:
        """The server stops: shut the socket down (the peer sees its end at once) and drop it."""
        self.closing = True
        sock = self.transport.get_extra_info("socket")
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.transport.abort()
