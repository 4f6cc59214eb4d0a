"""What ImdsClient sends must be sendable: the endpoint, and every query value.

The one check of an endpoint (``--endpoint``, IMDSCTL_ENDPOINT, the Python
API): an http(s) URL of printable ASCII with a host (an IP address or a DNS
name whose labels are 1 to 63 letters, digits, ``-`` or ``_``), a port in
range, no query or fragment, and no credentials: IMDS never takes any, and a
password would otherwise be printed in every error line, every ``--debug``
URL and every bundle. A refused endpoint is a usage error (exit 2) whose
message never shows the credentials.

Query values (``--api-version``, ``--resource``, a nonce...) must be text:
bytes that are not UTF-8 on the command line arrive as lone surrogates, which
no request can carry.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Mapping
from urllib.parse import urlsplit

from imdsctl.errors import UsageError, one_line
from imdsctl.imds.answers import is_text

_EXAMPLE = "pass e.g. --endpoint http://127.0.0.1:8169"
_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def _shown(text: str, limit: int = 80) -> str:
    """Text from the command line, for an error line: escaped, and not too long."""
    shown = ascii(text)
    return shown if len(shown) <= limit else shown[:limit] + "...'"


def checked(endpoint: str) -> str:
    """``endpoint`` without a trailing slash, or UsageError saying what is wrong with it."""
    endpoint = endpoint.rstrip("/")
    if not endpoint.isascii() or not endpoint.isprintable() or " " in endpoint:
        raise UsageError(f"endpoint {_shown(endpoint)} holds spaces, control or non-ASCII characters",
                         _EXAMPLE)
    url = urlsplit(endpoint)
    if "@" in url.netloc:
        safe = f"{url.scheme}://<credentials>@{url.netloc.rpartition('@')[2]}"
        raise UsageError(f"endpoint {_shown(safe)} carries credentials: IMDS takes none",
                         "drop the user:password@ part of the endpoint")
    if url.scheme.lower() not in ("http", "https") or not url.hostname:
        raise UsageError(f"endpoint {_shown(endpoint)} is not an http:// URL", _EXAMPLE)
    if url.query or url.fragment or "?" in endpoint or "#" in endpoint:
        raise UsageError(f"endpoint {_shown(endpoint)} has a query or a fragment: it is a base URL",
                         _EXAMPLE)
    try:
        url.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise UsageError(f"endpoint {_shown(endpoint)} has no valid port", _EXAMPLE) from None
    if not _valid_host(url.hostname):
        raise UsageError(f"endpoint {_shown(endpoint)} names no valid host: an IP address or a DNS "
                         "name of labels of 1 to 63 letters, digits and '-'", _EXAMPLE)
    if "xn--" not in url.hostname.lower():  # nothing to decode: no need for httpx (the fast path)
        return endpoint
    import httpx

    try:
        httpx.URL(endpoint).host  # noqa: B018 - decodes an xn-- label (the Host header)
    except (httpx.InvalidURL, ValueError) as exc:  # the idna package's errors are ValueErrors
        raise UsageError(f"endpoint {_shown(endpoint)} is not a valid URL ({one_line(str(exc), 120)})",
                         _EXAMPLE) from None
    return endpoint


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def check_sendable(where: str, query: Mapping[str, str], json_body: Any = None) -> None:
    """UsageError when a query value (or a string of the JSON body) is not text a request can carry."""
    for name, value in query.items():
        if not is_text(value):
            raise UsageError(f"{where}: the {name} parameter {_shown(value)} holds bytes that are not "
                             "UTF-8 text", "pass it as UTF-8 text")
    if json_body is not None and not is_text(json.dumps(json_body, ensure_ascii=False)):
        raise UsageError(f"{where}: the request body holds bytes that are not UTF-8 text",
                         "pass its values as UTF-8 text")

