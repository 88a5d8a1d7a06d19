"""The embedded DuckDB engine: Postgres meaning rendered as DuckDB SQL.

Transforms here are the DuckDB-specific half of Postgres fidelity: what DuckDB spells or computes
differently. Rules that hold for every engine live in the rewriter, not here.
"""

from __future__ import annotations

from sqlglot import exp

DIALECT = "duckdb"


def render(tree: exp.Expression) -> str:
    return tree.sql(dialect=DIALECT)
