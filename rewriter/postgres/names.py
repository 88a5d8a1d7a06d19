"""Names as PostgreSQL reads them.

- Identifier case: unquoted identifiers fold to lower case (``SELECT 1 AS Foo`` names its column ``foo``;
  ``FROM Customer`` reads ``customer``); quoted ones keep their case and must match exactly (``"State"`` is
  not the column ``state``: 42703; ``"Customer"`` not the table ``customer``: 42P01).
- ``VALUES`` columns are ``column1``, ``column2``, … unless the alias names them.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from rewriter.errors import UndefinedColumn, UndefinedTable


def fold_identifiers(tree: exp.Expression) -> exp.Expression:
    """Lower-case every unquoted identifier of the client's query, in place."""
    for node in tree.find_all(exp.Identifier):
        if not node.quoted and isinstance(node.this, str) and node.this != node.this.lower():
            node.set("this", node.this.lower())
    return tree


def check_quoted_names(tree: exp.Expression, schema: Mapping[str, Mapping[str, str]]) -> None:
    """A quoted name that matches a lens table or column only when folded names nothing (the resolver of lens
    names is case-insensitive, PostgreSQL's is exact)."""
    tables = {t.lower(): t for t in schema}
    columns = {c.lower(): c for cols in schema.values() for c in cols}
    named_after_itself = lambda a: isinstance(a.this, exp.Column) and a.this.name == a.alias  # noqa: E731
    defined = {a.alias for a in tree.find_all(exp.Alias) if not named_after_itself(a)} | {
        i.name for a in tree.find_all(exp.TableAlias) for i in [a.this, *a.columns] if isinstance(i, exp.Identifier)}
    for table in tree.find_all(exp.Table):
        ident = table.this
        if isinstance(ident, exp.Identifier) and ident.quoted and ident.name not in defined and \
                ident.name.lower() in tables and tables[ident.name.lower()] != ident.name:
            raise UndefinedTable(f'relation "{ident.name}" does not exist')
    for column in tree.find_all(exp.Column):
        ident = column.this
        if isinstance(ident, exp.Identifier) and ident.quoted and ident.name not in defined and \
                ident.name.lower() in columns and columns[ident.name.lower()] != ident.name:
            raise UndefinedColumn(f'column "{ident.name}" does not exist')


def values_column_names(node: exp.Expression) -> exp.Expression:
    """``(VALUES …) AS v`` has columns column1, column2, … (engines name them otherwise)."""
    if not isinstance(node, exp.Values) or not node.expressions:
        return node
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.columns:
        return node
    first = node.expressions[0]
    width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
    names = [exp.to_identifier(f"column{i}") for i in range(1, width + 1)]
    if isinstance(alias, exp.TableAlias):
        alias.set("columns", names)
    elif isinstance(node.parent, exp.From | exp.Join):
        node.set("alias", exp.TableAlias(this=exp.to_identifier("_pg_values"), columns=names))
    return node
