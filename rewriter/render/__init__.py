"""Render a rewritten query (one backend-neutral AST with Postgres semantics made explicit) as SQL text in a
backend's dialect.

The rewriter never emits engine-specific SQL: it produces one sqlglot tree whose meaning is PostgreSQL's
(the client's), and each engine gets a renderer here that applies the transforms that engine needs to keep
that meaning (a function DuckDB lacks becomes a macro call or an equivalent expression, Spark's division is
made integral where Postgres's is, ...) before sqlglot generates the engine's dialect. Renderers are pure
functions ``tree -> str``: testable with SQL-in/SQL-out fixtures and no server.

A renderer receives a tree it may change (the caller passes a copy or a tree it no longer needs).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from rewriter.render import duckdb as _duckdb
from rewriter.render import postgres as _postgres
from rewriter.render import spark as _spark

Renderer = Callable[[exp.Expression], str]

RENDERERS: dict[str, Renderer] = {
    "duckdb": _duckdb.render,
    "postgres": _postgres.render,
    "spark": _spark.render,
}


def render(tree: exp.Expression, dialect: str) -> str:
    """SQL text of ``tree`` for an engine speaking ``dialect`` (sqlglot's name for it)."""
    renderer = RENDERERS.get(dialect)
    if renderer is None:
        return tree.sql(dialect=dialect)
    return renderer(tree)
