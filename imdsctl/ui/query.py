"""Catching --query mistakes: a name the data does not have (the query's
result is then null or empty, which a script would take as a value), and
jq's spelling (``.vmId``) where JMESPath is asked for."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, List, Optional

_JQ_STEP = re.compile(r"(^|\|)\s*\.(?=[A-Za-z_\[]|$)")


def jmespath_spelling(expression: str) -> Optional[str]:
    """What a jq-style query (``.vmId``, ``.[0].name``, ``| length``) is in
    JMESPath, or None when it does not look like jq."""
    text = expression.strip()
    if not text.startswith((".", "|")):
        return None
    text = text.lstrip("|").strip()
    text = _JQ_STEP.sub(lambda m: m.group(1) and m.group(1) + " ", text).replace(".[", "[")
    return text.strip() or "@"


def _chains(node: Any) -> Iterator[List[str]]:
    """The chains of field names a query looks up from the data's top
    (``compute.vmId``: ["compute", "vmId"]); what a projection or filter
    looks up inside a list is left out (an empty list has none of it)."""
    kind, children = node.get("type"), node.get("children", [])
    if kind == "field":
        yield [node["value"]]
    elif kind == "subexpression":
        chain = [name for child in children for names in _chains(child) for name in names]
        if all(child.get("type") in ("field", "subexpression") for child in children):
            yield chain
        else:
            yield from _chains(children[0])
    elif kind in ("multi_select_dict", "multi_select_list"):
        for child in children:
            yield from _chains(child)
    elif children and kind in ("key_val_pair", "index_expression", "projection", "filter_projection",
                               "value_projection", "flatten", "pipe"):
        yield from _chains(children[0])


def _missing(chain: List[str], data: Any) -> Optional[str]:
    """The line naming the first name of ``chain`` that ``data`` does not have."""
    import difflib

    node = data
    for name in chain:
        if not isinstance(node, dict):
            return None
        if name not in node:
            keys = [str(k) for k in node]
            near = [k for k in keys if k.lower() == name.lower()] or \
                difflib.get_close_matches(name, keys, n=1, cutoff=0.6)
            return f"--query: the data has no key {name!r}" + (f"; nearest: {near[0]}" if near else "")
        node = node[name]
    return None


def _empty(value: Any) -> bool:
    if value in (None, "", [], {}):
        return True
    values = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(v is None for v in values)


def unknown_names(query: Any, data: Any, found: Any) -> List[str]:
    """One line per name of ``query`` that ``data`` does not have where the
    query looks, with the nearest key there, when the query's result
    ``found`` is null or empty (or holds a null):
    ``--query: the data has no key 'vmid'; nearest: vmId``."""
    parsed = getattr(query, "parsed", None)
    if not _empty(found) or not isinstance(parsed, dict):
        return []
    lines = (_missing(chain, data) for chain in _chains(parsed))
    return list(dict.fromkeys(line for line in lines if line))
