"""Which table column each result column is, for RowDescription's table OID and column number.

PostgreSQL fills both fields when a result column is a plain column of a table, followed through
subqueries, CTEs and joins (its ``markTargetListOrigins``); anything computed, and every column of a set
operation, gets 0. Drivers use them: pgJDBC's ``ResultSetMetaData.getTableName``/``isNullable`` and
psqlODBC's ``SQLColAttribute`` look the pair up in ``pg_attribute``, BI tools then offer the table's keys.

This works on the client's own AST (before the rewriter turns entities into backend SQL), so a lens
entity's column is reported as that entity's catalog column, exactly as ``pg_attribute`` lists it.

>>> import sqlglot
>>> tables = {"t": Table(100, ("a", "b"), ("a", "b"))}
>>> column_origins(sqlglot.parse_one("SELECT b, a + 1, x.a FROM t AS x", read="postgres"), tables.get)
[(100, 2), (0, 0), (100, 1)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from rewriter.naming import postgres_column_name

Origin = tuple[int, int]  # (table OID, attnum); (0, 0) when the column is not a table's column
NONE: Origin = (0, 0)
WHOLE_ROW: Origin = (-1, 0)  # ``SELECT c FROM customer c``: the row itself, a record


@dataclass(frozen=True, slots=True)
class Table:
    """A relation as the catalog lists it: its OID, its columns in attnum order, and what ``*`` expands to
    (an entity's ``*`` leaves out its measures)."""

    oid: int
    columns: tuple[str, ...]
    star: tuple[str, ...]

    def origin(self, name: str) -> Origin:
        try:
            return self.oid, self.columns.index(name) + 1
        except ValueError:
            return NONE


Resolve = Callable[[str], Table | None]  # a table name as written (``name`` or ``schema.name``) -> Table


@dataclass(frozen=True, slots=True)
class _Source:
    """A FROM item: its output names with their origins, and those ``*`` lists."""

    names: tuple[str, ...]
    origins: tuple[Origin, ...]
    star: tuple[str, ...]

    def origin(self, name: str) -> Origin | None:
        if name in self.names:
            return self.origins[self.names.index(name)]
        return None

    def expand(self) -> list[Origin]:
        return [self.origin(n) or NONE for n in self.star]


def column_origins(tree: exp.Expression, resolve: Resolve) -> list[Origin] | None:
    """One origin per result column of ``tree``, or None when its columns cannot be listed (``*`` over an
    unknown source)."""
    return _query(tree, resolve, {})


def _query(node: exp.Expression, resolve: Resolve, ctes: dict[str, exp.Expression]) -> list[Origin] | None:
    ctes = dict(ctes)
    with_ = node.args.get("with_") or node.args.get("with")
    if isinstance(with_, exp.With) and not with_.recursive:
        for cte in with_.expressions:
            ctes[cte.alias_or_name] = cte
    if isinstance(node, exp.Subquery):
        return _query(node.this, resolve, ctes)
    if isinstance(node, exp.SetOperation):
        left = _query(node.left, resolve, ctes)
        return None if left is None else [NONE] * len(left)
    if not isinstance(node, exp.Select):
        return None
    sources: dict[str, _Source | None] = {}
    for item in _from_items(node):
        sources[item.alias_or_name] = _source(item, resolve, ctes)
    out: list[Origin] = []
    for projection in node.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Star):
            if any(s is None for s in sources.values()):
                return None
            out += [o for s in sources.values() if s is not None for o in s.expand()]
        elif isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star):
            source = sources.get(inner.table)
            if source is None:
                return None
            out += source.expand()
        elif isinstance(inner, exp.Column):
            out.append(_column(inner, sources))
        else:
            out.append(NONE)
    return out


def _from_items(select: exp.Select) -> list[exp.Expression]:
    items = []
    from_ = select.args.get("from_") or select.args.get("from")
    if isinstance(from_, exp.From):
        items.append(from_.this)
    for join in select.args.get("joins") or []:
        items.append(join.this)
    return items


def _source(item: exp.Expression, resolve: Resolve, ctes: dict[str, exp.Expression]) -> _Source | None:
    alias = item.args.get("alias")
    renamed = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) and alias.columns else []
    if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
        if not item.db and item.name in ctes:
            cte = ctes[item.name]
            inner = {k: v for k, v in ctes.items() if k != item.name}
            return _derived(cte.this, resolve, inner, renamed or _cte_columns(cte))
        table = resolve(f"{item.db}.{item.name}" if item.db else item.name)
        if table is None:
            return None
        origins = tuple((table.oid, i) for i in range(1, len(table.columns) + 1))
        if renamed:  # FROM t AS x(a, b) renames the first columns
            names = tuple(renamed) + table.columns[len(renamed):]
            return _Source(names, origins, names[: len(table.star)])
        return _Source(table.columns, origins, table.star)
    if isinstance(item, exp.Subquery):
        return _derived(item.this, resolve, ctes, renamed)
    return None


def _cte_columns(cte: exp.CTE) -> list[str]:
    alias = cte.args.get("alias")
    return [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) and alias.columns else []


def _derived(query: exp.Expression, resolve: Resolve, ctes: dict[str, exp.Expression],
             renamed: list[str]) -> _Source | None:
    origins = _query(query, resolve, ctes)
    names = _output_names(query)
    if origins is None or names is None or len(names) != len(origins):
        return None
    names = tuple(renamed) + tuple(names[len(renamed):])
    return _Source(names, tuple(origins), names)


def _output_names(query: exp.Expression) -> list[str] | None:
    while isinstance(query, exp.SetOperation | exp.Subquery):
        query = query.left if isinstance(query, exp.SetOperation) else query.this
    if not isinstance(query, exp.Select):
        return None
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
           for p in query.expressions):
        return None
    return [postgres_column_name(p) for p in query.expressions]


def _column(column: exp.Column, sources: dict[str, _Source | None]) -> Origin:
    if not column.table and column.name in sources:
        source = sources[column.name]
        if source is not None and source.origin(column.name) is None and not any(
                s is not None and s.origin(column.name) is not None for s in sources.values()):
            return WHOLE_ROW
    if column.table:
        source = sources.get(column.table)
        return (source.origin(column.name) or NONE) if source is not None else NONE
    found = [o for s in sources.values() if s is not None and (o := s.origin(column.name)) is not None]
    return found[0] if len(found) == 1 else NONE
