"""Redaction of secrets in IMDS answers, for support bundles and diffs.

A rule names an endpoint (its catalog path) and a route inside that endpoint's
answer (``*`` matches any key or list index). Every value at or under a rule's
route is replaced by MARKER, leaf by leaf, so the shape stays visible (how many
SSH keys, which fields exist) while the values go. An empty value is kept: it
hides nothing, and "userData is empty" helps a diagnosis. Tokens are redacted
by key name wherever they appear (imdsctl never asks for one; this is a net).

The rules, with their reasons, are catalog.SENSITIVE: a path added there is
redacted everywhere with no change here. Redaction is by path, not by
searching for the values elsewhere: a secret copied into a tag is not caught.
"""

from __future__ import annotations

import json
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

from imdsctl import catalog

#: What a redacted value is replaced with.
MARKER = "<redacted>"

TOKEN_KEYS = frozenset({"access_token", "refresh_token", "id_token"})
TOKEN_REASON = "a bearer token grants access to whatever it was issued for"


class Rule(NamedTuple):
    endpoint: str              #: catalog path of the endpoint, e.g. /metadata/instance
    route: Tuple[str, ...]     #: keys and indices inside its answer; "*" matches any
    reason: str


RULES: Tuple[Rule, ...] = tuple(Rule(path, tuple(route.split("/")), why)
                                for path, route, why in catalog.SENSITIVE)


class Redaction(NamedTuple):
    path: str      #: route of the value inside its document, e.g. compute/userData
    reason: str
    length: int    #: characters removed


def reason(endpoint: str, parts: Sequence[str]) -> Optional[str]:
    """Why the value at ``parts`` in ``endpoint``'s answer is secret, or None."""
    for rule in RULES:
        if rule.endpoint == endpoint and len(parts) >= len(rule.route) and all(
                want in ("*", got) for want, got in zip(rule.route, parts)):
            return rule.reason
    if any(part.lower() in TOKEN_KEYS for part in parts):
        return TOKEN_REASON
    return None


def redact(endpoint: str, document: Any) -> Tuple[Any, List[Redaction]]:
    """A copy of ``document`` (``endpoint``'s answer) with its secrets replaced
    by MARKER, and what was replaced, in document order."""
    found: List[Redaction] = []

    def walk(node: Any, parts: Tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, (*parts, str(key))) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value, (*parts, str(index))) for index, value in enumerate(node)]
        why = reason(endpoint, parts)
        if why is None or node in (None, "", MARKER):
            return node
        text = node if isinstance(node, str) else json.dumps(node)
        found.append(Redaction("/".join(parts), why, len(text)))
        return MARKER

    return walk(document, ()), found
