"""NULL ordering made explicit: PostgreSQL sorts NULLs last ascending and first descending; engines differ
(DuckDB and Spark put them last/first both ways), so every ORDER BY item, including those the planner adds
and those inside window and ordered-aggregate clauses, says where its NULLs go."""

from __future__ import annotations

from sqlglot import exp


def explicit_null_ordering(tree: exp.Expression) -> exp.Expression:
    for node in tree.find_all(exp.Ordered):
        if node.args.get("nulls_first") is None:
            node.set("nulls_first", bool(node.args.get("desc")))
    return tree
