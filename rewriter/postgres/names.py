"""Identifier case: PostgreSQL folds unquoted identifiers to lower case (``SELECT 1 AS Foo`` names its
column ``foo``; ``FROM Customer`` reads ``customer``); quoted ones keep their case."""

from __future__ import annotations

from sqlglot import exp


def fold_identifiers(tree: exp.Expression) -> exp.Expression:
    """Lower-case every unquoted identifier of the client's query, in place."""
    for node in tree.find_all(exp.Identifier):
        if not node.quoted and isinstance(node.this, str) and node.this != node.this.lower():
            node.set("this", node.this.lower())
    return tree
