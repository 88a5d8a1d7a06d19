"""Results answered from memory: the same compiled query, with the same parameters, over the same data.

Dashboards refresh the same questions again and again; a result that cannot have changed is sent again
from here without touching the engine. What is kept is the wire form itself (the DataRows, ready to send,
and the schema for RowDescription), so a hit costs a dictionary lookup and one write.

The key (``ResultKey``) is everything the bytes depend on: the engine SQL (it already carries the lens,
the policy's row filters and masks), the parameter values with their types, the result formats, the
session's TimeZone (timestamptz text), the policy's fingerprint (never shared across users whose policies
differ, even when the SQL happens to be the same), the backend, and the data's version: a DuckDB file's
identity (path, size, modification time) or an Iceberg snapshot, checked at most once a second
(``Backend.data_version()``). A backend without a version (PostgreSQL, Spark: live data) keeps entries for
``live_ttl`` seconds. Queries calling volatile functions (``now()``, ``random()``, ``clock_timestamp()`` …)
are never kept; ``current_date`` queries are kept for the day (the date is part of the key).

Bounded by bytes (LRU); a result larger than ``max_entry_bytes`` is streamed as usual and not kept.
``SET lens.result_cache = off`` turns it off for a session; ``hits``/``misses``/``entries``/``bytes`` are
read by the metrics (``ServerStats``).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

# functions whose value changes between two runs of the same statement: such results are never kept
_VOLATILE_CLASSES = (exp.Rand, exp.CurrentTimestamp, exp.CurrentTime, exp.Uuid)
_VOLATILE_NAMES = frozenset({
    "random", "rand", "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
    "gen_random_uuid", "uuid", "uuidv4", "setseed", "nextval", "currval", "get_current_time", "current_timestamp",
    "localtimestamp", "localtime", "current_time", "random_uuid", "txid_current",
})


@dataclass(frozen=True, slots=True)
class CachedResult:
    schema: pa.Schema  # the result's schema as clients see it (RowDescription)
    data: bytes  # the DataRows
    rows: int
    expires: float  # time.monotonic() past which it is stale (inf: while the data's version holds)


def volatility(sql: str, dialect: str) -> str:
    """"volatile" (never keep), "daily" (keep for today) or "stable", from the engine SQL's functions."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except Exception:  # noqa: BLE001 - unparseable here means unknown: never keep it
        return "volatile"
    daily = False
    for node in tree.walk():
        if isinstance(node, _VOLATILE_CLASSES):
            return "volatile"
        if isinstance(node, exp.CurrentDate):
            daily = True
        elif isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in _VOLATILE_NAMES:
                return "volatile"
            if name in ("current_date", "today"):
                daily = True
    return "daily" if daily else "stable"


def param_key(params: Sequence[Any]) -> tuple:
    """Parameter values as a hashable key, with their types (1 and 1.0 and '1' are different)."""
    return tuple((type(v).__name__, str(v) if not isinstance(v, Hashable) else v) for v in params)


class ResultCache:
    def __init__(self, max_bytes: int = 256 * 1024 * 1024, max_entry_bytes: int = 8 * 1024 * 1024,
                 live_ttl: float = 10.0) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self.live_ttl = live_ttl
        self._items: OrderedDict[tuple, CachedResult] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._volatility: dict[tuple[str, str], str] = {}
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self.evictions = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def entries(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    def key(self, sql: str, dialect: str, params: Sequence[Any], formats: tuple[int, ...], timezone: str,
            policy: str, backend: str, version: Hashable | None) -> tuple | None:
        """The key of a result, or None when it must not be kept (volatile functions)."""
        kind = self._volatility.get((sql, dialect))
        if kind is None:
            if len(self._volatility) > 8192:
                self._volatility.clear()
            kind = self._volatility[(sql, dialect)] = volatility(sql, dialect)
        if kind == "volatile":
            return None
        day = dt.datetime.now(dt.timezone.utc).date() if kind == "daily" else None
        return (sql, param_key(params), formats, timezone, policy, backend, version, day)

    def get(self, key: tuple) -> CachedResult | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None and entry.expires < time.monotonic():
                self._drop(key)
                entry = None
            if entry is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple, schema: pa.Schema, data: bytes, rows: int, *, live: bool) -> None:
        if len(data) > self.max_entry_bytes:
            return
        expires = time.monotonic() + self.live_ttl if live else float("inf")
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = CachedResult(schema, data, rows, expires)
            self._bytes += len(data)
            self.stores += 1
            while self._bytes > self.max_bytes and self._items:
                self._drop(next(iter(self._items)))
                self.evictions += 1

    def stats(self) -> dict[str, float]:
        return {"result_cache_hits_total": self.hits, "result_cache_misses_total": self.misses,
                "result_cache_stores_total": self.stores, "result_cache_evictions_total": self.evictions,
                "result_cache_entries": len(self._items), "result_cache_bytes": self._bytes}

    def clear(self) -> None:
        """Forget everything (a reload: the lenses or the data changed)."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _drop(self, key: tuple) -> None:
        entry = self._items.pop(key)
        self._bytes -= len(entry.data)
