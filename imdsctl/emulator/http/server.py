"""The HTTP transport: one asyncio event loop, on a thread of its own, serving
every connection of one emulator (connection.py) around the socket-free
Service.

``Server`` binds the listening socket in the caller's thread (so that an
address in use is an OSError at once), accepts on the loop, and stops
promptly: the listening socket closed, every connection shut down, delayed
answers dropped, the thread joined.

Out of file descriptors (or memory), accept() fails: the Server stops
accepting for ``ACCEPT_PAUSE`` seconds instead of retrying at once (no busy
loop), and closes the connections that have waited ``SHED_AFTER`` seconds or
more for a next request, idle keep-alive connections, so that the clients
queued behind them get in. Accepting resumes as descriptors free up.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from typing import Any, Optional, Set, Tuple

from imdsctl.emulator.http import wire
from imdsctl.emulator.http.connection import Connection
from imdsctl.emulator.service import Service

#: Listen backlog: room for a burst of clients while the loop is busy.
BACKLOG = 1024
#: How long accepting pauses after accept() fails (out of descriptors, say).
ACCEPT_PAUSE = 0.1
#: Connections waiting this long for a next request are closed when accept() fails.
SHED_AFTER = 0.5

#: Control characters, escaped in log lines.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


class Server:
    """One emulator's listening socket, its event loop on a thread, and its connections.

    The constructor binds (OSError: the address is taken or not ours);
    ``start`` returns once the loop serves; ``stop`` ends every connection,
    delayed answers included, and the thread."""

    def __init__(self, address: Tuple[str, int], service: Service, *, verbose: bool = False,
                 idle_timeout: float = 60.0):
        self.service = service
        self.verbose = verbose
        self.idle_timeout = idle_timeout
        self.connections: Set[Connection] = set()
        self.stopping = False
        self.socket = _listen(address)
        self.address = self.socket.getsockname()
        self.loop = asyncio.new_event_loop()
        self._date = (0, "")
        self._starved = False          #: accept() is failing: accepting paused
        self._resume: Optional[asyncio.TimerHandle] = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"imds-emulator:{self.address[1]}",
                                        daemon=True)

    # -- the loop's thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def stop(self, timeout: float) -> None:
        """Stop accepting, end every connection, and wait up to ``timeout`` s for the thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._shutdown)
            self._thread.join(timeout)
        else:
            self.socket.close()

    def _run(self) -> None:
        loop = self.loop
        loop.set_exception_handler(self._loop_error)
        loop.add_reader(self.socket.fileno(), self._accept)
        self._ready.set()
        try:
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)  # connections half set up when stop() came
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(asyncio.sleep(0))  # their close callbacks
        finally:
            loop.close()

    def _shutdown(self) -> None:
        self.stopping = True
        if self._resume is not None:
            self._resume.cancel()
        self.loop.remove_reader(self.socket.fileno())
        self.socket.close()
        for connection in list(self.connections):
            connection.end()
        self.loop.call_soon(self.loop.stop)  # after the connections' own close callbacks

    # -- accepting ----------------------------------------------------------------------------------

    def _accept(self) -> None:
        for _ in range(128):
            try:
                sock, _ = self.socket.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:  # out of descriptors or memory: pause, make room
                self._pause(exc)
                return
            if self._starved:
                self._starved = False
                if self.verbose:
                    sys.stderr.write("imdsctl emulator: accepting again\n")
            self.loop.create_task(self._connect(sock))

    async def _connect(self, sock: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: Connection(self), sock)
        except OSError:  # the client left before its connection was set up
            sock.close()

    def _pause(self, exc: OSError) -> None:
        self.loop.remove_reader(self.socket.fileno())
        self._resume = self.loop.call_later(ACCEPT_PAUSE, self._accept_again)
        shed = self.shed(self.loop.time() - SHED_AFTER)
        if self.verbose and (shed or not self._starved):
            sys.stderr.write(f"imdsctl emulator: cannot accept ({exc.strerror or exc}): pausing; "
                             f"{shed} idle connections closed\n")
        self._starved = True

    def _accept_again(self) -> None:
        self._resume = None
        if not self.stopping:
            self.loop.add_reader(self.socket.fileno(), self._accept)

    def shed(self, since: float) -> int:
        """Close the connections waiting for a next request since ``since``; how many."""
        idle = [connection for connection in self.connections if connection.idle(since)]
        for connection in idle:
            connection.transport.close()
        return len(idle)

    # -- for the connections ----------------------------------------------------------------------

    def date(self) -> str:
        """The Date header's value, formatted once a second."""
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, wire.http_date(now))
        return self._date[1]

    def log(self, client: str, message: str) -> None:
        """One line on stderr, control characters escaped (``verbose`` only)."""
        if self.verbose:
            sys.stderr.write(f"{client} - {message.translate(_ESCAPES)}\n")

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: Any) -> None:
        """What asyncio would log: a bug in the emulator, in one line."""
        if not self.stopping:
            exc = context.get("exception")
            detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
            sys.stderr.write(f"imdsctl emulator: internal error: {context.get('message')}{detail}\n")


def _listen(address: Tuple[str, int]) -> socket.socket:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
