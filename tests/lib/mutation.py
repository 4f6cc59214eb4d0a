"""Byte-level mutations for property tests of the readers of untrusted files
(signed attested documents, support bundles): a few flips, overwrites,
deletions, insertions and truncations at positions hypothesis picks."""

from __future__ import annotations

from hypothesis import strategies as st

#: Up to four (operation, position, value) steps; positions wrap around the data.
MUTATIONS = st.lists(st.tuples(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]),
                               st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4)


def mutate(data: bytes, steps) -> bytes:
    """data with the steps applied in order."""
    data = bytearray(data)
    for op, where, value in steps:
        at = where % len(data) if data else 0
        if op == "flip" and data:
            data[at] ^= 1 << (value % 8)
        elif op == "set" and data:
            data[at] = value
        elif op == "delete":
            del data[at:at + 1 + value % 16]
        elif op == "insert":
            data[at:at] = bytes([value]) * (1 + value % 4)
        elif op == "truncate":
            del data[at:]
    return bytes(data)
