"""HTTP to the internet, not to IMDS: a caIssuers certificate for attested
verify, and webhook notifications for events watch.

Unlike ImdsClient (imdsctl.imds.client), these honour the proxy variables (an
internet service may be reached only through one) and follow redirects.
"""

from __future__ import annotations

from typing import Any

import httpx

from imdsctl import __version__


def download(url: str, *, timeout: float = 10.0, max_bytes: int = 64 * 1024) -> bytes:
    """GET an http(s) URL of the internet (not IMDS: proxies from the
    environment honoured, up to 3 redirects followed), at most ``max_bytes``.
    ValueError for another scheme or a bigger body; httpx errors as they come."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    data = bytearray()
    with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=3,
                      headers={"User-Agent": f"imdsctl/{__version__}"}) as http, \
            http.stream("GET", url) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > max_bytes:
                raise ValueError(f"over {max_bytes} bytes: not a certificate")
    return bytes(data)


def post_webhook(url: str, payload: Any, *, timeout: float = 5.0) -> int:
    """POST ``payload`` as JSON to a webhook of the internet (not IMDS: proxies
    from the environment honoured, no redirect followed, at most 64 KiB of the
    answer read, and ignored); its HTTP status. ValueError for a URL that is
    not http(s); OSError (one line) when no answer came: refused, timed out,
    dropped."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False,
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


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]
