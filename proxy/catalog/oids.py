"""Stable OIDs for the objects lens-proxy invents (databases, roles, entity tables, their indexes, constraints).

Derived from the object's kind and qualified name, so they survive restarts and tools that cache OIDs keep
working. They fall in [16384, 2**31): above initdb's range (as user objects are in Postgres) and positive as a
signed int4, which is how some clients read them.
"""

from __future__ import annotations

import zlib

FIRST_USER_OID = 16384
_SPAN = 2**31 - FIRST_USER_OID


class OidAllocator:
    """Name-derived OIDs; a collision (rare) moves the later name to the next free value, deterministically."""

    def __init__(self) -> None:
        self._by_key: dict[str, int] = {}
        self._used: set[int] = set()

    def __call__(self, kind: str, *name: str) -> int:
        key = kind + ":" + ".".join(n.lower() for n in name)
        oid = self._by_key.get(key)
        if oid is None:
            oid = FIRST_USER_OID + zlib.crc32(key.encode()) % _SPAN
            while oid in self._used:
                oid = FIRST_USER_OID + (oid - FIRST_USER_OID + 1) % _SPAN
            self._used.add(oid)
            self._by_key[key] = oid
        return oid
