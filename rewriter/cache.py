"""Bounded LRUs: rewritten queries (a repeated query text skips parsing and rewriting), and the generic
``LruCache`` the proxy's plan and result caches are built on.

Keys are chosen by the caller (the SQL text plus whatever else the result depends on: lens, user, lens
parameters, the access policy's fingerprint); values are immutable. Thread-safe: sessions compile on the
event loop but EXPLAIN and tools may call from worker threads. ``hits``/``misses`` are the counters the
metrics read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Compiled:
    """A client statement rewritten for the backend."""

    sql: str
    notes: tuple[str, ...] = ()  # how entities were joined, for EXPLAIN
    notices: tuple[tuple[str, str | None], ...] = ()  # (message, hint) sent with each run (NOTICE): an ambiguous join
    # PostgreSQL's (type name, typmod) of each result column where the engine's Arrow type cannot say it
    # (varchar, json, numeric as text, …; rewriter.postgres.result_types); None: the Arrow type's
    result_types: tuple[tuple[str, int] | None, ...] = ()


class LruCache:
    """At most ``maxsize`` entries; the least recently used goes first."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def peek(self, key: Hashable) -> Any:
        """The entry without counting a hit or a miss, or refreshing it."""
        return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def discard(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key matches (a reloaded lens's rewrites); how many were dropped."""
        with self._lock:
            keys = [k for k in self._items if predicate(k)]
            for key in keys:
                del self._items[key]
            return len(keys)

    def __len__(self) -> int:
        return len(self._items)


class RewriteCache(LruCache):
    """Rewritten statements (``Compiled``) by the caller's key."""

    def get(self, key: Hashable) -> Compiled | None:
        return super().get(key)


# the process-wide rewrite cache (proxy.query_path: by text, lens, identity, lens parameters, backend)
REWRITE_CACHE = RewriteCache(maxsize=1024)
