"""Spark SQL (Spark Connect): Postgres meaning rendered for Spark."""

from __future__ import annotations

from sqlglot import exp

DIALECT = "spark"


def render(tree: exp.Expression) -> str:
    return tree.sql(dialect=DIALECT)
