"""Small helpers the test modules share."""

from __future__ import annotations

import socket
from importlib.metadata import version

from imdsctl import catalog

#: The real IMDS address, which unit tests reach only through pytest-httpx (the ``imds`` fixture).
BASE = catalog.DEFAULT_ENDPOINT

#: The checked-in docs and completions are generated with click >= 8.2 (help layout
#: differs before; Python 3.9 stops at click 8.1): older clicks cannot regenerate them.
DOCS_CLICK = tuple(int(part) for part in version("click").split(".")[:2]) >= (8, 2)


def ok(result, code: int = 0):
    """Assert a CliRunner result's exit code, showing stdout and stderr if it differs."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


class RawServer:
    """A TCP server on 127.0.0.1 that answers each connection with ``handler(conn)``:
    raw bytes, for answers no HTTP server would send (trickles, silence, garbage).
    ``stop_after`` seconds bound every handler, so that a test of a client that
    does not stop fails instead of hanging."""

    def __init__(self, handler, stop_after: float = 3.0):
        import socket
        import threading

        self.handler, self.stop_after = handler, stop_after
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._closed = threading.Event()

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self.listener.close()

    def _serve(self) -> None:
        import threading

        while not self._closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn) -> None:
        import time

        deadline = time.monotonic() + self.stop_after
        try:
            conn.settimeout(self.stop_after)
            self.handler(conn, lambda: time.monotonic() < deadline and not self._closed.is_set())
        except OSError:
            pass
        finally:
            conn.close()


def trickle(prefix: bytes, every: float = 0.05):
    """A RawServer handler: read the request, send ``prefix``, then one byte every ``every`` s."""
    import time

    def handler(conn, going) -> None:
        conn.recv(65536)
        conn.sendall(prefix)
        while going():
            time.sleep(every)
            conn.sendall(b"a")
    return handler


def _closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: A loopback port nothing listens on (the guard points IMDSCTL_ENDPOINT there).
CLOSED_PORT = _closed_loopback_port()
