"""The instance document as each api-version shows it, and route filtering.

Version gating reads the catalog: walking the document, a key whose
``catalog.own_since`` is newer than the requested api-version is removed
with its subtree.  Keys the catalog does not list stay (they inherit their
parent's version), so a profile may carry fields newer than this release.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

from imdsctl.catalog import INSTANCE_VERSIONS, own_since, version_key

#: 2017-03-01 was the preview: the first GA document under older key names
#: (the 2017 documentation's samples).  Served from the 2017-04-02 view renamed as below.
PREVIEW_VERSION, FIRST_GA_VERSION = INSTANCE_VERSIONS[0], INSTANCE_VERSIONS[1]
PREVIEW_KEYS = {
    "ipAddress": "ipaddress",
    "privateIpAddress": "ipaddress",
    "publicIpAddress": "publicip",
    "macAddress": "mac",
}


def gate(node: Any, version: str, parts: Tuple[str, ...] = ()) -> Any:
    """``node`` (found at ``parts``) without the keys newer than ``version``."""
    if isinstance(node, dict):
        wanted = version_key(version)
        out = {}
        for key, value in node.items():
            since = own_since(parts + (key,))
            if since is None or version_key(since) <= wanted:
                out[key] = gate(value, version, parts + (key,))
        return out
    if isinstance(node, list):
        return [gate(value, version, parts + (str(i),)) for i, value in enumerate(node)]
    return node


def preview(node: Any, parent: str = "") -> Any:
    """The 2017-03-01 preview shape of a 2017-04-02 view (the 2017 documentation):
    renamed network keys, and a ``dnsservers`` list in every subnet."""
    if isinstance(node, dict):
        out = {PREVIEW_KEYS.get(k, k): preview(v, k) for k, v in node.items()}
        if parent == "subnet":
            out["dnsservers"] = []
        return out
    if isinstance(node, list):
        return [preview(value, parent) for value in node]
    return node


class InstanceTree:
    """A profile's instance document and its per-api-version views (cached)."""

    def __init__(self, document: Dict[str, Any]):
        self.document = document
        self._views: Dict[str, Any] = {}

    def view(self, version: str) -> Dict[str, Any]:
        """The document as ``version`` shows it; ``version`` must be known."""
        view = self._views.get(version)
        if view is None:
            if version == PREVIEW_VERSION:
                view = preview(gate(self.document, FIRST_GA_VERSION))
            else:
                view = gate(self.document, version)
            self._views[version] = view
        return view


def listing(node: Any) -> str:
    """The ``format=text`` listing of a container: one child per line, sorted
    keys or indices; containers (even empty ones) end in ``/``, leaves -
    including string entries of an array - do not.  No trailing newline."""
    children = sorted(node.items()) if isinstance(node, dict) else enumerate(node)
    return "\n".join(f"{name}/" if isinstance(child, (dict, list)) else str(name)
                     for name, child in children)
