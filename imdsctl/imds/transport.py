"""httpx's transport for ImdsClient, with the time budget kept on the socket: connect,
TLS handshake, every write and every read of an answer end when the client's budget
(imdsctl.imds.budget.Budget) does, whatever the server does.

httpx's timeouts bound each socket operation, not an answer: a server that sends
one header byte every half second never trips a read timeout
(https://github.com/encode/httpx/issues/1450; httpcore's header size cap is all
that ends it). So the transport runs over a network backend whose every
operation waits at most for what is left of the budget; once it is spent, the
next one times out at once, and ``Budget.received`` counts the bytes of the
current attempt, so that the client can tell a silent server from an
unfinished answer.
"""

from __future__ import annotations

from typing import Any, Optional

import httpcore
import httpx

from imdsctl.imds.budget import Budget

if not hasattr(httpcore, "NetworkStream"):  # httpcore < 1.0 (httpx < 0.26): no network backends to wrap
    from imdsctl.errors import UsageError

    raise UsageError(f"imdsctl needs httpx 0.26 or newer (with httpcore 1.0); this Python has httpx "
                     f"{httpx.__version__} and httpcore {httpcore.__version__}",
                     "install a newer python3-httpx (Ubuntu 24.04's 0.26 will do), or pip install "
                     "'httpx>=0.26' beside imdsctl, or run imdsctl's zipapp, which carries its own")


class _BudgetStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, budget: Budget):
        self._stream, self._budget = stream, budget

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        data = self._stream.read(max_bytes, self._budget.bound(timeout, httpcore.ReadTimeout))
        self._budget.received += len(data)
        return data

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        self._stream.write(buffer, self._budget.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: Optional[str] = None,
                  timeout: Optional[float] = None) -> httpcore.NetworkStream:
        # Python's ssl module holds the whole handshake to the socket timeout (one deadline).
        bounded = self._budget.bound(timeout, httpcore.ConnectTimeout)
        return _BudgetStream(self._stream.start_tls(ssl_context, server_hostname, bounded), self._budget)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BudgetBackend(httpcore.SyncBackend):
    def __init__(self, budget: Budget):
        self._budget = budget

    def connect_tcp(self, host: str, port: int, timeout: Optional[float] = None,
                    local_address: Optional[str] = None, socket_options: Any = None) -> Any:
        bounded = self._budget.bound(timeout, httpcore.ConnectTimeout)
        return _BudgetStream(super().connect_tcp(host, port, bounded, local_address, socket_options),
                             self._budget)


class BudgetTransport(httpx.HTTPTransport):
    """httpx's transport, over a connection pool whose sockets keep to the budget.
    IMDS is plain HTTP: no CA bundle is loaded unless the endpoint is https.
    ``proxy``: an http(s):// proxy to go through (the internet requests), on the same budget."""

    def __init__(self, budget: Budget, https: bool, proxy: Optional[str] = None):
        context = httpx.create_ssl_context(verify=https)
        super().__init__(verify=context, retries=0)
        if proxy is None:
            self._pool = httpcore.ConnectionPool(ssl_context=context, keepalive_expiry=5.0, retries=0,
                                                 network_backend=_BudgetBackend(budget))
            return
        via = httpx.Proxy(proxy)  # an http(s):// proxy (for the internet requests), as httpx's transport
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(scheme=via.url.raw_scheme, host=via.url.raw_host, port=via.url.port,
                                   target=via.url.raw_path),
            proxy_auth=via.raw_auth, proxy_headers=via.headers.raw, ssl_context=context,
            proxy_ssl_context=via.ssl_context, retries=0, network_backend=_BudgetBackend(budget))
