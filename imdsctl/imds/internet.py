"""HTTP to the internet, not to IMDS: a caIssuers certificate for attested
verify, and webhook notifications for events watch.

Unlike ImdsClient (imdsctl.imds.client), these honour the proxy variables (an
internet service may be reached only through one). Like it, they follow no
redirect, and their timeout bounds the whole request (imdsctl.imds.transport).
"""

from __future__ import annotations

import urllib.request
from typing import Any, Optional
from urllib.parse import urlsplit

import httpx

from imdsctl import __version__
from imdsctl.imds.budget import Budget
from imdsctl.imds.transport import BudgetTransport


def download(url: str, *, timeout: float = 10.0, max_bytes: int = 64 * 1024) -> bytes:
    """GET an http(s) URL of the internet (not IMDS: proxies from the
    environment honoured), at most ``max_bytes``, no redirect followed: the URL
    comes from an untrusted document, and a redirect would send the request
    wherever its server says (another host, or the identity endpoint).
    ``timeout`` bounds the whole download, not each read (on the socket, as
    for post_webhook). ValueError for another scheme or a bigger body;
    OSError (one line) for a redirect, an error status or no answer in time."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    budget = Budget(timeout)
    transport = BudgetTransport(budget, https=url.lower().startswith("https"), proxy=_proxy(url))
    data = bytearray()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport,
                          headers={"User-Agent": f"imdsctl/{__version__}"}) as http, \
                http.stream("GET", url) as response:
            _refuse(response)
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise ValueError(f"over {max_bytes} bytes: not a certificate")
    except httpx.TimeoutException:
        raise OSError(f"no whole answer within {timeout:g}s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise OSError(_short(exc)) from None
    return bytes(data)


def _refuse(response: httpx.Response) -> None:
    """OSError for an answer that is not the file: a redirect (said, not followed) or an error."""
    status = f"{response.status_code} {response.reason_phrase}".strip()
    if response.is_redirect:
        where = response.headers.get("Location", "nowhere")
        raise OSError(f"answered {status}, a redirect to {where[:160]}: not followed")
    if response.status_code >= 400:
        raise OSError(f"answered {status}")


def post_webhook(url: str, payload: Any, *, timeout: float = 5.0) -> int:
    """POST ``payload`` as JSON to a webhook of the internet (not IMDS: proxies
    from the environment honoured, no redirect followed, at most 64 KiB of the
    answer read, and ignored); its HTTP status. ``timeout`` bounds the whole
    POST, not each read: a webhook that trickles its answer ends with it (on
    the socket: imdsctl.imds.transport, through a proxy too). ValueError
    for a URL that is not http(s); OSError (one line) when no answer came:
    refused, timed out, dropped."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    budget = Budget(timeout)
    transport = BudgetTransport(budget, https=url.lower().startswith("https"), proxy=_proxy(url))
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport,
                          headers={"User-Agent": f"imdsctl/{__version__}"}) as http, \
                http.stream("POST", url, json=payload) as response:
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > 64 * 1024:
                    break
            return response.status_code
    except httpx.TimeoutException:
        raise OSError(f"no answer within {timeout:g}s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise OSError(_short(exc)) from None


def _proxy(url: str) -> Optional[str]:
    """The http(s) proxy the environment names for ``url`` (HTTPS_PROXY, HTTP_PROXY,
    ALL_PROXY; NO_PROXY honoured), as httpx would pick it; None: straight there."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme.lower()) or proxies.get("all")
    return proxy if proxy and proxy.lower().startswith(("http://", "https://")) else None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]
