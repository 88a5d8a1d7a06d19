"""The backend seam: what the proxy needs from an engine that holds a lens's data.

A backend is one engine reached one way (embedded DuckDB, a PostgreSQL server, a Spark Connect endpoint).
The session never sees more of it than this module describes:

* ``dialect``: the sqlglot dialect its SQL is rendered in, and ``render(tree)``: the rewriter's one
  backend-neutral AST (Postgres semantics explicit) mapped onto the backend's table names and rendered by
  ``rewriter.render`` with that engine's fixes;
* ``cursor()``: open one client session's handle on the engine;
* ``Cursor.execute(sql, params)``: run a query and return a stream of Arrow record batches
  (a ``pa.RecordBatchReader`` whose reads raise ``SqlError`` for engine errors, never the engine's own
  exception types), ``interrupt()`` (the PostgreSQL cancel, Spark's ``interruptTag``, DuckDB's
  ``interrupt``), ``close()``;
* ``capabilities``: what the engine can do that the session may use (EXPLAIN ANALYZE, bound parameters);
* ``describe_table(name)``: a table's columns, for ``lens-proxy check``;
* ``close()``.

Every call except ``render`` may block: the session runs them in its worker pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa
from sqlglot import exp

from rewriter.errors import SqlError


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an engine offers beyond running a query."""

    explain_analyze: bool = False  # the engine prints its plan with timings (EXPLAIN ANALYZE)
    parameters: bool = True  # bound parameters ($1 …) are sent as values, never spliced into SQL text
    cancel: str = ""  # how a running statement is stopped, for the docs and `check`


class Cursor(Protocol):
    """One client session's handle on a backend; blocking, called off the event loop."""

    def execute(self, sql: str, params: Sequence[object] | None = None) -> pa.RecordBatchReader: ...

    def explain_analyze(self, sql: str) -> list[str]: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    name: str
    dialect: str
    capabilities: Capabilities
    setting_names: frozenset[str]  # the engine's own settings: a client SET of one is refused with 42501

    def render(self, tree: exp.Expression) -> str: ...

    def cursor(self) -> Cursor: ...

    def describe_table(self, table: exp.Table) -> pa.Schema | None: ...

    def close(self) -> None: ...


def next_batch(reader: pa.RecordBatchReader) -> pa.RecordBatch | None:
    """The next batch of a running query, or None at the end (a backend's readers raise SqlError)."""
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
    except pa.ArrowInvalid as e:  # an engine error surfacing through a native Arrow stream
        raise SqlError(str(e).split("\n\n")[0], sqlstate="XX000") from None


def empty_reader() -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(pa.schema([]), [])


def describe_by_query(cursor: Cursor, name: str) -> pa.Schema | None:
    """A table's columns from ``SELECT * … LIMIT 0`` on ``cursor`` (closed after), or None when the engine
    says it does not exist (42P01, or 3F000 for a missing schema)."""
    try:
        return cursor.execute(f"SELECT * FROM {name} LIMIT 0").schema
    except SqlError as e:
        if e.sqlstate in ("42P01", "3F000"):
            return None
        raise
    finally:
        cursor.close()


# -- table names ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableMap:
    """How a lens's table names (``icebase.audience.customers_large_data``) map onto one backend.

    Keys and values are dotted names, matched case-insensitively on whole parts. A key naming a whole table
    maps that table; a shorter key maps a prefix (``icebase.audience: public`` sends every
    ``icebase.audience.x`` to ``public.x``); the longest matching key wins. ``drop_catalog`` is the default
    for engines without cross-database names (PostgreSQL, Spark): a three-part name that no key maps loses
    its first part.
    """

    entries: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    drop_catalog: bool = False

    @classmethod
    def of(cls, mapping: Mapping[str, str], *, drop_catalog: bool = False) -> TableMap:
        return cls({tuple(p.lower() for p in _parts(k)): _parts(v) for k, v in mapping.items()}, drop_catalog)

    def target(self, name: tuple[str, ...]) -> tuple[str, ...]:
        """The backend name of a lens table name (its parts, outermost first)."""
        lowered = tuple(p.lower() for p in name)
        for n in range(len(lowered), 0, -1):
            mapped = self.entries.get(lowered[:n])
            if mapped is not None:
                return mapped + tuple(name[n:])
        if self.drop_catalog and len(name) == 3:
            return tuple(name[1:])
        return tuple(name)

    def apply(self, tree: exp.Expression) -> exp.Expression:
        """``tree`` with every physical table renamed (CTE names and lens-internal names are left alone)."""
        if not self.entries and not self.drop_catalog:
            return tree
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}

        def rename(node: exp.Expression) -> exp.Expression:
            if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
                return node
            parts = table_parts(node)
            if len(parts) == 1 and parts[0].lower() in ctes:
                return node
            target = self.target(parts)
            if target == parts:
                return node
            renamed = node.copy()
            renamed.set("this", exp.to_identifier(target[-1], quoted=True))
            renamed.set("db", exp.to_identifier(target[-2], quoted=True) if len(target) > 1 else None)
            renamed.set("catalog", exp.to_identifier(target[-3], quoted=True) if len(target) > 2 else None)
            return renamed

        return tree.transform(rename, copy=False)


def table_parts(table: exp.Table) -> tuple[str, ...]:
    return tuple(p for p in (table.catalog, table.db, table.name) if p)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip('"') for p in dotted.split(".") if p.strip())
