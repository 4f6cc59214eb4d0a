"""A webhook receiver on 127.0.0.1 for the notification tests: it records
what it is sent and answers from a script (a status, after a delay)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Tuple


class Receiver:
    """``Receiver(script)``: the n-th request gets ``script[n]`` (a status, or
    (status, seconds to wait first)); 200 once the script is spent. Each
    request is recorded as a dict: method, target (the request line's path
    or absolute URL), headers, body (parsed JSON when it is)."""

    def __init__(self, *script: Any):
        self.script: List[Tuple[int, float]] = [s if isinstance(s, tuple) else (s, 0.0) for s in script]
        self.requests: List[Dict[str, Any]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                with receiver.arrived:
                    index = len(receiver.requests)
                    receiver.requests.append({"method": self.command, "target": self.path,
                                              "headers": dict(self.headers), "body": body})
                    receiver.arrived.notify_all()
                status, delay = receiver.script[index] if index < len(receiver.script) else (200, 0.0)
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on a slow answer: nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret-token"

    def wait_for(self, count: int, timeout: float = 5.0) -> List[Dict[str, Any]]:
        """The requests, once there are ``count`` (fails after ``timeout`` seconds)."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= count, timeout), self.requests
            return list(self.requests)

    def bodies(self) -> List[Any]:
        return [r["body"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"

